// The single-node task store: task records in a Map in the main thread, shared by every replica of
// the node through their ports (task-services.ts). TTLs are enforced on read and by a periodic
// sweep (an unref'd timer, so an idle store never keeps the process alive). Bounded: past
// `maxTasks` live records, `create` refuses instead of growing without limit.

import { systemClock, type Clock } from "../runtime/clock.ts";
import { applyTaskEvent, isExpired, isVisibleTo, newTaskState, type TaskEvent, type TaskState } from "./task-transitions.ts";
import type { NewTask, TaskChange, TaskError, TaskRecord, TaskRef, TaskSignal, TaskStore } from "./task-store.ts";
import { isTerminalStatus } from "./task-store.ts";
import { TaskWatchers } from "./task-watchers.ts";

export interface MemoryTaskStoreOptions {
  clock?: Clock;
  /** Live records the store holds at most (default 10,000). */
  maxTasks?: number;
  /** How often expired records are swept (default 10 s; 0 turns the timer off). */
  sweepIntervalMs?: number;
}

export const DEFAULT_MAX_TASKS = 10_000;
const DEFAULT_SWEEP_INTERVAL_MS = 10_000;

export class MemoryTaskStore implements TaskStore {
  readonly #clock: Clock;
  readonly #maxTasks: number;
  readonly #tasks = new Map<string, TaskState>();
  readonly #watchers = new TaskWatchers();
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
    const state = newTaskState(task, this.#clock.now());
    this.#tasks.set(task.taskId, state);
    return structuredClone(state.record);
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
    return this.#apply(stored, { kind: "change", change });
  }

  async respond(ref: TaskRef, input: Record<string, unknown>): Promise<TaskRecord | undefined> {
    const inputResponses = structuredClone(input);
    const stored = this.#visible(ref);
    return stored && this.#apply(stored, { kind: "respond", inputResponses });
  }

  async cancel(ref: TaskRef): Promise<TaskRecord | undefined> {
    const stored = this.#visible(ref);
    return stored && this.#apply(stored, { kind: "cancel" });
  }

  async expire(nowMs: number = this.#clock.now()): Promise<number> {
    let n = 0;
    for (const [taskId, stored] of this.#tasks) {
      if (!isExpired(stored.record, nowMs)) continue;
      this.#tasks.delete(taskId);
      n++;
      if (!isTerminalStatus(stored.record.status)) this.#watchers.push(stored.record.owner, { kind: "expired", taskId });
    }
    return n;
  }

  async failOwnedBy(owner: string, error: TaskError): Promise<number> {
    let n = 0;
    for (const stored of [...this.#tasks.values()]) {
      if (stored.record.owner !== owner) continue;
      const t = applyTaskEvent(stored, { kind: "fail", error }, this.#clock.now());
      if (!t.changed) continue;
      this.#tasks.set(stored.record.taskId, t.state);
      n++;
    }
    return n;
  }

  watch(owner: string, signal: AbortSignal): AsyncIterable<TaskSignal> {
    return this.#watchers.watch(owner, signal);
  }

  /** Stops the sweep timer and ends every watch. */
  close(): void {
    if (this.#sweeper) clearInterval(this.#sweeper);
    this.#watchers.close();
  }

  #apply(stored: TaskState, event: TaskEvent): TaskRecord {
    const t = applyTaskEvent(stored, event, this.#clock.now());
    if (t.changed) this.#tasks.set(stored.record.taskId, t.state);
    if (t.signal) this.#watchers.push(t.state.record.owner, t.signal);
    return structuredClone(t.state.record);
  }

  #live(taskId: string): TaskState | undefined {
    const stored = this.#tasks.get(taskId);
    if (!stored) return undefined;
    if (isExpired(stored.record, this.#clock.now())) {
      void this.expire();
      return undefined;
    }
    return stored;
  }

  #visible(ref: TaskRef): TaskState | undefined {
    const stored = this.#live(ref.taskId);
    return stored && isVisibleTo(stored.record, ref) ? stored : undefined;
  }
}
