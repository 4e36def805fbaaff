// Local watchers of task signals: each `TaskStore.watch(owner, signal)` gets a queue that the store
// pushes the owner's signals (cancelled, input, expired) into until the watch's signal aborts. Used
// by every store for the owners it serves in this process (memory-task-store.ts, and the cluster's
// KV store for the replicas of its node).

import type { TaskSignal } from "./task-store.ts";

/** One `watch` consumer: signals queue here until its iterator takes them. */
class SignalQueue implements AsyncIterator<TaskSignal> {
  #items: TaskSignal[] = [];
  #waiter: ((r: IteratorResult<TaskSignal>) => void) | undefined;
  #closed = false;
  readonly #onClose: () => void;

  constructor(onClose: () => void) {
    this.#onClose = onClose;
  }

  push(signal: TaskSignal): void {
    if (this.#closed) return;
    const waiter = this.#waiter;
    if (waiter) {
      this.#waiter = undefined;
      waiter({ value: signal, done: false });
    } else {
      this.#items.push(signal);
    }
  }

  next(): Promise<IteratorResult<TaskSignal>> {
    const item = this.#items.shift();
    if (item) return Promise.resolve({ value: item, done: false });
    if (this.#closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.#waiter = resolve));
  }

  return(): Promise<IteratorResult<TaskSignal>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#items = [];
    this.#onClose();
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.({ value: undefined, done: true });
  }
}

/** The watches open in this process, by owner. */
export class TaskWatchers {
  readonly #watchers = new Map<string, Set<SignalQueue>>();

  watch(owner: string, signal: AbortSignal): AsyncIterable<TaskSignal> {
    // Registered at once (not on the first next()), so a signal sent right after this call is kept.
    const watchers = this.#watchers.get(owner) ?? new Set<SignalQueue>();
    this.#watchers.set(owner, watchers);
    const queue: SignalQueue = new SignalQueue(() => {
      watchers.delete(queue);
      if (watchers.size === 0 && this.#watchers.get(owner) === watchers) this.#watchers.delete(owner);
      signal.removeEventListener("abort", onAbort);
    });
    const onAbort = (): void => queue.close();
    watchers.add(queue);
    if (signal.aborted) queue.close();
    else signal.addEventListener("abort", onAbort, { once: true });
    let taken = false;
    return {
      [Symbol.asyncIterator]: () => {
        if (taken) throw new TypeError("a task watch can be iterated only once");
        taken = true;
        return queue;
      },
    };
  }

  /** Delivers `signal` to every watch of `owner` (none: dropped). */
  push(owner: string, signal: TaskSignal): void {
    for (const q of this.#watchers.get(owner) ?? []) q.push(signal);
  }

  /** Ends every watch. */
  close(): void {
    for (const watchers of [...this.#watchers.values()]) for (const q of [...watchers]) q.close();
  }
}
