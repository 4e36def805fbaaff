import { afterEach, describe, expect, it } from "vitest";
import type { DeploymentHandle } from "../../../src/deployments/handle.ts";
import { Runtime } from "../../../src/runtime/runtime.ts";
import { patientApp, type Patient } from "../../fixtures/serve/workers.ts";
import { quietLogger, waitFor } from "./helpers.ts";

describe("user health checks (period 0.2 s, timeout 0.3 s)", () => {
  let runtime: Runtime | undefined;

  afterEach(async () => {
    await runtime?.shutdown();
    runtime = undefined;
  });

  async function deploy(): Promise<DeploymentHandle<Patient>> {
    runtime = await Runtime.start({ http: false, numCpus: 2, logger: quietLogger() });
    return runtime.deploy(patientApp, { name: "p" });
  }

  const deploymentStatus = () => runtime!.status().applications[0]!.deployments[0]!;

  it("replaces a replica whose checkHealth() throws", async () => {
    const patient = await deploy();
    const sick = await patient.makeUnhealthy.remote();
    await waitFor(() => {
      const d = deploymentStatus();
      return d.restarts === 1 && d.replicaStates.RUNNING === 1 && !d.replicas.some((r) => r.id === sick);
    }, "the unhealthy replica to be replaced");
    expect(deploymentStatus().lastError?.message).toMatch(/patient is unwell/);
    const fresh = await patient.whoami.remote();
    expect(fresh).not.toBe(sick);
  });

  it("replaces a replica whose checkHealth() hangs past the timeout", async () => {
    const patient = await deploy();
    const stuck = await patient.makeHang.remote();
    await waitFor(() => {
      const d = deploymentStatus();
      return d.restarts === 1 && d.replicaStates.RUNNING === 1 && !d.replicas.some((r) => r.id === stuck && r.state !== "STOPPING");
    }, "the hung replica to be replaced");
    expect(deploymentStatus().lastError?.message).toMatch(/checkHealth\(\).*(timed out|did not answer within 0.3s)/);
    expect(await patient.whoami.remote()).not.toBe(stuck);
  });
});
