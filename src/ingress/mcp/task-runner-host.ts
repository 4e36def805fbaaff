// Which task store and runner an MCP fetch handler uses: inside a replica, the node's shared store
// in the main thread (over the replica's port), scoped to the replica's deployment; outside one
// (the handler run in-process, as some tests do), a store of its own. Built on first use, so a
// server without task tools never opens a watch or starts a sweep timer.

import type { ReplicaContext } from "../../runtime/replica-context.ts";
import { getWorkerTransport } from "../../runtime/worker-transport.ts";
import { MemoryTaskStore } from "../../tasks/memory-task-store.ts";
import { PortTaskStore } from "../../tasks/port-task-store.ts";
import { TaskRunner } from "./task-runner.ts";

export function taskRunnerFor(replica: ReplicaContext | undefined): () => TaskRunner {
  let runner: TaskRunner | undefined;
  return () => {
    if (runner) return runner;
    const transport = replica ? getWorkerTransport() : undefined;
    if (replica && transport) {
      runner = new TaskRunner(new PortTaskStore(transport), `${replica.appName}/${replica.deploymentName}`, replica.replicaId);
    } else {
      runner = new TaskRunner(new MemoryTaskStore(), "local", "local");
    }
    return runner;
  };
}
