// Per-call context inside a replica's worker thread. Each call runs inside an AsyncLocalStorage
// scope, so user code — including an async generator between its items — can ask for the
// AbortSignal of the call it is serving with `currentCallSignal()`, without the signal being
// threaded through every method's arguments.
//
// The AbortController is created lazily, on first use: most calls never look at their signal,
// and the hot path of a no-op call should not pay for one.
//
// The storage lives on globalThis under a registered symbol so that two copies of this module
// (e.g. the user's import of "stingray" and the worker entry's relative import) share it.

import { AsyncLocalStorage } from "node:async_hooks";
import type { CallSpan } from "../observability/tracing.ts";

/** One call's cancellation state in the worker. */
export class CallScope {
  /** The call's span when tracing is on: handle calls made in the scope become its children. */
  span: CallSpan | undefined;
  #controller: AbortController | undefined;
  #abortedReason: unknown;
  #aborted = false;

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#abortedReason);
    }
    return this.#controller.signal;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#abortedReason = reason;
    this.#controller?.abort(reason);
  }
}

const KEY = Symbol.for("stingray.callContext");

function storage(): AsyncLocalStorage<CallScope> {
  const g = globalThis as { [KEY]?: AsyncLocalStorage<CallScope> };
  return (g[KEY] ??= new AsyncLocalStorage<CallScope>());
}

/** Runs `fn` (and everything it awaits) as part of the call `scope` stands for. */
export function runInCallScope<T>(scope: CallScope, fn: () => T): T {
  return storage().run(scope, fn);
}

/**
 * The AbortSignal of the replica call being served, or undefined outside one (e.g. in the
 * constructor or a timer). It aborts when the caller cancels or the call times out.
 */
export function currentCallSignal(): AbortSignal | undefined {
  return storage().getStore()?.signal;
}

/** The scope of the replica call being served (runtime-internal: the HTTP bridge shares its signal). */
export function currentCallScope(): CallScope | undefined {
  return storage().getStore();
}
