// The main-thread half of upcalls: a replica's handle calls arrive on its port (`upcall`) and are
// run through the runtime's CallTransport (the router); results, stream items (flow-controlled by
// the worker's credit) and errors go back down the port. A cancel from the worker aborts the
// call's signal and returns the stream's iterator; a dead or stopped replica aborts them all.
// Upcalls to SERVICES_APP go to the node's replica services (replica-services.ts), bound to this
// replica's id, which also hear when the replica is gone.

import { CancelledError, DeploymentNotFoundError, serializeError } from "../errors.ts";
import type { CallOptions, CallTransport } from "./call.ts";
import type { ReplicaId } from "./ids.ts";
import { SERVICES_APP, type ReplicaServices, type UpcallTransport } from "./replica-services.ts";
import { StreamCredit, type PortWriter, type ToReplica, type UpcallRequest } from "./protocol.ts";

/** How often a graceful stop looks again at the replica services' pending work. */
const SERVICE_DRAIN_POLL_MS = 50;

interface ActiveUpcall {
  controller: AbortController;
  credit: StreamCredit | undefined;
  iterator: AsyncIterator<unknown> | undefined;
}

export class UpcallServer {
  readonly #transport: CallTransport | undefined;
  readonly #writer: PortWriter<ToReplica>;
  readonly #active = new Map<number, ActiveUpcall>();
  readonly #replicaId: ReplicaId | undefined;
  readonly #services: ReplicaServices | undefined;
  #serviceTransport: CallTransport | undefined;

  constructor(transport: UpcallTransport | undefined, writer: PortWriter<ToReplica>, replicaId?: ReplicaId) {
    this.#transport = transport;
    this.#writer = writer;
    this.#replicaId = replicaId;
    this.#services = replicaId === undefined ? undefined : transport?.services;
  }

  handle(msg: UpcallRequest): void {
    switch (msg.type) {
      case "upcall":
        if (msg.target.app === SERVICES_APP && this.#services) {
          this.#serviceTransport ??= this.#services.forReplica(this.#replicaId!);
          if (msg.stream) void this.#stream(this.#serviceTransport, msg);
          else this.#call(this.#serviceTransport, msg);
          return;
        }
        if (!this.#transport) {
          const err = new DeploymentNotFoundError(
            `handle calls are not available in this replica (no upcall transport): cannot call ${msg.target.app}#${msg.target.deployment}.${msg.method}()`,
          );
          this.#writer.send({ type: "upcall-error", id: msg.id, error: serializeError(err) });
          return;
        }
        if (msg.stream) void this.#stream(this.#transport, msg);
        else this.#call(this.#transport, msg);
        return;
      case "upcall-cancel":
        this.#abort(msg.id);
        return;
      case "upcall-credit":
        this.#active.get(msg.id)?.credit?.grant(msg.n);
        return;
    }
  }

  /** A reply that could not be cloned: the upcall fails with a TypeError instead. */
  unclonable(msg: { type: string; id?: number }, err: Error): void {
    if ((msg.type !== "upcall-result" && msg.type !== "upcall-item") || msg.id === undefined) throw err;
    const what = msg.type === "upcall-item" ? "an item" : "the result";
    const error = new TypeError(`${what} of a handle call cannot be sent to the replica: ${err.message}`, { cause: err });
    this.#writer.postNow({ type: "upcall-error", id: msg.id, error: serializeError(error) });
    this.#abort(msg.id);
  }

  /** Work this replica runs outside calls (MCP tasks), by the replica services' count. */
  pendingServiceWork(): number {
    return this.#services && this.#replicaId !== undefined ? this.#services.pendingWork(this.#replicaId) : 0;
  }

  /** Resolves once no service work is pending, `deadlineMs` (Date.now()) passed, or `gaveUp()`. */
  async drainServiceWork(deadlineMs: number, gaveUp: () => boolean): Promise<void> {
    while (this.pendingServiceWork() > 0 && Date.now() < deadlineMs && !gaveUp()) {
      await new Promise((resolve) => setTimeout(resolve, SERVICE_DRAIN_POLL_MS));
    }
  }

  /** Aborts every upcall in flight and tells the replica services why the replica is gone. */
  closeAll(reason = "its thread ended"): void {
    for (const id of [...this.#active.keys()]) this.#abort(id);
    if (this.#services && this.#replicaId !== undefined) this.#services.replicaGone(this.#replicaId, reason);
  }

  #call(transport: CallTransport, msg: Extract<UpcallRequest, { type: "upcall" }>): void {
    const up: ActiveUpcall = { controller: new AbortController(), credit: undefined, iterator: undefined };
    this.#active.set(msg.id, up);
    const options = callOptions(up.controller.signal, msg);
    Promise.resolve()
      .then(() => transport.call(msg.target, msg.method, msg.args, options))
      .then(
        (value) => {
          if (this.#active.delete(msg.id)) this.#writer.send({ type: "upcall-result", id: msg.id, value });
        },
        (err: unknown) => {
          if (this.#active.delete(msg.id)) this.#writer.send({ type: "upcall-error", id: msg.id, error: serializeError(err) });
        },
      );
  }

  async #stream(transport: CallTransport, msg: Extract<UpcallRequest, { type: "upcall" }>): Promise<void> {
    const up: ActiveUpcall = { controller: new AbortController(), credit: new StreamCredit(), iterator: undefined };
    this.#active.set(msg.id, up);
    const signal = up.controller.signal;
    try {
      const iterator = transport.stream(msg.target, msg.method, msg.args, callOptions(signal, msg))[Symbol.asyncIterator]();
      up.iterator = iterator;
      while (!signal.aborted) {
        const wait = up.credit!.ready();
        if (wait) await wait;
        if (signal.aborted) break;
        const r = await iterator.next();
        if (signal.aborted) break;
        if (r.done) {
          this.#writer.send({ type: "upcall-end", id: msg.id });
          break;
        }
        up.credit!.spend();
        this.#writer.send({ type: "upcall-item", id: msg.id, value: r.value });
      }
    } catch (err) {
      if (!signal.aborted) this.#writer.send({ type: "upcall-error", id: msg.id, error: serializeError(err) });
      void up.iterator?.return?.()?.catch(() => {});
    } finally {
      this.#active.delete(msg.id);
    }
  }

  #abort(id: number): void {
    const up = this.#active.get(id);
    if (!up) return;
    this.#active.delete(id);
    up.controller.abort(new CancelledError());
    up.credit?.close();
    const ret = up.iterator?.return?.();
    if (ret) ret.catch(() => {});
  }
}

function callOptions(signal: AbortSignal, msg: { timeoutMs?: number; traceparent?: string; tracestate?: string }): CallOptions {
  const options: CallOptions = { signal };
  if (msg.timeoutMs !== undefined) options.timeoutMs = msg.timeoutMs;
  if (msg.traceparent !== undefined) options.traceparent = msg.traceparent;
  if (msg.tracestate !== undefined) options.tracestate = msg.tracestate;
  return options;
}
