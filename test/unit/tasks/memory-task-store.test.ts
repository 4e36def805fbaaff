import { afterEach, describe, expect, it } from "vitest";
import { MemoryTaskStore } from "../../../src/tasks/memory-task-store.ts";
import type { NewTask, TaskSignal } from "../../../src/tasks/task-store.ts";

class FakeClock {
  t = 1_000;
  now(): number {
    return this.t;
  }
}

const stores: MemoryTaskStore[] = [];
function storeWith(options: { maxTasks?: number } = {}) {
  const clock = new FakeClock();
  const store = new MemoryTaskStore({ clock, sweepIntervalMs: 0, ...options });
  stores.push(store);
  return { store, clock };
}
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

const ref = (taskId: string, principal: string | null = null) => ({ scope: "app/Mcp", taskId, principal });
const newTask = (taskId: string, extra: Partial<NewTask> = {}): NewTask => ({
  ...ref(taskId),
  owner: "r1",
  ttlMs: 60_000,
  pollIntervalMs: 500,
  ...extra,
});

/** Collects what a watch delivers until `n` signals arrived. */
async function take(it: AsyncIterable<TaskSignal>, n: number): Promise<TaskSignal[]> {
  const out: TaskSignal[] = [];
  for await (const s of it) {
    out.push(s);
    if (out.length === n) break;
  }
  return out;
}

describe("MemoryTaskStore", () => {
  it("creates a working task that get finds at once", async () => {
    const { store } = storeWith();
    const created = await store.create(newTask("t1"));
    expect(created).toMatchObject({ taskId: "t1", status: "working", owner: "r1", createdAtMs: 1_000, ttlMs: 60_000 });
    expect(await store.get(ref("t1"))).toEqual(created);
  });

  it("hides a task from another deployment and from another principal", async () => {
    const { store } = storeWith();
    await store.create(newTask("t1", { principal: "alice" }));
    expect(await store.get(ref("t1", "alice"))).toBeDefined();
    expect(await store.get(ref("t1", "bob"))).toBeUndefined();
    expect(await store.get(ref("t1", null))).toBeUndefined();
    expect(await store.get({ scope: "other/Mcp", taskId: "t1", principal: "alice" })).toBeUndefined();
    expect(await store.cancel(ref("t1", "bob"))).toBeUndefined();
  });

  it("hands out copies: changing a returned record changes nothing stored", async () => {
    const { store } = storeWith();
    const created = await store.create(newTask("t1"));
    created.status = "failed";
    expect((await store.get(ref("t1")))!.status).toBe("working");
  });

  it("records the owner's status message, result and error, and freezes a terminal task", async () => {
    const { store, clock } = storeWith();
    await store.create(newTask("t1"));
    clock.t = 1_500;
    expect(await store.update("app/Mcp", "t1", { kind: "status", statusMessage: "halfway" })).toMatchObject({
      status: "working",
      statusMessage: "halfway",
      lastUpdatedAtMs: 1_500,
    });
    const result = { content: [{ type: "text", text: "done" }] };
    expect(await store.update("app/Mcp", "t1", { kind: "completed", result })).toMatchObject({ status: "completed", result });
    const after = await store.update("app/Mcp", "t1", { kind: "failed", error: { code: -32603, message: "late" } });
    expect(after).toMatchObject({ status: "completed", result });
    expect(after!.error).toBeUndefined();
    expect(await store.update("other/Mcp", "t1", { kind: "status", statusMessage: "x" })).toBeUndefined();
  });

  it("keeps a task input_required until every outstanding request is answered, and forwards answers to the owner", async () => {
    const { store } = storeWith();
    const watch = store.watch("r1", new AbortController().signal);
    await store.create(newTask("t1"));
    const ask = { method: "elicitation/create", params: { message: "?" } };
    expect(await store.update("app/Mcp", "t1", { kind: "input", inputRequests: { a: ask, b: ask } })).toMatchObject({
      status: "input_required",
      inputRequests: { a: ask, b: ask },
    });
    const partial = await store.respond(ref("t1"), { a: { action: "accept" }, unknown: { x: 1 } });
    expect(partial).toMatchObject({ status: "input_required", inputRequests: { b: ask } });
    // A key already answered is ignored.
    await store.respond(ref("t1"), { a: { action: "decline" } });
    const done = await store.respond(ref("t1"), { b: { action: "accept" } });
    expect(done!.status).toBe("working");
    expect(done!.inputRequests).toBeUndefined();
    expect(await take(watch, 2)).toEqual([
      { kind: "input", taskId: "t1", inputResponses: { a: { action: "accept" } } },
      { kind: "input", taskId: "t1", inputResponses: { b: { action: "accept" } } },
    ]);
  });

  it("never reuses an input key over a task's life", async () => {
    const { store } = storeWith();
    await store.create(newTask("t1"));
    await store.update("app/Mcp", "t1", { kind: "input", inputRequests: { a: 1 } });
    await store.respond(ref("t1"), { a: true });
    const again = await store.update("app/Mcp", "t1", { kind: "input", inputRequests: { a: 2 } });
    expect(again!.status).toBe("working");
    expect(again!.inputRequests ?? {}).toEqual({});
  });

  it("cancels a running task once (the owner hears it) and acks a terminal one unchanged", async () => {
    const { store } = storeWith();
    const watch = store.watch("r1", new AbortController().signal);
    await store.create(newTask("t1"));
    expect((await store.cancel(ref("t1")))!.status).toBe("cancelled");
    expect((await store.cancel(ref("t1")))!.status).toBe("cancelled");
    expect(await take(watch, 1)).toEqual([{ kind: "cancelled", taskId: "t1" }]);
    await store.create(newTask("t2"));
    await store.update("app/Mcp", "t2", { kind: "completed", result: { content: [] } });
    expect((await store.cancel(ref("t2")))!.status).toBe("completed");
    expect(await store.cancel(ref("nope"))).toBeUndefined();
  });

  it("keeps a task for its whole TTL, then deletes it and tells the owner of an unfinished one", async () => {
    const { store, clock } = storeWith();
    const watch = store.watch("r1", new AbortController().signal);
    await store.create(newTask("done", { ttlMs: 1_000 }));
    await store.update("app/Mcp", "done", { kind: "completed", result: {} });
    await store.create(newTask("running", { ttlMs: 2_000 }));
    await store.create(newTask("forever", { ttlMs: null }));
    clock.t = 1_999;
    expect(await store.get(ref("done"))).toBeDefined();
    clock.t = 2_000;
    expect(await store.get(ref("done"))).toBeUndefined();
    clock.t = 3_000;
    expect(await store.expire()).toBe(1);
    expect(await store.get(ref("running"))).toBeUndefined();
    expect(await store.get(ref("forever"))).toBeDefined();
    expect(await take(watch, 1)).toEqual([{ kind: "expired", taskId: "running" }]);
  });

  it("fails the unfinished tasks of a replica that is gone, and only those", async () => {
    const { store } = storeWith();
    await store.create(newTask("a"));
    await store.create(newTask("b"));
    await store.update("app/Mcp", "b", { kind: "completed", result: {} });
    await store.create(newTask("c", { owner: "r2" }));
    const error = { code: -32603, message: "replica r1 died" };
    expect(await store.failOwnedBy("r1", error)).toBe(1);
    expect(await store.get(ref("a"))).toMatchObject({ status: "failed", error, statusMessage: "replica r1 died" });
    expect((await store.get(ref("b")))!.status).toBe("completed");
    expect((await store.get(ref("c")))!.status).toBe("working");
  });

  it("only signals the owner's watchers, and a watch ends when its signal aborts", async () => {
    const { store } = storeWith();
    const ac = new AbortController();
    const mine = store.watch("r1", ac.signal);
    const theirs = store.watch("r2", new AbortController().signal);
    await store.create(newTask("t1", { owner: "r2" }));
    await store.cancel(ref("t1"));
    ac.abort();
    expect(await take(mine, 1)).toEqual([]);
    expect(await take(theirs, 1)).toEqual([{ kind: "cancelled", taskId: "t1" }]);
  });

  it("refuses new tasks past maxTasks until some expire", async () => {
    const { store, clock } = storeWith({ maxTasks: 2 });
    await store.create(newTask("a", { ttlMs: 100 }));
    await store.create(newTask("b"));
    await expect(store.create(newTask("c"))).rejects.toThrow(/task store is full \(2 live tasks\)/);
    clock.t += 100;
    await expect(store.create(newTask("c"))).resolves.toMatchObject({ taskId: "c" });
  });

  it("keeps its own copy of what it is given, and refuses a value it cannot copy without changing the record", async () => {
    const { store } = storeWith();
    await store.create(newTask("t1"));
    const result = { content: [{ type: "text", text: "v1" }] };
    await store.update("app/Mcp", "t1", { kind: "completed", result });
    result.content[0]!.text = "changed afterwards";
    expect((await store.get(ref("t1")))!.result).toEqual({ content: [{ type: "text", text: "v1" }] });
    await store.create(newTask("t2"));
    await expect(store.update("app/Mcp", "t2", { kind: "completed", result: { f: () => 1 } })).rejects.toThrow(/could not be cloned/);
    expect((await store.get(ref("t2")))!.status).toBe("working");
  });
});
