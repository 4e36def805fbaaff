// The CallTransport used INSIDE a replica's worker thread: handle calls the replica makes to other
// deployments are sent up the replica's port to the main-thread actor, which runs them through the
// runtime's router (spec.upcall) and sends back results, stream items and errors.
//
// Cancellation flows both ways: aborting the call's signal sends `upcall-cancel`; when no signal
// is given the enclosing replica call's signal is used, so cancelling a request also cancels the
// handle calls it fanned out to.
//
// Tracing: while the enclosing replica call has a span (tracing on), each handle call gets a
// CLIENT span, its child, and carries that span's traceparent up, so the callee replica's span
// joins the same trace. With tracing off the cost is one property read per call.

import { CancelledError, deserializeError } from "../errors.ts";
import type { CallSpan } from "../observability/tracing.ts";
import { currentCallScope } from "./call-context.ts";
import type { CallOptions, CallTransport } from "./call.ts";
import type { DeploymentId } from "./ids.ts";
import { StreamReceiver, type UpcallReply, type UpcallRequest } from "./protocol.ts";

interface PendingUpcall {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

interface OpenUpcallStream {
  receiver: StreamReceiver;
  detach: () => void;
  span: CallSpan | undefined;
}

export class WorkerCallTransport implements CallTransport {
  readonly #post: (msg: UpcallRequest) => void;
  readonly #calls = new Map<number, PendingUpcall>();
  readonly #streams = new Map<number, OpenUpcallStream>();
  #nextId = 1;

  /** @param post sends a message up the replica's port. */
  constructor(post: (msg: UpcallRequest) => void) {
    this.#post = post;
  }

  call(target: DeploymentId, method: string, args: unknown[], options?: CallOptions): Promise<unknown> {
    const scope = currentCallScope();
    const signal = options?.signal ?? scope?.signal;
    if (signal?.aborted) return Promise.reject(new CancelledError());
    const id = this.#nextId++;
    const span = scope?.span?.startHandleCall(target, method);
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        if (!this.#calls.delete(id)) return;
        this.#post({ type: "upcall-cancel", id });
        const err = new CancelledError();
        span?.end(err);
        reject(err);
      };
      this.#calls.set(id, {
        resolve: (value) => {
          signal?.removeEventListener("abort", onAbort);
          span?.end();
          resolve(value);
        },
        reject: (err) => {
          signal?.removeEventListener("abort", onAbort);
          span?.end(err);
          reject(err);
        },
      });
      signal?.addEventListener("abort", onAbort, { once: true });
      try {
        this.#post(request(id, target, method, args, false, options?.timeoutMs, span));
      } catch (err) {
        this.#calls.delete(id);
        signal?.removeEventListener("abort", onAbort);
        span?.end(err);
        reject(err);
      }
    });
  }

  /** The upcall starts on the first `next()`, like calling an async generator function. */
  stream(target: DeploymentId, method: string, args: unknown[], options?: CallOptions): AsyncIterable<unknown> {
    const scope = currentCallScope();
    const signal = options?.signal ?? scope?.signal;
    let started = false;
    return {
      [Symbol.asyncIterator]: (): AsyncIterator<unknown> => {
        if (started) throw new TypeError("an upcall stream can be iterated only once");
        started = true;
        const id = this.#nextId++;
        let span: CallSpan | undefined;
        const onAbort = (): void => {
          if (receiver.open) this.#post({ type: "upcall-cancel", id });
          const err = new CancelledError();
          receiver.fail(err);
          if (this.#streams.delete(id)) span?.end(err);
        };
        const receiver = new StreamReceiver(
          (n) => this.#post({ type: "upcall-credit", id, n }),
          () => {
            // The consumer left early: a normal end for the caller.
            if (this.#streams.delete(id)) span?.end();
            signal?.removeEventListener("abort", onAbort);
            this.#post({ type: "upcall-cancel", id });
          },
        );
        if (signal?.aborted) {
          receiver.fail(new CancelledError());
          return receiver;
        }
        span = scope?.span?.startHandleCall(target, method);
        signal?.addEventListener("abort", onAbort, { once: true });
        this.#streams.set(id, { receiver, detach: () => signal?.removeEventListener("abort", onAbort), span });
        try {
          this.#post(request(id, target, method, args, true, options?.timeoutMs, span));
        } catch (err) {
          this.#streams.delete(id);
          span?.end(err);
          receiver.fail(err as Error);
        }
        return receiver;
      },
    };
  }

  /** Routes a reply from the main thread to the upcall it answers. */
  handle(msg: UpcallReply): void {
    switch (msg.type) {
      case "upcall-result": {
        const call = this.#calls.get(msg.id);
        if (call) {
          this.#calls.delete(msg.id);
          call.resolve(msg.value);
        }
        return;
      }
      case "upcall-error": {
        const call = this.#calls.get(msg.id);
        const err = deserializeError(msg.error);
        if (call) {
          this.#calls.delete(msg.id);
          call.reject(err);
          return;
        }
        const stream = this.#streams.get(msg.id);
        if (stream) {
          this.#streams.delete(msg.id);
          stream.detach();
          stream.span?.end(err);
          stream.receiver.failAfterQueued(err);
        }
        return;
      }
      case "upcall-item":
        this.#streams.get(msg.id)?.receiver.push(msg.value);
        return;
      case "upcall-end": {
        const stream = this.#streams.get(msg.id);
        if (stream) {
          this.#streams.delete(msg.id);
          stream.detach();
          stream.span?.end();
          stream.receiver.end();
        }
        return;
      }
    }
  }
}

function request(
  id: number,
  target: DeploymentId,
  method: string,
  args: unknown[],
  stream: boolean,
  timeoutMs: number | undefined,
  span: CallSpan | undefined,
): UpcallRequest {
  const msg: UpcallRequest = { type: "upcall", id, target: { app: target.app, deployment: target.deployment }, method, args, stream };
  if (timeoutMs !== undefined) msg.timeoutMs = timeoutMs;
  if (span !== undefined) msg.traceparent = span.traceparent;
  if (span?.tracestate !== undefined) msg.tracestate = span.tracestate;
  return msg;
}

const KEY = Symbol.for("stingray.workerTransport");

/** The transport of the replica this thread hosts, or undefined outside a replica's worker. */
export function getWorkerTransport(): CallTransport | undefined {
  return (globalThis as { [KEY]?: CallTransport })[KEY];
}

/** Installs this thread's transport (worker entry only). */
export function setWorkerTransport(transport: CallTransport): void {
  (globalThis as { [KEY]?: CallTransport })[KEY] = transport;
}
