import { describe, expect, it } from "vitest";
import { ErrorCode, DeployFailedError } from "../../../src/errors.ts";
import { DeploymentRouter } from "../../../src/runtime/router.ts";
import { PowerOfTwoChoicesPicker } from "../../../src/runtime/replica-picker.ts";
import { replicaId } from "../../../src/runtime/ids.ts";
import { FakeReplica, flush } from "./fakes.ts";

function running(id: string, max = 100): FakeReplica {
  const r = new FakeReplica(id, undefined, max);
  r.succeedStart();
  return r;
}

function router(o: { maxOngoingRequests?: number; maxQueuedRequests?: number; maxOngoingStreams?: number; onDemand?: () => void } = {}) {
  return new DeploymentRouter({
    name: "app#D",
    maxOngoingRequests: o.maxOngoingRequests ?? 2,
    maxQueuedRequests: o.maxQueuedRequests ?? -1,
    maxOngoingStreams: o.maxOngoingStreams ?? 100,
    onDemand: o.onDemand,
  });
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

describe("DeploymentRouter", () => {
  it.each([
    { replicas: 1, max: 1, requests: 3, sent: [1], queued: 2 },
    { replicas: 2, max: 2, requests: 5, sent: [2, 2], queued: 1 },
    { replicas: 3, max: 1, requests: 2, sent: null, queued: 0 },
    { replicas: 2, max: 3, requests: 6, sent: [3, 3], queued: 0 },
  ])("never puts more than maxOngoingRequests on a replica ($replicas×$max, $requests requests)", async ({ replicas, max, requests, sent, queued }) => {
    const rs = Array.from({ length: replicas }, (_, i) => running(`r${i}`));
    const rt = router({ maxOngoingRequests: max });
    rt.setReplicas(rs);
    for (let i = 0; i < requests; i++) void rt.call("work", [i]).catch(() => {});
    await flush();
    const counts = rs.map((r) => r.ongoing);
    for (const n of counts) expect(n).toBeLessThanOrEqual(max);
    if (sent) expect(counts).toEqual(sent);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(requests - queued);
    expect(rt.queued).toBe(queued);
    expect(rt.ongoingForAutoscaling).toBe(requests);
  });

  it("sends queued requests in order as replicas free up", async () => {
    const r = running("r0");
    const rt = router({ maxOngoingRequests: 1 });
    rt.setReplicas([r]);
    const results = [1, 2, 3].map((i) => rt.call("work", [i]));
    await flush();
    expect(r.pending.map((c) => c.args[0])).toEqual([1]);
    r.pending[0]!.result.resolve("one");
    await flush();
    expect(r.pending.map((c) => c.args[0])).toEqual([2]);
    r.pending[0]!.result.resolve("two");
    await flush();
    r.pending[0]!.result.resolve("three");
    expect(await Promise.all(results)).toEqual(["one", "two", "three"]);
  });

  it("rejects with BackPressureError past maxQueuedRequests", async () => {
    const rt = router({ maxOngoingRequests: 1, maxQueuedRequests: 1 });
    rt.setReplicas([running("r0")]);
    void rt.call("work", []);
    void rt.call("work", []).catch(() => {});
    await flush();
    const err = (await rt.call("work", []).catch((e: unknown) => e)) as { code: string; message: string };
    expect(err.code).toBe(ErrorCode.BACKPRESSURE);
    expect(err.message).toMatch(/maxQueuedRequests 1/);
  });

  it("maxQueuedRequests 0 rejects as soon as every replica is full", async () => {
    const rt = router({ maxOngoingRequests: 1, maxQueuedRequests: 0 });
    rt.setReplicas([running("r0")]);
    void rt.call("work", []);
    expect(await codeOf(rt.call("work", []))).toBe(ErrorCode.BACKPRESSURE);
  });

  it("re-routes queued requests when a replica dies", async () => {
    const a = running("a");
    const b = running("b");
    const rt = router({ maxOngoingRequests: 1 });
    rt.setReplicas([a]);
    const inFlight = rt.call("work", ["first"]);
    const queued = rt.call("work", ["second"]);
    await flush();
    a.die();
    rt.removeReplica(a.id);
    expect(await codeOf(inFlight)).toBe(ErrorCode.REPLICA_DIED);
    rt.setReplicas([b]);
    await flush();
    expect(b.pending.map((c) => c.args[0])).toEqual(["second"]);
    b.pending[0]!.result.resolve("ok");
    expect(await queued).toBe("ok");
  });

  it("stops sending to a replica that left the set (draining) but lets its calls finish", async () => {
    const a = running("a");
    const b = running("b");
    const rt = router({ maxOngoingRequests: 5 });
    rt.setReplicas([a]);
    const first = rt.call("work", [1]);
    await flush();
    rt.setReplicas([b]);
    const second = rt.call("work", [2]);
    await flush();
    expect(b.pending).toHaveLength(1);
    a.pending[0]!.result.resolve("a");
    b.pending[0]!.result.resolve("b");
    expect([await first, await second]).toEqual(["a", "b"]);
  });

  it("queues while there are no replicas and signals demand (scale from zero)", async () => {
    let demand = 0;
    const rt = router({ onDemand: () => demand++ });
    const p = rt.call("work", ["x"]);
    await flush();
    expect(demand).toBe(1);
    expect(rt.ongoingForAutoscaling).toBe(1);
    const r = running("r0");
    r.respond = (_m, args) => `done ${args[0]}`;
    rt.setReplicas([r]);
    expect(await p).toBe("done x");
  });

  it("fails queued and new requests while failed with no replica", async () => {
    const rt = router();
    const p = rt.call("work", []);
    rt.setFailure(new DeployFailedError("constructor threw"));
    expect(await codeOf(p)).toBe(ErrorCode.DEPLOY_FAILED);
    expect(await codeOf(rt.call("work", []))).toBe(ErrorCode.DEPLOY_FAILED);
  });

  it("pins to a replica, and a gone pin fails with ReplicaDiedError", async () => {
    const a = running("a");
    const b = running("b");
    a.respond = () => "a";
    b.respond = () => "b";
    const rt = router();
    rt.setReplicas([a, b]);
    for (let i = 0; i < 5; i++) expect(await rt.call("work", [], { replicaId: b.id })).toBe("b");
    expect(await codeOf(rt.call("work", [], { replicaId: replicaId("nope") }))).toBe(ErrorCode.REPLICA_DIED);
  });

  it("fails a queued pinned request when its replica goes away", async () => {
    const a = running("a");
    const rt = router({ maxOngoingRequests: 1 });
    rt.setReplicas([a, running("b")]);
    void rt.call("work", [], { replicaId: a.id }).catch(() => {});
    const pinned = rt.call("work", [], { replicaId: a.id });
    await flush();
    rt.removeReplica(a.id);
    expect(await codeOf(pinned)).toBe(ErrorCode.REPLICA_DIED);
  });

  it("cancels a queued request when its signal aborts", async () => {
    const rt = router({ maxOngoingRequests: 1 });
    rt.setReplicas([running("a")]);
    void rt.call("work", []);
    const ctl = new AbortController();
    const p = rt.call("work", [], { signal: ctl.signal });
    await flush();
    expect(rt.queued).toBe(1);
    ctl.abort();
    expect(await codeOf(p)).toBe(ErrorCode.CANCELLED);
    expect(rt.queued).toBe(0);
  });

  it("times out a request that waits too long in the queue", async () => {
    const rt = router({ maxOngoingRequests: 1 });
    rt.setReplicas([running("a")]);
    void rt.call("work", []);
    const started = Date.now();
    expect(await codeOf(rt.call("work", [], { timeoutMs: 30 }))).toBe(ErrorCode.TIMEOUT);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    expect(rt.queued).toBe(0);
  });

  it("passes the remaining timeout and the signal to the replica", async () => {
    const a = running("a");
    const rt = router();
    rt.setReplicas([a]);
    const ctl = new AbortController();
    void rt.call("work", [], { timeoutMs: 5_000, signal: ctl.signal }).catch(() => {});
    await flush();
    const opts = a.pending[0]!.options!;
    expect(opts.signal).toBe(ctl.signal);
    expect(opts.timeoutMs).toBeGreaterThan(4_000);
    expect(opts.timeoutMs).toBeLessThanOrEqual(5_000);
  });

  it("re-routes a request the replica refused as busy", async () => {
    const full = running("full", 0); // refuses everything
    const ok = running("ok");
    ok.respond = () => "ok";
    const rt = new DeploymentRouter({
      name: "app#D",
      maxOngoingRequests: 5,
      maxQueuedRequests: -1,
      maxOngoingStreams: 100,
      picker: new PowerOfTwoChoicesPicker(() => 0),
    });
    rt.setReplicas([full, ok]);
    expect(await rt.call("work", [])).toBe("ok");
  });

  it("counts a stream for autoscaling only until its first item", async () => {
    const a = running("a");
    const rt = router();
    rt.setReplicas([a]);
    const opened = rt.openStream("work", []);
    await flush();
    expect(rt.ongoingForAutoscaling).toBe(1);
    a.pending[0]!.result.resolve(["head", "x", "y"]);
    const s = await opened;
    expect(s.replicaId).toBe(a.id);
    expect(s.first.value).toBe("head");
    expect(rt.ongoingForAutoscaling).toBe(0);
    expect(rt.running).toBe(1);
    const rest: unknown[] = [];
    for await (const x of s.rest) rest.push(x);
    expect(rest).toEqual(["x", "y"]);
    expect(rt.running).toBe(0);
  });

  it("frees the slot when a stream consumer breaks early", async () => {
    const a = running("a");
    a.respond = () => [1, 2, 3, 4];
    const rt = router();
    rt.setReplicas([a]);
    for await (const x of rt.stream("work", [])) {
      if (x === 2) break;
    }
    expect(rt.running).toBe(0);
  });

  it("close() fails queued and new requests", async () => {
    const rt = router();
    const p = rt.call("work", []);
    rt.close(new DeployFailedError("deleted"));
    expect(await codeOf(p)).toBe(ErrorCode.DEPLOY_FAILED);
    expect(await codeOf(rt.call("work", []))).toBe(ErrorCode.DEPLOY_FAILED);
  });
});
