// The calls a replica actor has sent to its worker thread and not yet heard the end of, with their
// callers' cancellation and deadline wiring. A call stays here (and keeps its request slot) until
// the worker reports it finished, even after its caller was answered early (cancelled, timed out:
// `detached`); timed-out ones still here are the replica's overdue calls, which liveness counts.
// Long-lived streams are counted apart: they take no request slot.

import type { StreamReceiver } from "./protocol.ts";

export interface PendingCall {
  method: string;
  /** Set for stream calls; unary calls settle through resolve/reject. */
  receiver: StreamReceiver | undefined;
  resolve: ((value: unknown) => void) | undefined;
  reject: ((err: Error) => void) | undefined;
  /** The caller has been answered (cancel, timeout); we only wait for the worker to finish. */
  detached: boolean;
  /** Detached because its deadline passed (it counts against the replica's liveness). */
  timedOut: boolean;
  timer: NodeJS.Timeout | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** A unary call (`resolve`/`reject`) or a stream call (`receiver`), not yet sent. */
export function pendingCall(
  method: string,
  caller: { receiver: StreamReceiver } | { resolve: (value: unknown) => void; reject: (err: Error) => void },
): PendingCall {
  return {
    method,
    receiver: "receiver" in caller ? caller.receiver : undefined,
    resolve: "resolve" in caller ? caller.resolve : undefined,
    reject: "reject" in caller ? caller.reject : undefined,
    detached: false,
    timedOut: false,
    timer: undefined,
    signal: undefined,
    onAbort: undefined,
  };
}

/** Fails the call's caller with `err` (a stream's consumer, or the unary call's promise). */
export function failCaller(pending: PendingCall, err: Error): void {
  if (pending.receiver) pending.receiver.fail(err);
  else pending.reject!(err);
}

export class PendingCalls {
  readonly #calls = new Map<number, PendingCall>();
  /** Ids of the calls in #calls that are long-lived streams (they take no request slot). */
  readonly #streamIds = new Set<number>();
  #nextId = 1;

  newId(): number {
    return this.#nextId++;
  }

  /** Every call still running in the worker. */
  get size(): number {
    return this.#calls.size;
  }

  /** Those that take a request slot. */
  get requests(): number {
    return this.#calls.size - this.#streamIds.size;
  }

  /** Long-lived streams. */
  get streams(): number {
    return this.#streamIds.size;
  }

  get(id: number): PendingCall | undefined {
    return this.#calls.get(id);
  }

  /** Calls whose deadline passed but which the worker has not finished, by id. */
  overdue(): Map<number, string> {
    const out = new Map<number, string>();
    for (const [id, pending] of this.#calls) if (pending.timedOut) out.set(id, pending.method);
    return out;
  }

  add(id: number, pending: PendingCall, longLived: boolean): void {
    this.#calls.set(id, pending);
    if (longLived) this.#streamIds.add(id);
  }

  /** Cancels the call through `cancel` when `signal` aborts or `timeoutMs` passes. */
  arm(pending: PendingCall, signal: AbortSignal | undefined, timeoutMs: number | undefined, cancel: (reason: "cancelled" | "timeout") => void): void {
    if (signal) {
      pending.signal = signal;
      pending.onAbort = () => cancel("cancelled");
      signal.addEventListener("abort", pending.onAbort, { once: true });
    }
    if (timeoutMs !== undefined) pending.timer = setTimeout(() => cancel("timeout"), timeoutMs);
  }

  /** The caller is answered early; the call stays (and keeps its slot) until the worker ends it. */
  detach(id: number, timedOut: boolean): PendingCall | undefined {
    const pending = this.#calls.get(id);
    if (!pending || pending.detached) return undefined;
    pending.detached = true;
    pending.timedOut = timedOut;
    unwire(pending);
    return pending;
  }

  /** The worker ended the call: removes it and returns it (undefined if unknown). */
  finish(id: number): PendingCall | undefined {
    const pending = this.#calls.get(id);
    if (!pending) return undefined;
    this.#calls.delete(id);
    if (this.#streamIds.size !== 0) this.#streamIds.delete(id);
    unwire(pending);
    return pending;
  }

  /** Removes every call (the thread is gone) and returns those whose callers still wait. */
  takeAll(): PendingCall[] {
    const calls = [...this.#calls.values()];
    this.#calls.clear();
    this.#streamIds.clear();
    for (const pending of calls) unwire(pending);
    return calls.filter((p) => !p.detached);
  }
}

function unwire(pending: PendingCall): void {
  if (pending.timer) clearTimeout(pending.timer);
  pending.timer = undefined;
  if (pending.onAbort) pending.signal!.removeEventListener("abort", pending.onAbort);
  pending.onAbort = undefined;
}
