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
