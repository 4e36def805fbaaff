import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serve } from "../../../src/serve.ts";
import { ErrorCode } from "../../../src/errors.ts";
import type { DeploymentHandle } from "../../../src/deployments/handle.ts";
import { app, type Adder, type Combiner } from "../../fixtures/serve/composition.ts";

describe("serve.run with real worker threads", () => {
  let handle: DeploymentHandle<Combiner>;

  beforeAll(async () => {
    await serve.start({ http: false, numCpus: 4, handleSignals: false });
    handle = await serve.run(app, { name: "math" });
  });

  afterAll(async () => {
    await serve.shutdown();
  });

  it("composes three deployments, passing a response unawaited", async () => {
    expect(await handle.compute.remote(5)).toBe(13);
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => handle.compute.remote(i)));
    expect(many).toEqual(Array.from({ length: 20 }, (_, i) => i * 2 + 3));
  });

  it("reports every deployment running in status", () => {
    const s = serve.status();
    const math = s.applications.find((a) => a.name === "math")!;
    expect(math.status).toBe("RUNNING");
    expect(math.ingressDeployment).toBe("Combiner");
    const byName = Object.fromEntries(math.deployments.map((d) => [d.name, d]));
    expect(byName.Adder).toMatchObject({ status: "HEALTHY", targetReplicas: 2, runningReplicas: 2 });
    expect(byName.Multiplier!.replicaStates.RUNNING).toBe(1);
    expect(s.runtime.resources!.total.CPU).toBe(4);
    expect(s.runtime.resources!.available.CPU).toBeCloseTo(3.6);
  });

  it("passes one handle call's response into another from the main thread", async () => {
    const adder = serve.getDeploymentHandle<Adder>("Adder", "math");
    const multiplier = serve.getDeploymentHandle<{ multiply(x: number): number }>("Multiplier", "math");
    expect(await adder.add.remote(multiplier.multiply.remote(10))).toBe(23);
  });

  it("spreads calls over an deployment's replicas", async () => {
    const adder = serve.getDeploymentHandle<Adder>("Adder", "math");
    const ids = new Set(await Promise.all(Array.from({ length: 40 }, () => adder.whoami.remote())));
    expect(ids.size).toBe(2);
  });

  it("streams a generator through a handle, across two hops", async () => {
    const items: number[] = [];
    for await (const v of handle.options({ stream: true }).pipeline.remote(4)) items.push(v);
    expect(items).toEqual([5, 7, 9, 11]);
  });

  it("cancels a call and times one out", async () => {
    const slow = handle.sleep.remote(5_000);
    setTimeout(() => slow.cancel(), 50);
    await expect(slow).rejects.toMatchObject({ code: ErrorCode.CANCELLED });
    await expect(handle.options({ timeoutMs: 100 }).sleep.remote(5_000)).rejects.toMatchObject({ code: ErrorCode.TIMEOUT });
  });

  it("gets an app handle by name and rejects unknown names", async () => {
    expect(await serve.getAppHandle<Combiner>("math").compute.remote(1)).toBe(5);
    expect(() => serve.getAppHandle("nope")).toThrow(/no application named "nope"/);
  });

  it("runs a second application beside the first and deletes it", async () => {
    const second = await serve.run(app, { name: "math2", routePrefix: "/two" });
    expect(await second.compute.remote(1)).toBe(5);
    expect(serve.status().applications.map((a) => a.name).sort()).toEqual(["math", "math2"]);
    await serve.delete("math2");
    expect(serve.status().applications.map((a) => a.name)).toEqual(["math"]);
    await expect(second.compute.remote(1)).rejects.toMatchObject({ code: ErrorCode.APP_NOT_FOUND });
  });
});
