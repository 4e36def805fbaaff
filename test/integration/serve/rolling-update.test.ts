import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bind } from "../../../src/deployments/decorator.ts";
import { Runtime } from "../../../src/runtime/runtime.ts";
import { Versioned } from "../../fixtures/serve/workers.ts";
import { errorCode, quietLogger, waitFor } from "./helpers.ts";

describe("redeploying under load", () => {
  let runtime: Runtime;

  beforeAll(async () => {
    runtime = await Runtime.start({ http: false, numCpus: 2, logger: quietLogger() });
  });

  afterAll(async () => {
    await runtime?.shutdown();
  });

  it("rolls replicas to the new version with zero failed requests", async () => {
    const handle = await runtime.deploy(bind(Versioned, "v1"), { name: "roll" });
    const seen: string[] = [];
    const failures: string[] = [];
    let stop = false;
    const client = async () => {
      while (!stop) {
        try {
          seen.push(await handle.work.remote(15));
        } catch (err) {
          failures.push(`${errorCode(err)}: ${(err as Error).message}`);
        }
      }
    };
    const clients = Array.from({ length: 6 }, client);
    await waitFor(() => seen.length > 20, "load to start");
    const before = runtime.status().applications[0]!.deployments[0]!.replicas.map((r) => r.id);

    // Changed init args → a new code version → replicas are replaced one at a time.
    await runtime.deploy(bind(Versioned, "v2"), { name: "roll" });
    const switchedAt = seen.length;
    await waitFor(() => seen.length > switchedAt + 30, "load after the update");
    stop = true;
    await Promise.all(clients);

    expect(failures).toEqual([]);
    expect(seen.slice(0, 10).every((v) => v === "v1")).toBe(true);
    expect(seen.slice(-10).every((v) => v === "v2")).toBe(true);
    const d = runtime.status().applications[0]!.deployments[0]!;
    expect(d.status).toBe("HEALTHY");
    expect(d.replicaStates.RUNNING).toBe(2);
    // deploy() resolves once the new version serves (the controller steps as soon as the last new
    // replica runs); an old replica may still be finishing its drain then, never serving.
    const old = () => runtime.status().applications[0]!.deployments[0]!.replicas.filter((r) => before.includes(r.id));
    expect(old().every((r) => r.state === "STOPPING")).toBe(true);
    await waitFor(() => old().length === 0, "the old replicas to finish stopping", 5_000);
  });

  it("applies a userConfig change in place, without new replicas", async () => {
    const { deploymentOf } = await import("../../../src/deployments/decorator.ts");
    const { Tunable } = await import("../../fixtures/serve/tunable.ts");
    const d = deploymentOf(Tunable);
    const handle = await runtime.deploy(d.options({ userConfig: { greeting: "hello" } }).bind(), { name: "tune" });
    expect(await handle.greet.remote("ann")).toBe("hello ann");
    const replicas = () => runtime.status().applications.find((a) => a.name === "tune")!.deployments[0]!.replicas.map((r) => r.id);
    const before = replicas();
    await runtime.deploy(d.options({ userConfig: { greeting: "bonjour" } }).bind(), { name: "tune" });
    await waitFor(async () => (await handle.greet.remote("ann")) === "bonjour ann", "the new config");
    expect(replicas()).toEqual(before);
  });
});
