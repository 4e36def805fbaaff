// The main-thread side of the task store for replicas: answers the `tasks` service upcalls of each
// replica (replica-services.ts) from the node's TaskStore, with the calling replica's id bound as
// the owner of what it creates and watches, and fails the tasks of a replica whose thread is gone.
// The replica side is port-task-store.ts; the two agree on TASKS_SERVICE and the method names.

import type { CallOptions, CallTransport } from "../runtime/call.ts";
import type { DeploymentId, ReplicaId } from "../runtime/ids.ts";
import type { ReplicaServices } from "../runtime/replica-services.ts";
import type { NewTask, TaskChange, TaskRef, TaskStore } from "./task-store.ts";

export const TASKS_SERVICE = "tasks";

/** JSON-RPC internal error: the work ended without an answer, through no fault of the request. */
const INTERNAL_ERROR = -32603;

export function taskStoreServices(store: TaskStore, log?: (message: string) => void): ReplicaServices {
  return {
    forReplica: (replicaId) => replicaTaskTransport(store, replicaId),
    replicaGone(replicaId: ReplicaId, reason: string) {
      const error = { code: INTERNAL_ERROR, message: `The task's replica is gone: ${reason}. Its work was lost; call the tool again.` };
      store.failOwnedBy(replicaId, error).then(
        (n) => {
          if (n > 0) log?.(`${n} task(s) of replica ${replicaId} failed: ${reason}`);
        },
        (err: unknown) => log?.(`could not fail the tasks of replica ${replicaId}: ${String(err)}`),
      );
    },
  };
}

function replicaTaskTransport(store: TaskStore, owner: ReplicaId): CallTransport {
  const refuse = (target: DeploymentId, method: string): Error =>
    new TypeError(`replica service "${target.deployment}" has no method ${method}()`);
  return {
    async call(target: DeploymentId, method: string, args: unknown[]): Promise<unknown> {
      if (target.deployment !== TASKS_SERVICE) throw refuse(target, method);
      switch (method) {
        case "create":
          return store.create({ ...(args[0] as NewTask), owner });
        case "get":
          return store.get(args[0] as TaskRef);
        case "update":
          return store.update(args[0] as string, args[1] as string, args[2] as TaskChange);
        case "respond":
          return store.respond(args[0] as TaskRef, args[1] as Record<string, unknown>);
        case "cancel":
          return store.cancel(args[0] as TaskRef);
        default:
          throw refuse(target, method);
      }
    },
    stream(target: DeploymentId, method: string, _args: unknown[], options?: CallOptions): AsyncIterable<unknown> {
      if (target.deployment !== TASKS_SERVICE || method !== "watch") {
        const err = refuse(target, method);
        return { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(err) }) };
      }
      return store.watch(owner, options?.signal ?? new AbortController().signal);
    },
  };
}
