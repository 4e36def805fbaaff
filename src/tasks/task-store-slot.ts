// The runtime's task store, late-bound: the node's in-process store (memory-task-store.ts) until
// cluster mode hands over the cluster-wide one (the JetStream KV store, once the node has joined
// and before any replica starts). The replicas' task services (task-services.ts) are built with the
// controller, before the cluster exists, so they talk to this slot.

import { MemoryTaskStore } from "./memory-task-store.ts";
import type { NewTask, TaskChange, TaskError, TaskRecord, TaskRef, TaskSignal, TaskStore } from "./task-store.ts";

export class TaskStoreSlot implements TaskStore {
  readonly #local = new MemoryTaskStore();
  #store: TaskStore = this.#local;

  /** From now on every operation goes to `store` (its owner closes it). */
  use(store: TaskStore): void {
    this.#store = store;
  }

  create(task: NewTask): Promise<TaskRecord> {
    return this.#store.create(task);
  }

  get(ref: TaskRef): Promise<TaskRecord | undefined> {
    return this.#store.get(ref);
  }

  update(scope: string, taskId: string, change: TaskChange): Promise<TaskRecord | undefined> {
    return this.#store.update(scope, taskId, change);
  }

  respond(ref: TaskRef, inputResponses: Record<string, unknown>): Promise<TaskRecord | undefined> {
    return this.#store.respond(ref, inputResponses);
  }

  cancel(ref: TaskRef): Promise<TaskRecord | undefined> {
    return this.#store.cancel(ref);
  }

  expire(nowMs?: number): Promise<number> {
    return this.#store.expire(nowMs);
  }

  failOwnedBy(owner: string, error: TaskError): Promise<number> {
    return this.#store.failOwnedBy(owner, error);
  }

  watch(owner: string, signal: AbortSignal): AsyncIterable<TaskSignal> {
    return this.#store.watch(owner, signal);
  }

  /** Closes the in-process store (its sweep timer and watches). */
  close(): void {
    this.#local.close();
  }
}
