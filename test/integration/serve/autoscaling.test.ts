import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bind, deploymentOf } from "../../../src/deployments/decorator.ts";
import { Runtime } from "../../../src/runtime/runtime.ts";
import { Elastic } from "../../fixtures/serve/workers.ts";
import { quietLogger, waitFor } from "./helpers.ts";

describe("autoscaling with real replicas", () => {
  let runtime: Runtime;

  beforeAll(async () => {
    runtime = await Runtime.start({ http: false, numCpus: 2, logger: quietLogger() });
  });

  afterAll(async () => {
    await runtime?.shutdown();
  });

  const status = (app: string) => runtime.status().applications.find((a) => a.name === app)!.deployments[0]!;

  it("adds replicas under sustained load and removes them after the downscale delay", async () => {
    const handle = await runtime.deploy(bind(Elastic), { name: "up" });
    expect(status("up").replicaStates.RUNNING).toBe(1);
    let stop = false;
    const served = new Set<string>();
    const client = async () => {
      while (!stop) served.add(await handle.work.remote(50));
    };
    const clients = Array.from({ length: 6 }, client);
    const upMs = await waitFor(() => status("up").replicaStates.RUNNING === 3, "3 running replicas", 20_000);
    // Keep the load on until the new replicas have served requests.
    await waitFor(() => served.size === 3, "requests on every replica", 10_000);
    stop = true;
    await Promise.all(clients);
    expect(status("up").targetReplicas).toBe(3);
    const downMs = await waitFor(() => status("up").replicaStates.RUNNING === 1 && status("up").targetReplicas === 1, "scale down to 1", 20_000);
    // downscaleDelayS is 1 s: not before it, and not long after on a loaded machine.
    expect(downMs).toBeGreaterThanOrEqual(900);
    console.log(`autoscaling: 1 -> 3 replicas in ${upMs} ms, back to 1 in ${downMs} ms after load stopped`);
  });

  it("scales from zero: the first request waits for a replica instead of failing", async () => {
    const zero = deploymentOf(Elastic).options({
      name: "Zero",
      autoscalingConfig: { minReplicas: 0, maxReplicas: 1, downscaleDelayS: 0.5, lookBackPeriodS: 0.2 },
    });
    const handle = await runtime.deploy(zero.bind(), { name: "zero" });
    expect(status("zero").replicaStates.RUNNING ?? 0).toBe(0);
    expect(status("zero").status).toBe("HEALTHY");
    const replica = await handle.work.remote(1);
    expect(replica).toMatch(/^zero#Zero#/);
    await waitFor(() => (status("zero").replicaStates.RUNNING ?? 0) === 0 && status("zero").replicas.length === 0, "scale back to zero", 20_000);
  });

  it("does not let a long-lived stream pin the scale", async () => {
    const { Streamer } = await import("../../fixtures/serve/streamer.ts");
    const handle = await runtime.deploy(bind(Streamer), { name: "stream" });
    const stream = handle.options({ stream: true }).ticks.remote(20_000);
    const it = stream[Symbol.asyncIterator]();
    expect((await it.next()).value).toBe(0);
    // One idle stream, target 1 per replica, min 0: the stream keeps its replica busy but the
    // autoscaler, counting only requests that have not produced anything yet, lets it go to 0.
    await waitFor(() => status("stream").targetReplicas === 0, "the target to drop to 0", 20_000);
    // Past the graceful drain the replica stops and the stream ends with an error, not a hang.
    await expect(
      (async () => {
        for (;;) if ((await it.next()).done) return "ended";
      })(),
    ).rejects.toMatchObject({ code: "STINGRAY_ERR_REPLICA_STOPPED" });
  });
});
