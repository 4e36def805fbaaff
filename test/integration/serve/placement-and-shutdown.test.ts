import { describe, expect, it } from "vitest";
import { ErrorCode } from "../../../src/errors.ts";
import { bind, deploymentOf } from "../../../src/deployments/decorator.ts";
import { Runtime } from "../../../src/runtime/runtime.ts";
import { Worker } from "../../fixtures/serve/workers.ts";
import { quietLogger, waitFor } from "./helpers.ts";

describe("placement on the node's resource pool", () => {
  it("keeps a replica that needs a GPU pending and names the GPU in status", async () => {
    const runtime = await Runtime.start({ http: false, numCpus: 2, numGpus: 0, logger: quietLogger() });
    try {
      const gpu = deploymentOf(Worker).options({ name: "NeedsGpu", numReplicas: 1, actorOptions: { numGpus: 1 } });
      await runtime.deploy(gpu.bind(), { name: "gpu", wait: false });
      const app = runtime.status().applications[0]!;
      const d = app.deployments[0]!;
      expect(app.status).toBe("DEPLOYING");
      expect(d.replicaStates.PENDING).toBe(1);
      expect(d.pendingResource).toBe("GPU");
      expect(d.message).toMatch(/not enough GPU: requested 1, available 0/);
      expect(runtime.status().runtime.resources).toMatchObject({ total: { CPU: 2 }, available: { CPU: 2 } });
    } finally {
      await runtime.shutdown();
    }
  });

  it("reserves fractional CPUs exactly and holds back a replica that does not fit", async () => {
    const runtime = await Runtime.start({ http: false, numCpus: 1, logger: quietLogger() });
    try {
      const thirds = deploymentOf(Worker).options({ name: "Thirds", numReplicas: 4, actorOptions: { numCpus: 0.3 } });
      await runtime.deploy(thirds.bind(), { name: "cpu", wait: false });
      await waitFor(() => (runtime.status().applications[0]!.deployments[0]!.replicaStates.RUNNING ?? 0) === 3, "3 replicas");
      const d = runtime.status().applications[0]!.deployments[0]!;
      expect(d.replicaStates.PENDING).toBe(1);
      expect(d.pendingResource).toBe("CPU");
      expect(runtime.status().runtime.resources!.available.CPU).toBeCloseTo(0.1, 10);
    } finally {
      await runtime.shutdown();
    }
  });
});

describe("shutdown", () => {
  it("drains calls in flight, then refuses new ones", async () => {
    const runtime = await Runtime.start({ http: false, numCpus: 2, logger: quietLogger() });
    const handle = await runtime.deploy(bind(Worker), { name: "drain" });
    const inFlight = handle.work.remote(400);
    await waitFor(() => runtime.controller.router({ app: "drain", deployment: "Worker" }).running === 1, "the call to run");
    const stopped = runtime.shutdown();
    await expect(handle.work.remote(1)).rejects.toMatchObject({ code: ErrorCode.SHUTTING_DOWN });
    expect(await inFlight).toMatch(/^drain#Worker#/);
    await stopped;
    expect(runtime.status().applications).toEqual([]);
    await expect(runtime.deploy(bind(Worker), { name: "late" })).rejects.toMatchObject({ code: ErrorCode.SHUTTING_DOWN });
  });
});
