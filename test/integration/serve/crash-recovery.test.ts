import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode } from "../../../src/errors.ts";
import type { DeploymentHandle } from "../../../src/deployments/handle.ts";
import { Runtime } from "../../../src/runtime/runtime.ts";
import { workerApp, type Worker } from "../../fixtures/serve/workers.ts";
import { errorCode, quietLogger, waitFor } from "./helpers.ts";

describe("a replica that crashes mid-load", () => {
  let runtime: Runtime;
  let worker: DeploymentHandle<Worker>;

  beforeAll(async () => {
    runtime = await Runtime.start({ http: false, numCpus: 2, logger: quietLogger() });
    worker = await runtime.deploy(workerApp, { name: "w" });
  });

  afterAll(async () => {
    await runtime?.shutdown();
  });

  it("is replaced, and every request that had not reached it succeeds", async () => {
    const router = runtime.controller.router({ app: "w", deployment: "Worker" });
    // 60 requests on 2 replicas × 2 slots: most of them wait in the router's queue.
    const results = Array.from({ length: 60 }, () =>
      worker.work.remote(60).then(
        (replica) => ({ ok: true as const, replica }),
        (err: unknown) => ({ ok: false as const, code: errorCode(err), message: (err as Error).message }),
      ),
    );
    await waitFor(() => router.queued > 40, "requests to queue");
    const victim = await worker.crashSoon.remote();
    const settled = await Promise.all(results);
    const failures = settled.filter((r) => !r.ok);
    // Only calls already running on the victim may fail (at most its maxOngoingRequests), and
    // they fail with a clear ReplicaDiedError, never a hang.
    expect(failures.length).toBeLessThanOrEqual(2);
    for (const f of failures) {
      expect(f.code).toBe(ErrorCode.REPLICA_DIED);
      expect(f.message).toMatch(/crashed on purpose|died/);
    }
    expect(settled.filter((r) => r.ok).length).toBeGreaterThanOrEqual(58);
    const servedAfter = settled.filter((r) => r.ok && r.replica !== victim);
    expect(servedAfter.length).toBeGreaterThan(0);

    // The controller replaces it.
    await waitFor(() => {
      const d = runtime.status().applications[0]!.deployments[0]!;
      return d.replicaStates.RUNNING === 2 && d.restarts === 1;
    }, "the replacement to run");
    const d = runtime.status().applications[0]!.deployments[0]!;
    expect(d.replicas.map((r) => r.id)).not.toContain(victim);
    expect(d.lastError?.message).toMatch(/died/);
    const ids = new Set(await Promise.all(Array.from({ length: 20 }, () => worker.work.remote(5))));
    expect(ids.has(victim)).toBe(false);
    expect(ids.size).toBe(2);
  });
});

describe("the controller reacts to replica events without waiting for its tick", () => {
  // A tick far longer than the test: anything that happens must come from the events themselves
  // (a replica finished starting, a replica died), not from the periodic step.
  const TICK_MS = 120_000;
  let runtime: Runtime;

  beforeAll(async () => {
    runtime = await Runtime.start({ http: false, numCpus: 2, logger: quietLogger(), tickMs: TICK_MS });
  });

  afterAll(async () => {
    await runtime?.shutdown();
  });

  it("serves as soon as the replicas started, and runs a dead replica's replacement as soon as it started", async () => {
    const deployedMs = await Promise.race([
      (async () => {
        const t0 = Date.now();
        await runtime.deploy(workerApp, { name: "events" });
        return Date.now() - t0;
      })(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error("deploy waited for the controller's tick")), 40_000)),
    ]);
    const worker = runtime.getAppHandle<Worker>("events");
    const victim = await worker.crashSoon.remote();
    const status = () => runtime.status().applications.find((a) => a.name === "events")!.deployments[0]!;
    const replacedMs = await waitFor(
      () => status().restarts === 1 && status().replicaStates.RUNNING === 2 && !status().replicas.some((r) => r.id === victim),
      "the replacement to run",
      30_000,
    );
    const ids = new Set(await Promise.all(Array.from({ length: 20 }, () => worker.work.remote(5))));
    expect(ids.has(victim)).toBe(false);
    console.log(`tick ${TICK_MS} ms: deployed in ${deployedMs} ms, replacement running ${replacedMs} ms after the crash call returned`);
  }, 90_000);
});
