// The single-node task store: task records in a Map in the main thread, shared by every replica of
// the node through their ports (task-services.ts). TTLs are enforced on read and by a periodic
// sweep (an unref'd timer, so an idle store never keeps the process alive). Bounded: past
// `maxTasks` live records, `create` refuses instead of growing without limit.

import { systemClock, type Clock } from "../runtime/clock.ts";
import {
  isTerminalStatus,
  type NewTask,
  type TaskChange,
  type TaskError,
  type TaskRecord,
  type TaskRef,
  type TaskSignal,
  type TaskStore,
} from "./task-store.ts";

export interface MemoryTaskStoreOptions {
  clock?: Clock;
  /** Live records the store holds at most (default 10,000). */
  maxTasks?: number;
  /** How often expired records are swept (default 10 s; 0 turns the timer off). */
  sweepIntervalMs?: number;
}

export const DEFAULT_MAX_TASKS = 10_000;
const DEFAULT_SWEEP_INTERVAL_MS = 10_000;

interface StoredTask {
  record: TaskRecord;
  /** Keys ever asked for: a key is never reused over a task's life, answered or not. */
  askedKeys: Set<string>;
}

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

export class MemoryTaskStore implements TaskStore {
  readonly #clock: Clock;
  readonly #maxTasks: number;
  readonly #tasks = new Map<string, StoredTask>();
  readonly #watchers = new Map<string, Set<SignalQueue>>();
  readonly #sweeper: NodeJS.Timeout | undefined;

  constructor(options: MemoryTaskStoreOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#maxTasks = options.maxTasks ?? DEFAULT_MAX_TASKS;
    const sweepMs = options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
    if (sweepMs > 0) {
      this.#sweeper = setInterval(() => void this.expire(), sweepMs);
      this.#sweeper.unref();
    }
  }

  /** Live records right now (expired ones not yet swept included). */
  get size(): number {
    return this.#tasks.size;
  }

  async create(task: NewTask): Promise<TaskRecord> {
    if (this.#tasks.has(task.taskId)) throw new Error(`task ${task.taskId} already exists`);
    if (this.#tasks.size >= this.#maxTasks) {
      await this.expire();
      if (this.#tasks.size >= this.#maxTasks) {
        throw new RangeError(`the task store is full (${this.#maxTasks} live tasks): try again once some have expired`);
      }
    }
    const now = this.#clock.now();
    const record: TaskRecord = {
      scope: task.scope,
      taskId: task.taskId,
      principal: task.principal,
      owner: task.owner,
      status: "working",
      createdAtMs: now,
      lastUpdatedAtMs: now,
      ttlMs: task.ttlMs,
      pollIntervalMs: task.pollIntervalMs,
      ...(task.statusMessage !== undefined ? { statusMessage: task.statusMessage } : {}),
    };
    this.#tasks.set(task.taskId, { record, askedKeys: new Set() });
    return structuredClone(record);
  }

  async get(ref: TaskRef): Promise<TaskRecord | undefined> {
    const stored = this.#visible(ref);
    return stored && structuredClone(stored.record);
  }

  async update(scope: string, taskId: string, input: TaskChange): Promise<TaskRecord | undefined> {
    // The store keeps its own copy (as a store across a port or a network would): a value that
    // cannot be copied is refused here, before the record changes.
    const change = structuredClone(input);
    const stored = this.#live(taskId);
    if (!stored || stored.record.scope !== scope) return undefined;
    const r = stored.record;
    if (isTerminalStatus(r.status)) return structuredClone(r);
    if (change.statusMessage !== undefined) r.statusMessage = change.statusMessage;
    switch (change.kind) {
      case "status":
        break;
      case "input": {
        const fresh = Object.entries(change.inputRequests).filter(([key]) => !stored.askedKeys.has(key));
        for (const [key] of fresh) stored.askedKeys.add(key);
        r.inputRequests = { ...r.inputRequests, ...Object.fromEntries(fresh) };
        if (Object.keys(r.inputRequests).length > 0) r.status = "input_required";
        break;
      }
      case "completed":
        r.status = "completed";
        r.result = change.result;
        delete r.inputRequests;
        break;
      case "failed":
        r.status = "failed";
        r.error = change.error;
        delete r.inputRequests;
        break;
    }
    r.lastUpdatedAtMs = this.#clock.now();
    return structuredClone(r);
  }

  async respond(ref: TaskRef, input: Record<string, unknown>): Promise<TaskRecord | undefined> {
    const inputResponses = structuredClone(input);
    const stored = this.#visible(ref);
    if (!stored) return undefined;
    const r = stored.record;
    const outstanding = r.inputRequests ?? {};
    const answered = Object.entries(inputResponses).filter(([key]) => Object.hasOwn(outstanding, key));
    if (answered.length > 0 && !isTerminalStatus(r.status)) {
      const left = { ...outstanding };
      for (const [key] of answered) delete left[key];
      if (Object.keys(left).length > 0) {
        r.inputRequests = left;
      } else {
        delete r.inputRequests;
        r.status = "working";
      }
      r.lastUpdatedAtMs = this.#clock.now();
      this.#signal(r.owner, { kind: "input", taskId: r.taskId, inputResponses: Object.fromEntries(answered) });
    }
    return structuredClone(r);
  }

  async cancel(ref: TaskRef): Promise<TaskRecord | undefined> {
    const stored = this.#visible(ref);
    if (!stored) return undefined;
    const r = stored.record;
    if (!isTerminalStatus(r.status)) {
      r.status = "cancelled";
      r.statusMessage = "Cancelled by the client.";
      delete r.inputRequests;
      r.lastUpdatedAtMs = this.#clock.now();
      this.#signal(r.owner, { kind: "cancelled", taskId: r.taskId });
    }
    return structuredClone(r);
  }

  async expire(nowMs: number = this.#clock.now()): Promise<number> {
    let n = 0;
    for (const [taskId, stored] of this.#tasks) {
      if (!isExpired(stored.record, nowMs)) continue;
      this.#tasks.delete(taskId);
      n++;
      if (!isTerminalStatus(stored.record.status)) this.#signal(stored.record.owner, { kind: "expired", taskId });
    }
    return n;
  }

  async failOwnedBy(owner: string, error: TaskError): Promise<number> {
    let n = 0;
    const now = this.#clock.now();
    for (const { record: r } of this.#tasks.values()) {
      if (r.owner !== owner || isTerminalStatus(r.status)) continue;
      r.status = "failed";
      r.error = error;
      r.statusMessage = error.message;
      delete r.inputRequests;
      r.lastUpdatedAtMs = now;
      n++;
    }
    return n;
  }

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

  /** Stops the sweep timer and ends every watch. */
  close(): void {
    if (this.#sweeper) clearInterval(this.#sweeper);
    for (const watchers of [...this.#watchers.values()]) for (const q of [...watchers]) q.close();
  }

  #live(taskId: string): StoredTask | undefined {
    const stored = this.#tasks.get(taskId);
    if (!stored) return undefined;
    if (isExpired(stored.record, this.#clock.now())) {
      void this.expire();
      return undefined;
    }
    return stored;
  }

  #visible(ref: TaskRef): StoredTask | undefined {
    const stored = this.#live(ref.taskId);
    if (!stored || stored.record.scope !== ref.scope || stored.record.principal !== ref.principal) return undefined;
    return stored;
  }

  #signal(owner: string, signal: TaskSignal): void {
    for (const q of this.#watchers.get(owner) ?? []) q.push(signal);
  }
}

function isExpired(r: TaskRecord, nowMs: number): boolean {
  return r.ttlMs !== null && nowMs >= r.createdAtMs + r.ttlMs;
}
