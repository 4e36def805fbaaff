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
  // Tasks whose work each replica still runs: from its create until it writes the outcome (which it
  // does even for a task cancelled or expired meanwhile), so a graceful stop can wait for them.
  const running = new Map<ReplicaId, Set<string>>();
  return {
    forReplica: (replicaId) => replicaTaskTransport(store, replicaId, running),
    pendingWork: (replicaId) => running.get(replicaId)?.size ?? 0,
    replicaGone(replicaId: ReplicaId, reason: string) {
      running.delete(replicaId);
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

function replicaTaskTransport(store: TaskStore, owner: ReplicaId, running: Map<ReplicaId, Set<string>>): CallTransport {
  const refuse = (target: DeploymentId, method: string): Error =>
    new TypeError(`replica service "${target.deployment}" has no method ${method}()`);
  return {
    async call(target: DeploymentId, method: string, args: unknown[]): Promise<unknown> {
      if (target.deployment !== TASKS_SERVICE) throw refuse(target, method);
      switch (method) {
        case "create": {
          const record = await store.create({ ...(args[0] as NewTask), owner });
          const mine = running.get(owner) ?? new Set<string>();
          running.set(owner, mine.add(record.taskId));
          return record;
        }
        case "get":
          return store.get(args[0] as TaskRef);
        case "update": {
          const change = args[2] as TaskChange;
          const taskId = args[1] as string;
          try {
            return await store.update(args[0] as string, taskId, change);
          } finally {
            if (change.kind === "completed" || change.kind === "failed") forget(running, owner, taskId);
          }
        }
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

function forget(running: Map<ReplicaId, Set<string>>, owner: ReplicaId, taskId: string): void {
  const mine = running.get(owner);
  if (!mine) return;
  mine.delete(taskId);
  if (mine.size === 0) running.delete(owner);
}
