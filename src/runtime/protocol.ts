// The message protocol between a replica's main-thread actor and its worker thread. Everything
// travels over ONE long-lived MessagePort per replica, so a stream's items and its end marker (and
// a call's result) arrive in the order they were sent. Messages are a discriminated union on
// `type` with a per-direction request id, in the style of Temporal's threaded VM.
//
// Streams are flow-controlled by credit: the producer sends at most STREAM_WINDOW items ahead of
// what the consumer has taken and waits for a `credit` message before sending more, so a slow
// HTTP client cannot make the other thread buffer a whole response.
//
// Messages sent in the same event-loop turn are coalesced into one `batch` post (PortWriter),
// flushed from setImmediate — the check phase right after the poll phase that produced them, so a
// lone message still leaves within microseconds. Under load a whole burst of calls (every request
// parsed in one poll), results or stream items crosses the thread boundary in one wake-up, and a
// stream that ends in the turn it produced its last item sends item and end together. (A
// microtask flush split those: an async generator's return takes several promise jobs, so the end
// left in a second post and woke the other thread again. On the MCP path that was two posts per
// request instead of one; benchmarks/README.md has the before/after.)
//
// This module is imported on both sides of the port; it holds no thread-specific state.

import type { MessagePort } from "node:worker_threads";
import type { SerializedError } from "../errors.ts";
import type { ResolvedTracingOptions } from "../observability/tracing-options.ts";
import type { DeploymentId } from "./ids.ts";

/** Items a producer may send beyond what the consumer has taken. */
export const STREAM_WINDOW = 64;

/** Everything the worker needs to build the replica (a clone-safe ReplicaSpec, minus `upcall`). */
export interface ReplicaInit {
  replicaId: string;
  appName: string;
  deploymentName: string;
  modulePath: string;
  exportName: string;
  initArgs: unknown[];
  /** `reconfigure(userConfig)` runs after init only when this is true (undefined is a valid config). */
  hasUserConfig: boolean;
  userConfig?: unknown;
  maxOngoingRequests: number;
  gpuIds: number[];
  resources: Record<string, number>;
  /** The cluster node running the replica (cluster mode only). */
  nodeId?: string;
  /** Set when tracing is on: the thread loads its own tracer provider and exporter. */
  tracing?: ResolvedTracingOptions;
}

/** The argument of the one long-lived piscina task that hosts a replica. */
export interface ActorTask {
  port: MessagePort;
  init: ReplicaInit;
}

/** Why a call was cancelled; the worker aborts the call's signal with the matching error. */
export type CancelReason = "cancelled" | "timeout";

/** Which step of replica start-up failed (named in the ReplicaStartError's message). */
export type StartPhase = "import" | "resolve-class" | "constructor" | "init" | "reconfigure";

/** Main thread → worker. `id` names a call the main thread started. */
export type ToReplica =
  /** `traceparent` (tracing on): the caller's span, parent of the call's span in the worker. */
  | { type: "call"; id: number; method: string; args: unknown[]; stream: boolean; traceparent?: string; tracestate?: string }
  | { type: "cancel"; id: number; reason: CancelReason }
  | { type: "credit"; id: number; n: number }
  /**
   * The liveness probe, on the control path: answered outside the request slots, so a replica
   * at maxOngoingRequests still answers it; runs the class's checkHealth() when asked. With
   * `flushTraces` (a graceful stop, tracing on) it first exports the thread's ended spans.
   */
  | { type: "ping"; id: number; checkHealth: boolean; flushTraces?: boolean }
  | { type: "batch"; messages: ToReplica[] }
  | UpcallReply;

/** Answers to upcalls; `id` names an upcall the worker started. */
export type UpcallReply =
  | { type: "upcall-result"; id: number; value: unknown }
  | { type: "upcall-error"; id: number; error: SerializedError }
  | { type: "upcall-item"; id: number; value: unknown }
  | { type: "upcall-end"; id: number };

/** Worker → main thread. */
export type FromReplica =
  | { type: "ready"; methods: string[] }
  | { type: "start-failed"; phase: StartPhase; error: SerializedError }
  | { type: "result"; id: number; value: unknown }
  | { type: "error"; id: number; error: SerializedError }
  | { type: "item"; id: number; value: unknown }
  | { type: "end"; id: number }
  /** Answers a `ping` (same id); `error` when checkHealth() threw. */
  | { type: "pong"; id: number; error?: SerializedError }
  | { type: "batch"; messages: FromReplica[] }
  | UpcallRequest;

/** A handle call made inside the replica, forwarded to the main thread's CallTransport. */
export type UpcallRequest =
  | {
      type: "upcall";
      id: number;
      target: DeploymentId;
      method: string;
      args: unknown[];
      stream: boolean;
      timeoutMs?: number;
      /** The handle call's CLIENT span (tracing on), parent of the callee replica's span. */
      traceparent?: string;
      tracestate?: string;
    }
  | { type: "upcall-cancel"; id: number }
  | { type: "upcall-credit"; id: number; n: number };

/** Anything that can post structured-clone messages (a MessagePort, or a fake in tests). */
export interface MessageSink {
  postMessage(message: unknown): void;
}

/**
 * Posts messages on a port, coalescing those sent in the same event-loop turn into one `batch`
 * message (flushed from setImmediate). A message that cannot be cloned is handed to
 * `onUnclonable` (the others in its batch are still delivered, in order), so each side can turn
 * it into an error for its call.
 */
export class PortWriter<M extends { type: string }> {
  readonly #sink: MessageSink;
  readonly #onUnclonable: (message: M, err: Error) => void;
  #outbox: M[] | undefined;
  readonly #flush = (): void => {
    const out = this.#outbox;
    if (!out) return;
    this.#outbox = undefined;
    try {
      this.#sink.postMessage(out.length === 1 ? out[0] : { type: "batch", messages: out });
    } catch {
      // Find the culprit(s): post one by one so the clonable messages still go, in order.
      for (const message of out) {
        try {
          this.#sink.postMessage(message);
        } catch (err) {
          this.#onUnclonable(message, err as Error);
        }
      }
    }
  };

  constructor(sink: MessageSink, onUnclonable: (message: M, err: Error) => void) {
    this.#sink = sink;
    this.#onUnclonable = onUnclonable;
  }

  /**
   * Posts one message at once, ahead of anything still queued. Only for `onUnclonable` handlers:
   * their error must follow the messages already posted and precede the rest of the batch.
   */
  postNow(message: M): void {
    this.#sink.postMessage(message);
  }

  /** Posts whatever is queued now (before closing the port, say). */
  flush(): void {
    this.#flush();
  }

  send(message: M): void {
    if (this.#outbox) {
      this.#outbox.push(message);
    } else {
      this.#outbox = [message];
      setImmediate(this.#flush);
    }
  }
}

/** Calls `handle` for each message, unpacking batches. */
export function unbatch<M extends { type: string }>(message: M | { type: "batch"; messages: M[] }, handle: (m: M) => void): void {
  if (message.type === "batch") {
    for (const m of (message as { messages: M[] }).messages) handle(m);
  } else {
    handle(message as M);
  }
}

/**
 * The consumer half of a flow-controlled stream: items pushed from the port are queued and handed
 * to one async iterator; taking items grants credit back to the producer; `return()` cancels.
 */
export class StreamReceiver<T = unknown> implements AsyncIterator<T> {
  readonly #grant: (n: number) => void;
  readonly #cancel: () => void;
  #state: "open" | "ended" | "failed" | "returned" = "open";
  #items: T[] = [];
  #head = 0;
  #error: Error | undefined;
  #waiter: { resolve: (r: IteratorResult<T>) => void; reject: (err: Error) => void } | undefined;
  #taken = 0;

  /**
   * @param grant sends credit for `n` more items to the producer.
   * @param cancel tells the producer to stop (the consumer left early).
   */
  constructor(grant: (n: number) => void, cancel: () => void) {
    this.#grant = grant;
    this.#cancel = cancel;
  }

  /** Whether the producer can still send (not ended, failed or returned). */
  get open(): boolean {
    return this.#state === "open";
  }

  push(item: T): void {
    if (this.#state !== "open") return;
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = undefined;
      this.#took();
      waiter.resolve({ value: item, done: false });
    } else {
      this.#items.push(item);
    }
  }

  /** The producer finished; queued items are still delivered first. */
  end(): void {
    if (this.#state !== "open") return;
    this.#state = "ended";
    this.#settleWaiter();
  }

  /**
   * The producer failed after sending what is queued (its `error` message follows its items on the
   * port, often in the same batch): those items are still delivered, then `next()` rejects once —
   * as a generator that yields and then throws.
   */
  failAfterQueued(err: Error): void {
    if (this.#state !== "open") return;
    this.#state = "failed";
    this.#error = err;
    this.#settleWaiter();
  }

  /**
   * Fails an open stream from the consumer's side (cancelled, timed out, replica gone): queued
   * items are dropped and the pending or next `next()` rejects once.
   */
  fail(err: Error): void {
    if (this.#state !== "open") return;
    this.#state = "failed";
    this.#error = err;
    this.#items = [];
    this.#head = 0;
    this.#settleWaiter();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#head < this.#items.length) return Promise.resolve(this.#take());
    if (this.#error) {
      const err = this.#error;
      // Report the failure once; later calls see a finished iterator, as with a generator.
      this.#error = undefined;
      return Promise.reject(err);
    }
    if (this.#state !== "open") return Promise.resolve({ value: undefined, done: true });
    if (this.#waiter) return Promise.reject(new TypeError("next() called while a previous next() is pending"));
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /**
   * What `next()` would resolve with at once (a queued item, or the end of a finished stream),
   * taken now; undefined when `next()` would wait or reject. A relay forwards what arrived
   * together in one go with it (one socket write for a response's head and its end).
   */
  poll(): IteratorResult<T> | undefined {
    if (this.#head < this.#items.length) return this.#take();
    if (this.#error || this.#state === "open") return undefined;
    return { value: undefined, done: true };
  }

  #take(): IteratorResult<T> {
    const value = this.#items[this.#head]!;
    this.#items[this.#head++] = undefined as T;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    }
    this.#took();
    return { value, done: false };
  }

  return(): Promise<IteratorResult<T>> {
    const wasOpen = this.#state === "open";
    this.#state = "returned";
    this.#items = [];
    this.#head = 0;
    this.#error = undefined;
    this.#settleWaiter();
    if (wasOpen) this.#cancel();
    return Promise.resolve({ value: undefined, done: true });
  }

  #settleWaiter(): void {
    const waiter = this.#waiter;
    if (!waiter || this.#head < this.#items.length) return;
    this.#waiter = undefined;
    if (this.#error) {
      const err = this.#error;
      this.#error = undefined;
      waiter.reject(err);
    } else {
      waiter.resolve({ value: undefined, done: true });
    }
  }

  #took(): void {
    if (this.#state !== "open") return;
    if (++this.#taken >= STREAM_WINDOW / 2) {
      const n = this.#taken;
      this.#taken = 0;
      this.#grant(n);
    }
  }
}

/**
 * The producer half: tracks how many items may still be sent and lets the sender wait for credit.
 * `close()` wakes a waiting sender so a cancelled stream does not hang on credit.
 */
export class StreamCredit {
  #available = STREAM_WINDOW;
  #wake: (() => void) | undefined;

  /** Resolves once an item may be sent (immediately while credit is left). */
  ready(): Promise<void> | undefined {
    if (this.#available > 0) return undefined;
    return new Promise((resolve) => {
      this.#wake = resolve;
    });
  }

  spend(): void {
    this.#available--;
  }

  grant(n: number): void {
    this.#available += n;
    this.#release();
  }

  close(): void {
    this.#available = Number.POSITIVE_INFINITY;
    this.#release();
  }

  #release(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
