// Runtime-owned liveness with real worker threads (issue 11, part 1): a replica whose thread is
// wedged (a synchronous loop that never yields, or a call blocked in native code) is noticed by the
// runtime's own probe, taken out of routing, terminated without a drain and replaced; a thread that
// will not exit is reported and fails /-/ready; shutdown stays bounded. Fixtures: ../../fixtures/serve/wedge.ts
// (2 replicas or 1, one slot each, probe every 0.5 s, 1 s timeout, 1 s graceful timeout).

import { afterEach, describe, expect, it } from "vitest";
import { ErrorCode } from "../../../src/errors.ts";
import { Runtime } from "../../../src/runtime/runtime.ts";
import { checkedWedgeableApp, wedgeableApp } from "../../fixtures/serve/wedge.ts";
import { errorCode, quietLogger, waitFor } from "./helpers.ts";

interface Settled {
  ok: boolean;
  value?: unknown;
  code?: string;
  message?: string;
}

function settle(p: Promise<unknown>): Promise<Settled> {
  return p.then(
    (value) => ({ ok: true, value }),
    (err: unknown) => ({ ok: false, code: errorCode(err), message: (err as Error).message }),
  );
}

describe("runtime-owned replica liveness", () => {
  let runtime: Runtime | undefined;
  let logger: ReturnType<typeof quietLogger>;

  afterEach(async () => {
    await runtime?.shutdown();
    runtime = undefined;
  });

  async function start(http = false): Promise<Runtime> {
    logger = quietLogger();
    runtime = await Runtime.start({ http: http ? { port: 0 } : false, numCpus: 2, logger });
    return runtime;
  }

  const deployment = (app: string) => runtime!.status().applications.find((a) => a.name === app)!.deployments[0]!;

  /** The replica running a call right now (one slot each, so ongoing 1 means "this one"). */
  async function busyReplica(app: string): Promise<string> {
    let id: string | undefined;
    await waitFor(() => {
      id = deployment(app).replicas.find((r) => (r.ongoing ?? 0) > 0)?.id;
      return id !== undefined;
    }, "a replica to take the call");
    return id!;
  }

  it("replaces a replica wedged in a busy loop that has no checkHealth(); its in-flight call fails with ReplicaDiedError", async () => {
    const rt = await start();
    const handle = await rt.deploy(wedgeableApp, { name: "w" });
    const wedge = settle(handle.spin.remote(60_000));
    const wedged = await busyReplica("w");
    const t0 = Date.now();
    // Requests keep succeeding on the other replica meanwhile; none reaches the wedged one.
    const meanwhile = await Promise.all(Array.from({ length: 6 }, () => settle(handle.work.remote(20))));
    expect(meanwhile.every((r) => r.ok && r.value !== wedged)).toBe(true);

    await waitFor(() => !rt.controller.isReplicaRoutable(wedged as never), "the wedged replica to leave routing");
    const outOfRoutingMs = Date.now() - t0;
    // 3 × (healthCheckPeriodS + healthCheckTimeoutS) = 4.5 s, plus slack for a loaded CI machine.
    expect(outOfRoutingMs).toBeLessThan(9_000);
    const failed = await wedge;
    expect(failed.ok).toBe(false);
    expect(failed.code).toBe(ErrorCode.REPLICA_DIED);
    expect(failed.message).toMatch(/liveness probe/);

    await waitFor(() => {
      const d = deployment("w");
      return d.restarts === 1 && d.replicaStates.RUNNING === 2 && !d.replicas.some((r) => r.id === wedged);
    }, "a replacement to run");
    expect(deployment("w").lastError?.message).toMatch(/did not answer the liveness probe within 1s/);
    const ids = new Set(await Promise.all(Array.from({ length: 10 }, () => handle.work.remote(5))));
    expect(ids.has(wedged)).toBe(false);
    expect(ids.size).toBe(2);
    expect(logger.lines.join("")).toMatch(/declared dead/);
  }, 30_000);

  it("with checkHealth() at maxOngoingRequests=1, replaces a wedged replica and re-routes its queued calls to the replacement", async () => {
    const rt = await start();
    const handle = await rt.deploy(checkedWedgeableApp, { name: "c" });
    const router = rt.controller.router({ app: "c", deployment: "CheckedWedgeable" });
    const wedge = settle(handle.spin.remote(60_000));
    const wedged = await busyReplica("c");
    // The only replica is full: these wait in the router's queue and never reach it.
    const queued = Array.from({ length: 4 }, () => settle(handle.work.remote(10)));
    await waitFor(() => router.queued === 4, "calls to queue");

    const results = await Promise.all(queued);
    for (const r of results) {
      expect(r).toMatchObject({ ok: true });
      expect(r.value).not.toBe(wedged);
    }
    expect(await wedge).toMatchObject({ ok: false, code: ErrorCode.REPLICA_DIED });
    expect(deployment("c").restarts).toBe(1);
    expect(deployment("c").lastError?.message).toMatch(/checkHealth\(\)|liveness probe/);
  }, 30_000);

  it("replaces a replica whose timed-out call never finishes and keeps its only slot", async () => {
    const rt = await start();
    const handle = await rt.deploy(checkedWedgeableApp, { name: "l" });
    const first = await handle.whoami.remote();
    const leaked = await settle(handle.options({ timeoutMs: 200 }).leak.remote());
    expect(leaked.code).toBe(ErrorCode.TIMEOUT);
    // The replica's event loop is fine and checkHealth() passes, but its one slot is gone for good.
    await waitFor(() => deployment("l").restarts === 1 && deployment("l").replicaStates.RUNNING === 1, "the replica to be replaced");
    expect(deployment("l").lastError?.message).toMatch(/leak\(\) .*past its deadline/);
    expect(await handle.whoami.remote()).not.toBe(first);
  }, 30_000);

  it("serve.shutdown() finishes within the graceful timeout while a thread is blocked in native code", async () => {
    const rt = await start();
    const handle = await rt.deploy(wedgeableApp, { name: "s" });
    const blocked = settle(handle.blockInNativeCode.remote(15));
    await busyReplica("s");
    const t0 = Date.now();
    await rt.shutdown();
    const elapsedMs = Date.now() - t0;
    runtime = undefined;
    // gracefulShutdownTimeoutS 1 + the 2 s bounded wait for the thread to exit; the thread itself
    // stays blocked for 15 s.
    expect(elapsedMs).toBeLessThan(8_000);
    expect(await blocked).toMatchObject({ ok: false });
    expect(logger.lines.join("")).toMatch(/did not exit/);
  }, 30_000);

  it("serve.shutdown() finishes within the graceful timeout with a replica in a busy loop", async () => {
    const rt = await start();
    const handle = await rt.deploy(wedgeableApp, { name: "b" });
    const spinning = settle(handle.spin.remote(60_000));
    await busyReplica("b");
    const t0 = Date.now();
    await rt.shutdown();
    runtime = undefined;
    expect(Date.now() - t0).toBeLessThan(6_000);
    expect(await spinning).toMatchObject({ ok: false });
  }, 30_000);

  it("a thread that will not exit fails /-/ready (not /-/healthz), shows in status and metrics, and clears once it exits", async () => {
    const rt = await start(true);
    const handle = await rt.deploy(wedgeableApp, { name: "r", routePrefix: null });
    const base = rt.address!;
    const ready = async () => {
      const res = await fetch(`${base}/-/ready`);
      return { status: res.status, body: (await res.json()) as { status: string; reasons?: string[] } };
    };
    expect(await ready()).toMatchObject({ status: 200, body: { status: "ready" } });

    const blocked = settle(handle.blockInNativeCode.remote(14));
    const stuck = await busyReplica("r");
    await waitFor(async () => (await ready()).status === 503, "/-/ready to fail", 25_000);
    const notReady = await ready();
    expect(notReady.body.status).toBe("not ready");
    expect(notReady.body.reasons!.join(" ")).toContain(stuck);
    expect((await fetch(`${base}/-/healthz`)).status).toBe(200);
    expect(await blocked).toMatchObject({ ok: false, code: ErrorCode.REPLICA_DIED });

    const threads = rt.status().runtime.unkillableThreads ?? [];
    expect(threads.map((t) => t.replica)).toEqual([stuck]);
    expect(threads[0]).toMatchObject({ app: "r", deployment: "Wedgeable" });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/stingray_unkillable_threads\{app="r",deployment="Wedgeable"\} 1/);
    expect(logger.lines.join("")).toMatch(/did not exit/);
    // Its resources were released and a replacement serves.
    await waitFor(() => deployment("r").replicaStates.RUNNING === 2, "a replacement to run");
    expect(new Set(await Promise.all(Array.from({ length: 6 }, () => handle.work.remote(5)))).has(stuck)).toBe(false);

    // When the native call returns, the thread exits and the process is ready again.
    await waitFor(async () => (await ready()).status === 200, "/-/ready to recover", 25_000);
    expect(rt.status().runtime.unkillableThreads ?? []).toEqual([]);
  }, 60_000);
});
