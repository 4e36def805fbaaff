// The liveness state machine with fakes and a fake clock (src/runtime/liveness.ts and the death
// path in deployment-state.ts): probes travel outside the request slots, so a full replica is
// still probed; only a real answer resets the failure count; a timed-out call that keeps its slot
// counts against the replica; three failures in a row take it out of routing at once, terminate
// it without a drain and replace it; a thread that will not exit is released and reported.

import { describe, expect, it } from "vitest";
import { ErrorCode, ReplicaBusyError } from "../../../src/errors.ts";
import { appSpec, harness, target, type Harness } from "./controller-helpers.ts";
import { flush, type FakeReplica } from "./fakes.ts";

// Probe every 1 s, 2 s to answer: declared dead within 3 × (1 + 2) = 9 s.
const LIVENESS = { healthCheckPeriodS: 1, healthCheckTimeoutS: 2 };
const D = { app: "app", deployment: "D" };

async function running(options: Parameters<typeof target>[1] = {}, methods?: string[]): Promise<{ h: Harness; first: FakeReplica }> {
  const h = harness({ resources: { CPU: 1 } });
  h.fakes.onCreate = (r) => queueMicrotask(() => r.succeedStart(methods));
  h.controller.deployApplication(appSpec([target("D", { ...LIVENESS, actorOptions: { numCpus: 1 }, ...options })]));
  await h.tick();
  await h.tick();
  expect(h.states("D")).toEqual({ RUNNING: 1 });
  return { h, first: h.fakes.replicas[0]! };
}

/** Advances in 250 ms steps until `done()`; returns the time it took, or fails past `limitMs`. */
async function until(h: Harness, done: () => boolean, limitMs = 30_000): Promise<number> {
  for (let t = 0; t <= limitMs; t += 250) {
    if (done()) return t;
    await h.tick(250);
  }
  throw new Error(`not done within ${limitMs} ms of fake time`);
}

describe("replica liveness", () => {
  it("probes a replica whose every slot is taken, and a probe that answers keeps it", async () => {
    const { h, first } = await running({ maxOngoingRequests: 1 });
    const router = h.controller.router(D);
    const busy = router.call("work", []);
    await flush();
    expect(first.ongoing).toBe(1);
    for (let i = 0; i < 40; i++) await h.tick(250); // 10 s: ten periods
    expect(first.probes.length).toBeGreaterThanOrEqual(9);
    expect(first.probes.every((p) => p.result.settled)).toBe(true);
    expect(h.fakes.replicas).toHaveLength(1);
    expect(router.hasReplica(first.id)).toBe(true);
    first.calls[0]!.result.resolve("done");
    expect(await busy).toBe("done");
  });

  it("declares a wedged replica dead after 3 unanswered probes: out of routing at once, in-flight calls fail, terminated without a drain, replaced", async () => {
    const { h, first } = await running({ maxOngoingRequests: 1 });
    const router = h.controller.router(D);
    const inFlight = router.call("work", []).then(
      () => ({ code: "resolved" }),
      (err: { code: string }) => err,
    );
    first.wedged = true;
    const elapsed = await until(h, () => !router.hasReplica(first.id));
    expect(elapsed).toBeLessThanOrEqual(9_000);
    expect(first.probes).toHaveLength(3);
    // Terminated, never drained: no stop() call, and the call in flight fails at once.
    expect(first.stopOptions).toBeUndefined();
    expect(first.terminatedWith?.message).toMatch(/declared dead after 3 failed liveness probes: .*did not answer the liveness probe within 2s/);
    const err = await inFlight;
    expect(err.code).toBe(ErrorCode.REPLICA_DIED);
    await h.tick();
    expect(h.fakes.replicas).toHaveLength(2);
    const d = h.controller.applicationStatus("app")!.deployments[0]!;
    expect(d.restarts).toBe(1);
    expect(d.lastError?.message).toMatch(/did not answer the liveness probe within 2s/);
    expect(h.log.lines.some((l) => l.level === "warn" && /declared dead/.test(l.msg))).toBe(true);
  });

  it("names checkHealth() when the class has one and it does not answer", async () => {
    const { h, first } = await running({}, ["work", "checkHealth"]);
    await until(h, () => first.terminatedWith !== undefined);
    expect(first.probes.every((p) => p.checkHealth)).toBe(true);
    expect(first.terminatedWith!.message).toMatch(/checkHealth\(\) did not answer within 2s/);
  });

  it("only an answered probe resets the failure count", async () => {
    const { h, first } = await running();
    first.wedged = true;
    await until(h, () => first.probes.length === 3);
    // Two failures so far (the third probe is still waiting); it answers: the count resets.
    expect(first.terminatedWith).toBeUndefined();
    first.probes[2]!.result.resolve();
    first.wedged = false;
    await h.tick(250);
    first.wedged = true;
    await until(h, () => first.probes.length === 6);
    expect(first.terminatedWith).toBeUndefined(); // failures 4 and 5 make two in a row, not five
    await until(h, () => first.terminatedWith !== undefined);
    expect(first.probes).toHaveLength(6);
  });

  it("a failed checkHealth() is a failure, and a refusal of any kind never counts as alive", async () => {
    const { h, first } = await running({}, ["work", "checkHealth"]);
    first.respond = (method) => {
      if (method === "checkHealth") throw new Error("model weights corrupted");
    };
    await until(h, () => first.terminatedWith !== undefined);
    expect(first.probes).toHaveLength(3);
    expect(h.controller.applicationStatus("app")!.deployments[0]!.lastError?.message).toBe("model weights corrupted");
  });

  it("a probe refused as busy is a failure, never a sign of life", async () => {
    const { h, first } = await running({}, ["work", "checkHealth"]);
    first.respond = (method) => {
      if (method === "checkHealth") throw new ReplicaBusyError("at its limit");
    };
    await until(h, () => first.terminatedWith !== undefined);
    expect(first.probes).toHaveLength(3);
  });

  it("counts a timed-out call that keeps its slot against the replica once it has outlived a period", async () => {
    const { h, first } = await running({ maxOngoingRequests: 1 });
    const router = h.controller.router(D);
    const call = router.call("work", [], { timeoutMs: 100 }).then(
      () => ({ code: "resolved" }),
      (err: { code: string }) => err,
    );
    await flush();
    first.timeOut(first.calls[0]!);
    expect((await call).code).toBe(ErrorCode.TIMEOUT);
    // The caller is answered, but the slot is still taken: the router cannot use the replica.
    expect(first.ongoing).toBe(1);
    expect(first.overdueCalls.size).toBe(1);
    await until(h, () => first.terminatedWith !== undefined, 10_000);
    expect(first.probes.every((p) => p.result.settled)).toBe(true); // its event loop was fine
    expect(first.terminatedWith!.message).toMatch(/work\(\) is past its deadline and still holds a request slot/);
    await h.tick();
    expect(h.fakes.replicas).toHaveLength(2);
  });

  it("forgives a timed-out call that finishes before the next period", async () => {
    const { h, first } = await running({ maxOngoingRequests: 1 });
    const call = h.controller.router(D).call("work", [], { timeoutMs: 100 }).catch(() => undefined);
    await flush();
    first.timeOut(first.calls[0]!);
    await call;
    await h.tick(1_000);
    first.finishLate(first.calls[0]!);
    for (let i = 0; i < 40; i++) await h.tick(250);
    expect(first.terminatedWith).toBeUndefined();
    expect(h.fakes.replicas).toHaveLength(1);
  });

  it("re-routes queued requests to the replacement", async () => {
    const { h, first } = await running({ maxOngoingRequests: 1 });
    const router = h.controller.router(D);
    const stuck = router.call("work", []).then(
      () => ({ code: "resolved" }),
      (err: { code: string }) => err,
    );
    const queued = [router.call("work", ["a"]), router.call("work", ["b"])];
    expect(router.queued).toBe(2);
    first.wedged = true;
    await until(h, () => h.fakes.replicas.length === 2);
    expect((await stuck).code).toBe(ErrorCode.REPLICA_DIED);
    const replacement = h.fakes.replicas[1]!;
    replacement.respond = (_m, args) => `served ${String(args[0])}`;
    await until(h, () => router.hasReplica(replacement.id));
    // respond applies to calls made from now on; the first queued one may already be in flight
    for (const c of replacement.pending) c.result.resolve(`served ${String(c.args[0])}`);
    expect(await Promise.all(queued)).toEqual(["served a", "served b"]);
  });

  it("releases the resources of a thread that will not exit, reports it until it does", async () => {
    const { h, first } = await running();
    first.autoExit = false; // blocked in native code: terminate() cannot end it yet
    first.wedged = true;
    await until(h, () => first.terminatedWith !== undefined);
    // The replacement waits for the CPU the old thread holds (1 CPU in all) ...
    expect(h.scheduler.available.CPU).toBe(0);
    expect(h.states("D")).toMatchObject({ STOPPING: 1 });
    await until(h, () => h.controller.unkillableThreads().length === 1, 2_500);
    // ... until the 2 s exit wait has passed: then it is released and reported.
    const [t] = h.controller.unkillableThreads();
    expect(t).toMatchObject({ app: "app", deployment: "D", replica: first.id });
    expect(t!.message).toMatch(/did not exit within 2s of being terminated/);
    expect(h.log.lines.some((l) => l.level === "error" && /did not exit/.test(l.msg))).toBe(true);
    await until(h, () => h.states("D").RUNNING === undefined && h.fakes.replicas.length === 2);
    h.fakes.replicas[1]!.succeedStart();
    await until(h, () => h.states("D").RUNNING === 1);
    expect(h.controller.unkillableThreads()).toHaveLength(1);
    first.exitGate.resolve();
    await h.tick();
    expect(h.controller.unkillableThreads()).toEqual([]);
    expect(h.log.lines.some((l) => /has exited after all/.test(l.msg))).toBe(true);
  });

  it("at shutdown, terminates a replica that is not answering probes instead of draining it", async () => {
    const h = harness({ resources: { CPU: 2 } });
    h.fakes.onCreate = (r) => queueMicrotask(() => r.succeedStart());
    h.controller.deployApplication(appSpec([target("D", { ...LIVENESS, numReplicas: 2, gracefulShutdownTimeoutS: 20 })]));
    await h.tick();
    await h.tick();
    const [wedged, healthy] = h.fakes.replicas as [FakeReplica, FakeReplica];
    wedged.wedged = true;
    await until(h, () => wedged.probes.length === 2); // the first probe timed out
    expect(wedged.terminatedWith).toBeUndefined();
    await h.controller.shutdown();
    expect(wedged.stopOptions).toBeUndefined();
    expect(wedged.terminatedWith?.message).toMatch(/terminated at shutdown: its thread does not answer the liveness probe/);
    expect(healthy.stopOptions).toEqual({ gracefulTimeoutMs: 20_000 });
    expect(healthy.terminatedWith).toBeUndefined();
  });

  it("bounds a graceful stop whose thread never exits, so shutdown cannot hang on it", async () => {
    const { h, first } = await running({ gracefulShutdownTimeoutS: 1 });
    first.autoStop = false; // stop() never finishes
    h.controller.deleteApplication("app");
    const elapsed = await until(h, () => h.controller.applicationStatus("app") === undefined);
    // 1 s graceful timeout + 2 s exit wait.
    expect(elapsed).toBeGreaterThanOrEqual(3_000);
    expect(elapsed).toBeLessThanOrEqual(3_500);
    expect(h.scheduler.available.CPU).toBe(1);
    expect(h.controller.unkillableThreads()[0]!.message).toMatch(/its graceful stop/);
  });
});
