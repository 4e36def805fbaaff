// What the router hands a request once a replica slot is free (a Lease), and the small helpers
// around it: deadlines carried from queue to replica, and stream iterables that give the slot
// back exactly once however the consumer stops.

import type { CallOptions } from "./call.ts";
import type { Slot } from "./replica-slots.ts";

export interface Lease {
  readonly slot: Slot;
  release(): void;
  /** The stream produced its first item: stop counting it for autoscaling. */
  uncount(): void;
  /** The replica refused the call as busy (its own count is ahead of ours). */
  refuse(): void;
}

export function deadlineOf(options: CallOptions): number | undefined {
  return options.timeoutMs !== undefined ? Date.now() + options.timeoutMs : undefined;
}

export function sendOptions(options: CallOptions, deadline: number | undefined): CallOptions {
  const out: CallOptions = {};
  if (options.signal) out.signal = options.signal;
  if (deadline !== undefined) out.timeoutMs = Math.max(1, deadline - Date.now());
  if (options.longLived === true) out.longLived = true;
  if (options.traceparent !== undefined) out.traceparent = options.traceparent;
  if (options.tracestate !== undefined) out.tracestate = options.tracestate;
  return out;
}

export function emptyIterable(): AsyncIterable<unknown> {
  return { [Symbol.asyncIterator]: () => ({ next: async () => ({ done: true, value: undefined }) }) };
}

/** The rest of a stream; the lease is released exactly once, however iteration ends. */
export function releasingIterable(iterator: AsyncIterator<unknown>, lease: Lease): AsyncIterable<unknown> {
  let taken = false;
  return {
    [Symbol.asyncIterator]: (): AsyncIterator<unknown> => {
      if (taken) throw new TypeError("a replica stream can be iterated only once");
      taken = true;
      return {
        next: async () => {
          try {
            const r = await iterator.next();
            if (r.done) lease.release();
            return r;
          } catch (err) {
            lease.release();
            throw err;
          }
        },
        return: async (value?: unknown) => {
          lease.release();
          return (await iterator.return?.(value)) ?? { done: true, value };
        },
      };
    },
  };
}
