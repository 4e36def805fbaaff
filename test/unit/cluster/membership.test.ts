import { describe, expect, it } from "vitest";
import { Membership } from "../../../src/cluster/membership.ts";
import type { NodeHeartbeat } from "../../../src/cluster/records.ts";
import { FakeClock } from "../control/fakes.ts";

function beat(nodeId: string, seq: number, extra: Partial<NodeHeartbeat> = {}): NodeHeartbeat {
  return {
    v: 1,
    nodeId,
    startedAt: 1,
    seq,
    state: "up",
    labels: {},
    resources: { total: { CPU: 2 }, available: { CPU: 2 } },
    leader: false,
    replicas: [],
    codeMismatch: [],
    ...extra,
  };
}

describe("membership from heartbeats", () => {
  it("a first heartbeat makes a node ALIVE", () => {
    const m = new Membership(new FakeClock());
    expect(m.observe(beat("a", 1))).toEqual({ id: "a", from: "ABSENT", to: "ALIVE" });
    expect(m.get("a")?.state).toBe("ALIVE");
  });

  it("silence makes a node SUSPECT after 1.5 s and DEAD after 3 s", () => {
    const clock = new FakeClock();
    const m = new Membership(clock);
    m.observe(beat("a", 1));
    clock.advance(1_400);
    expect(m.tick()).toEqual([]);
    clock.advance(200);
    expect(m.tick()).toEqual([{ id: "a", from: "ALIVE", to: "SUSPECT" }]);
    clock.advance(1_399);
    expect(m.tick()).toEqual([]);
    clock.advance(1);
    expect(m.tick()).toEqual([{ id: "a", from: "SUSPECT", to: "DEAD" }]);
    expect(m.alive()).toEqual([]);
  });

  it("regular beats keep a node ALIVE", () => {
    const clock = new FakeClock();
    const m = new Membership(clock);
    for (let seq = 1; seq <= 20; seq++) {
      m.observe(beat("a", seq));
      clock.advance(500);
      expect(m.tick()).toEqual([]);
    }
    expect(m.get("a")?.state).toBe("ALIVE");
  });

  it("a node that beats again after being DEAD is ALIVE again (it re-announces)", () => {
    const clock = new FakeClock();
    const m = new Membership(clock);
    m.observe(beat("a", 1));
    clock.advance(3_000);
    m.tick();
    expect(m.get("a")?.state).toBe("DEAD");
    expect(m.observe(beat("a", 2))).toEqual({ id: "a", from: "DEAD", to: "ALIVE" });
  });

  it("a restarted process (newer startedAt, seq from 1) is accepted; a late older beat is ignored", () => {
    const m = new Membership(new FakeClock());
    m.observe(beat("a", 50));
    expect(m.observe(beat("a", 49))).toBeUndefined();
    expect(m.get("a")?.beat.seq).toBe(50);
    m.observe(beat("a", 1, { startedAt: 2 }));
    expect(m.get("a")?.beat.seq).toBe(1);
  });

  it("a draining node is DRAINING, stays so while silent up to DEAD, and leaves on its stopped beat", () => {
    const clock = new FakeClock();
    const m = new Membership(clock);
    m.observe(beat("a", 1));
    expect(m.observe(beat("a", 2, { state: "draining" }))).toEqual({ id: "a", from: "ALIVE", to: "DRAINING" });
    clock.advance(2_000);
    expect(m.tick()).toEqual([]);
    expect(m.observe(beat("a", 3, { state: "stopped" }))).toEqual({ id: "a", from: "DRAINING", to: "GONE" });
    expect(m.nodes()).toEqual([]);
  });

  it("a call timeout makes a node SUSPECT until a newer heartbeat", () => {
    const m = new Membership(new FakeClock());
    m.observe(beat("a", 7));
    expect(m.suspect("a")).toEqual({ id: "a", from: "ALIVE", to: "SUSPECT" });
    expect(m.observe(beat("a", 7))).toBeUndefined();
    expect(m.get("a")?.state).toBe("SUSPECT");
    expect(m.observe(beat("a", 8))).toEqual({ id: "a", from: "SUSPECT", to: "ALIVE" });
  });

  it("forgets a DEAD node after a minute", () => {
    const clock = new FakeClock();
    const m = new Membership(clock);
    m.observe(beat("a", 1));
    clock.advance(3_000);
    m.tick();
    clock.advance(57_000);
    expect(m.tick()).toEqual([{ id: "a", from: "DEAD", to: "GONE" }]);
    expect(m.get("a")).toBeUndefined();
  });
});
