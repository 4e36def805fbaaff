// The task store as a replica sees it: every operation is an upcall over the replica's port to the
// node's store in the main thread (task-services.ts), so all replicas of a deployment share the
// same records. The main thread sets the owner of what this replica creates and watches.
//
// Store operations pass their own never-aborted signal: without one, an upcall inherits the signal
// of the replica call it runs in, and a task's final write must not be dropped because the task
// (or the request that created it) was cancelled.

import type { CallTransport } from "../runtime/call.ts";
import { serviceTarget } from "../runtime/replica-services.ts";
import type { NewTask, TaskChange, TaskError, TaskRecord, TaskRef, TaskSignal, TaskStore } from "./task-store.ts";
import { TASKS_SERVICE } from "./task-services.ts";

const TARGET = serviceTarget(TASKS_SERVICE);
const NEVER_ABORTED = new AbortController().signal;

export class PortTaskStore implements TaskStore {
  readonly #transport: CallTransport;

  /** @param transport this replica's upcall transport (worker-transport.ts). */
  constructor(transport: CallTransport) {
    this.#transport = transport;
  }

  create(task: NewTask): Promise<TaskRecord> {
    return this.#call("create", task) as Promise<TaskRecord>;
  }

  get(ref: TaskRef): Promise<TaskRecord | undefined> {
    return this.#call("get", ref) as Promise<TaskRecord | undefined>;
  }

  update(scope: string, taskId: string, change: TaskChange): Promise<TaskRecord | undefined> {
    return this.#call("update", scope, taskId, change) as Promise<TaskRecord | undefined>;
  }

  respond(ref: TaskRef, inputResponses: Record<string, unknown>): Promise<TaskRecord | undefined> {
    return this.#call("respond", ref, inputResponses) as Promise<TaskRecord | undefined>;
  }

  cancel(ref: TaskRef): Promise<TaskRecord | undefined> {
    return this.#call("cancel", ref) as Promise<TaskRecord | undefined>;
  }

  expire(): Promise<number> {
    // The store's host sweeps; a replica never expires tasks itself.
    return Promise.resolve(0);
  }

  failOwnedBy(_owner: string, _error: TaskError): Promise<number> {
    return Promise.reject(new TypeError("only the runtime fails a replica's tasks (when the replica is gone)"));
  }

  watch(_owner: string, signal: AbortSignal): AsyncIterable<TaskSignal> {
    return this.#transport.stream(TARGET, "watch", [], { signal }) as AsyncIterable<TaskSignal>;
  }

  #call(method: string, ...args: unknown[]): Promise<unknown> {
    return this.#transport.call(TARGET, method, args, { signal: NEVER_ABORTED });
  }
}
