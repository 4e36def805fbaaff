// The cluster's task store (kv-task-store.ts) over fakes: a KV bucket in memory with real
// compare-and-set semantics (and injectable conflicts) and a bus in memory, shared by three nodes'
// stores. Cross-node reads, principal checks, owner signals over the bus, retries on conflict,
// TTL on read and the owner's sweep, a dead node's tasks failed exactly once, the payload limit.

import { describe, expect, it } from "vitest";
import type { BusMessage, CallBus } from "../../../src/cluster/call-bus.ts";
import { KvTaskStore, type TaskBucket } from "../../../src/cluster/kv-task-store.ts";
import type { NewTask, TaskSignal } from "../../../src/tasks/task-store.ts";

class MemoryBucket implements TaskBucket {
  readonly #entries = new Map<string, { value: Uint8Array; revision: number }>();
  #seq = 0;
  /** Updates that fail with a conflict before being tried (another writer got in first). */
  conflicts = 0;
  updates = 0;

  async get(key: string) {
    return this.#entries.get(key);
  }
  async create(key: string, value: Uint8Array) {
    if (this.#entries.has(key)) throw new Error("wrong last sequence: 1");
    this.#entries.set(key, { value, revision: ++this.#seq });
    return this.#seq;
  }
  async update(key: string, value: Uint8Array, revision: number) {
    if (this.conflicts > 0) {
      this.conflicts--;
      const e = this.#entries.get(key)!;
      this.#entries.set(key, { value: e.value, revision: ++this.#seq });
      throw new Error(`wrong last sequence: ${revision}`);
    }
    if (this.#entries.get(key)?.revision !== revision) throw new Error(`wrong last sequence: ${revision}`);
    this.updates++;
    this.#entries.set(key, { value, revision: ++this.#seq });
    return this.#seq;
  }
  async delete(key: string, revision?: number) {
    if (revision !== undefined && this.#entries.get(key)?.revision !== revision) throw new Error(`wrong last sequence: ${revision}`);
    this.#entries.delete(key);
  }
  async keys(filter: string) {
    const prefix = filter.endsWith(">") ? filter.slice(0, -1) : filter;
    return [...this.#entries.keys()].filter((k) => (filter.endsWith(">") ? k.startsWith(prefix) : k === filter));
  }
  has(prefix: string): boolean {
    return [...this.#entries.keys()].some((k) => k.startsWith(prefix));
  }
}

class MemoryBus implements CallBus {
  maxPayload = 64 * 1024;
  readonly #subs: Array<{ subject: string; handler: (m: BusMessage) => void }> = [];
  publish(subject: string, data: Uint8Array): void {
    if (data.length > this.maxPayload) throw new Error("MAX_PAYLOAD_EXCEEDED");
    for (const s of this.#subs) if (s.subject === subject) setImmediate(() => s.handler({ subject, data, noResponders: false }));
  }
  async subscribe(subject: string, handler: (m: BusMessage) => void) {
    const sub = { subject, handler };
    this.#subs.push(sub);
    return { drain: async () => void this.#subs.splice(this.#subs.indexOf(sub), 1) };
  }
  inbox(): string {
    return "_INBOX.x";
  }
}

function cluster() {
  const bucket = new MemoryBucket();
  const bus = new MemoryBus();
  const clock = { t: 1_000, now() { return this.t; } };
  const store = (nodeId: string) => new KvTaskStore({ bucket, bus, cluster: "c1", nodeId, clock, sweepIntervalMs: 0 });
  return { bucket, bus, clock, a: store("a"), b: store("b"), c: store("c") };
}

const task = (taskId: string, owner = "app#D#1", ttlMs: number | null = 60_000): NewTask => ({
  scope: "app/D",
  taskId,
  principal: "alice",
  owner,
  ttlMs,
  pollIntervalMs: 100,
});
const ref = (taskId: string, principal: string | null = "alice") => ({ scope: "app/D", taskId, principal });

async function next(it: AsyncIterator<TaskSignal>): Promise<TaskSignal> {
  return (await Promise.race([it.next(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no signal")), 1_000))])).value;
}

describe("KvTaskStore", () => {
  it("a task created on one node is read, answered and cancelled on another; the owner hears both", async () => {
    const { a, b } = cluster();
    await Promise.all([a.start(), b.start()]);
    const watch = a.watch("app#D#1", new AbortController().signal)[Symbol.asyncIterator]();
    await a.create(task("t1"));
    expect(await b.get(ref("t1"))).toMatchObject({ status: "working", owner: "app#D#1" });
    expect(await b.get(ref("t1", "mallory"))).toBeUndefined();
    expect(await b.get({ ...ref("t1"), scope: "app/Other" })).toBeUndefined();
    await a.update("app/D", "t1", { kind: "input", inputRequests: { ok: { method: "elicitation/create" } } });
    expect((await b.respond(ref("t1"), { ok: { action: "accept" } }))?.status).toBe("working");
    expect(await next(watch)).toEqual({ kind: "input", taskId: "t1", inputResponses: { ok: { action: "accept" } } });
    expect((await b.cancel(ref("t1")))?.status).toBe("cancelled");
    expect(await next(watch)).toEqual({ kind: "cancelled", taskId: "t1" });
    // The owner's late outcome is ignored; the record stays cancelled everywhere.
    expect((await a.update("app/D", "t1", { kind: "completed", result: { content: [] } }))?.status).toBe("cancelled");
    await expect(a.create(task("t1"))).rejects.toThrow(/already exists/);
  });

  it("writes are compare-and-set: a conflicting writer makes it read again and retry", async () => {
    const { a, b, bucket } = cluster();
    await a.create(task("t1"));
    bucket.conflicts = 3;
    expect((await b.update("app/D", "t1", { kind: "status", statusMessage: "half" }))?.statusMessage).toBe("half");
    expect(bucket.conflicts).toBe(0);
    expect(bucket.updates).toBe(1);
  });

  it("a dead node's unfinished tasks fail exactly once, whoever of the survivors gets there", async () => {
    const { a, b, c, bucket } = cluster();
    await a.create(task("run"));
    await a.create(task("done"));
    await a.update("app/D", "done", { kind: "completed", result: { content: [] } });
    await b.create(task("theirs", "app#D#2"));
    const error = { code: -32603, message: "The node running the task (a) died" };
    const [nb, nc] = await Promise.all([b.failNode("a", error), c.failNode("a", error)]);
    expect(nb + nc).toBe(1);
    expect(await c.get(ref("run"))).toMatchObject({ status: "failed", error, statusMessage: error.message });
    expect((await c.get(ref("done")))?.status).toBe("completed");
    expect((await c.get(ref("theirs")))?.status).toBe("working");
    expect(bucket.has("owner.YQ.")).toBe(false);
    expect(await b.failNode("a", error)).toBe(0);
  });

  it("a node that restarts with the same id fails what its earlier run left unfinished", async () => {
    const { a, bucket, bus, clock } = cluster();
    await a.create(task("t1"));
    const again = new KvTaskStore({ bucket, bus, cluster: "c1", nodeId: "a", clock, sweepIntervalMs: 0 });
    await again.start();
    expect((await again.get(ref("t1")))?.error?.message).toMatch(/node running the task \(a\) restarted/);
  });

  it("fails the tasks of a local replica that is gone, and only those", async () => {
    const { a } = cluster();
    await a.create(task("t1", "r1"));
    await a.create(task("t2", "r2"));
    expect(await a.failOwnedBy("r1", { code: -32603, message: "gone" })).toBe(1);
    expect((await a.get(ref("t1")))?.status).toBe("failed");
    expect((await a.get(ref("t2")))?.status).toBe("working");
  });

  it("TTL: an expired task reads as unknown anywhere; the owner's sweep deletes it and tells the owner", async () => {
    const { a, b, clock } = cluster();
    await a.start();
    const watch = a.watch("app#D#1", new AbortController().signal)[Symbol.asyncIterator]();
    await a.create(task("short", "app#D#1", 500));
    await a.create(task("long", "app#D#1", null));
    clock.t += 500;
    expect(await b.get(ref("short"))).toBeUndefined();
    expect(await b.get(ref("long"))).toMatchObject({ status: "working", ttlMs: null });
    expect(await a.expire()).toBe(0); // b's read already deleted it (and told the owner's node)
    expect(await next(watch)).toEqual({ kind: "expired", taskId: "short" });
    await a.create(task("short2", "app#D#1", 500));
    clock.t += 500;
    expect(await a.expire()).toBe(1);
    expect(await next(watch)).toEqual({ kind: "expired", taskId: "short2" });
  });

  it("a record over the bus's max payload is refused before the record changes", async () => {
    const { a, bus } = cluster();
    bus.maxPayload = 2_000;
    await a.create(task("t1"));
    await expect(a.update("app/D", "t1", { kind: "completed", result: { text: "x".repeat(4_000) } })).rejects.toThrow(/max_payload/);
    expect((await a.get(ref("t1")))?.status).toBe("working");
  });
});
