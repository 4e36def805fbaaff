import { describe, expect, it } from "vitest";
import { LeaderLease, type LeaseEvent, type LeaseStore } from "../../../src/cluster/lease.ts";
import { FakeClock } from "../control/fakes.ts";

/** A KV key with the semantics of a JetStream KV bucket whose max age is the TTL. */
class FakeLeaseStore implements LeaseStore {
  #seq = 0;
  #value: { revision: number; writtenMs: number } | undefined;
  reachable = true;
  constructor(readonly clock: FakeClock, readonly ttlMs: number) {}
  #current() {
    if (this.#value && this.clock.now() - this.#value.writtenMs >= this.ttlMs) this.#value = undefined;
    return this.#value;
  }
  async create(): Promise<number> {
    if (!this.reachable) throw new Error("timeout");
    if (this.#current()) throw new Error("wrong last sequence: 1");
    this.#value = { revision: ++this.#seq, writtenMs: this.clock.now() };
    return this.#seq;
  }
  async update(_k: string, _v: string, revision: number): Promise<number> {
    if (!this.reachable) throw new Error("timeout");
    const cur = this.#current();
    if (!cur || cur.revision !== revision) throw new Error(`wrong last sequence: ${cur?.revision ?? 0}`);
    this.#value = { revision: ++this.#seq, writtenMs: this.clock.now() };
    return this.#seq;
  }
  async delete(_k: string, revision: number): Promise<void> {
    if (this.#current()?.revision === revision) this.#value = undefined;
  }
}

function lease(store: FakeLeaseStore, clock: FakeClock, nodeId: string, events: LeaseEvent[] = []) {
  return new LeaderLease({ store, clock, key: "leader", nodeId, timings: { ttlMs: 3_000, renewEveryMs: 1_000, acquireEveryMs: 500 }, onEvent: (e) => events.push(e) });
}

describe("leader lease", () => {
  it("exactly one of two nodes acquires it", async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore(clock, 3_000);
    const a = lease(store, clock, "a");
    const b = lease(store, clock, "b");
    await a.tick();
    await b.tick();
    expect([a.isLeader, b.isLeader]).toEqual([true, false]);
    expect(a.term).toBe(1);
  });

  it("a renewing leader keeps it; a follower takes over within TTL + 0.5 s after the leader stops", async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore(clock, 3_000);
    const a = lease(store, clock, "a");
    const b = lease(store, clock, "b");
    await a.tick();
    for (let i = 0; i < 20; i++) {
      clock.advance(250);
      await a.tick();
      await b.tick();
    }
    expect([a.isLeader, b.isLeader]).toEqual([true, false]);
    // a dies (no more ticks) right after a renewal.
    let waitedMs = 0;
    while (!b.isLeader) {
      clock.advance(250);
      waitedMs += 250;
      await b.tick();
    }
    expect(waitedMs).toBeLessThanOrEqual(3_000 + 500);
    expect(b.term).toBeGreaterThan(a.term);
  });

  it("a stale holder is fenced: its renewal fails and it steps down", async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore(clock, 3_000);
    const events: LeaseEvent[] = [];
    const a = lease(store, clock, "a", events);
    const b = lease(store, clock, "b");
    await a.tick();
    // a is frozen (SIGSTOP) past the TTL; b acquires.
    clock.advance(3_000);
    await b.tick();
    expect(b.isLeader).toBe(true);
    // Even before a's next renewal, it no longer acts: its lease may have expired.
    expect(a.isLeader).toBe(false);
    await a.tick();
    expect(events.at(-1)).toMatchObject({ kind: "lost" });
    expect(a.isLeader).toBe(false);
  });

  it("a leader that cannot reach the store stops acting before the TTL runs out", async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore(clock, 3_000);
    const a = lease(store, clock, "a");
    await a.tick();
    store.reachable = false;
    clock.advance(1_000);
    await a.tick();
    expect(a.isLeader).toBe(true);
    clock.advance(1_000);
    await a.tick();
    expect(a.isLeader).toBe(false);
  });

  it("release hands it over at once", async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore(clock, 3_000);
    const a = lease(store, clock, "a");
    const b = lease(store, clock, "b");
    await a.tick();
    await a.release();
    expect(a.isLeader).toBe(false);
    await b.tick();
    expect(b.isLeader).toBe(true);
  });
});
