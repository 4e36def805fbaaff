// The replica's view of the task store (PortTaskStore) wired to the main thread's services through
// the real upcall halves (WorkerCallTransport ↔ UpcallServer), with the port replaced by direct
// delivery of structured clones: no threads.

import { afterEach, describe, expect, it } from "vitest";
import type { CallTransport } from "../../../src/runtime/call.ts";
import { replicaId } from "../../../src/runtime/ids.ts";
import { PortWriter, unbatch, type ToReplica, type UpcallReply, type UpcallRequest } from "../../../src/runtime/protocol.ts";
import { withReplicaServices } from "../../../src/runtime/replica-services.ts";
import { UpcallServer } from "../../../src/runtime/upcall-server.ts";
import { WorkerCallTransport } from "../../../src/runtime/worker-transport.ts";
import { MemoryTaskStore } from "../../../src/tasks/memory-task-store.ts";
import { PortTaskStore } from "../../../src/tasks/port-task-store.ts";
import { taskStoreServices } from "../../../src/tasks/task-services.ts";

const noRouter: CallTransport = {
  call: () => Promise.reject(new Error("no router in this test")),
  stream: () => ({ [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error("no router")) }) }),
};

const stores: MemoryTaskStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

/** One replica's port: its PortTaskStore and the main thread's UpcallServer for it. */
function replicaPort(store: MemoryTaskStore, id: string, log: string[] = [], services = taskStoreServices(store, (m) => log.push(m))) {
  let server: UpcallServer;
  const worker = new WorkerCallTransport((msg: UpcallRequest) => {
    const copy = structuredClone(msg);
    queueMicrotask(() => server.handle(copy));
  });
  const writer = new PortWriter<ToReplica>(
    { postMessage: (m) => unbatch(structuredClone(m) as ToReplica, (r) => worker.handle(r as UpcallReply)) },
    () => {},
  );
  server = new UpcallServer(withReplicaServices(noRouter, services), writer, replicaId(id));
  return { tasks: new PortTaskStore(worker), server, services };
}

const ref = (taskId: string) => ({ scope: "app/Mcp", taskId, principal: null });
const newTask = (taskId: string) => ({ ...ref(taskId), owner: "claimed-by-the-replica", ttlMs: 60_000, pollIntervalMs: 100 });
const until = async (check: () => Promise<boolean>) => {
  for (let i = 0; i < 100 && !(await check()); i++) await new Promise((r) => setTimeout(r, 5));
};

describe("the task store over a replica's port", () => {
  it("creates a task owned by the calling replica (whatever the replica claims) that another replica reads", async () => {
    const store = new MemoryTaskStore({ sweepIntervalMs: 0 });
    stores.push(store);
    const a = replicaPort(store, "r-a");
    const b = replicaPort(store, "r-b");
    const created = await a.tasks.create(newTask("t1"));
    expect(created.owner).toBe("r-a");
    expect(await b.tasks.get(ref("t1"))).toMatchObject({ taskId: "t1", owner: "r-a", status: "working" });
  });

  it("delivers a cancel made through one replica to the watch of the replica that owns the task", async () => {
    const store = new MemoryTaskStore({ sweepIntervalMs: 0 });
    stores.push(store);
    const a = replicaPort(store, "r-a");
    const b = replicaPort(store, "r-b");
    const ac = new AbortController();
    const heard: unknown[] = [];
    const watching = (async () => {
      for await (const s of a.tasks.watch("ignored", ac.signal)) {
        heard.push(s);
        break;
      }
    })();
    await a.tasks.create(newTask("t1"));
    await b.tasks.cancel(ref("t1"));
    await watching;
    expect(heard).toEqual([{ kind: "cancelled", taskId: "t1" }]);
  });

  it("fails the tasks of a replica whose thread is gone, saying why", async () => {
    const store = new MemoryTaskStore({ sweepIntervalMs: 0 });
    stores.push(store);
    const log: string[] = [];
    const a = replicaPort(store, "r-a", log);
    const b = replicaPort(store, "r-b");
    await a.tasks.create(newTask("t1"));
    a.server.closeAll("replica r-a died: its thread exited with code 1");
    await until(async () => (await b.tasks.get(ref("t1")))?.status === "failed");
    const record = await b.tasks.get(ref("t1"));
    expect(record).toMatchObject({ status: "failed", error: { code: -32603 } });
    expect(record!.error!.message).toContain("replica r-a died: its thread exited with code 1");
    expect(log).toEqual(["1 task(s) of replica r-a failed: replica r-a died: its thread exited with code 1"]);
  });

  it("counts a task as the replica's pending work from its creation until the replica writes its outcome", async () => {
    const store = new MemoryTaskStore({ sweepIntervalMs: 0 });
    stores.push(store);
    const services = taskStoreServices(store);
    const a = replicaPort(store, "r-a", [], services);
    const b = replicaPort(store, "r-b", [], services);
    await a.tasks.create(newTask("t1"));
    await a.tasks.create(newTask("t2"));
    expect(a.server.pendingServiceWork()).toBe(2);
    expect(b.server.pendingServiceWork()).toBe(0);
    // Cancelled through another replica: the work still runs until its owner writes the outcome.
    await b.tasks.cancel(ref("t1"));
    await a.tasks.update("app/Mcp", "t1", { kind: "status", statusMessage: "still going" });
    expect(a.server.pendingServiceWork()).toBe(2);
    await a.tasks.update("app/Mcp", "t1", { kind: "completed", result: { content: [] } });
    await a.tasks.update("app/Mcp", "t2", { kind: "failed", error: { code: -32603, message: "x" } });
    expect(a.server.pendingServiceWork()).toBe(0);
    await a.tasks.create(newTask("t3"));
    a.server.closeAll("replica r-a was stopped");
    expect(a.server.pendingServiceWork()).toBe(0);
  });
});
