// GET /-/ready with real worker threads: the process is not ready while an application is on its
// first deploy with no ingress replica running, nor when one failed to deploy; it is ready once the
// ingress serves, and stays ready through a rolling update (old replicas serve meanwhile).
// /-/healthz (liveness) answers 200 throughout.

import { afterEach, describe, expect, it } from "vitest";
import { bind } from "../../../src/deployments/decorator.ts";
import { Runtime } from "../../../src/runtime/runtime.ts";
import { NeverStarts, SlowStart } from "../../fixtures/serve/slow-start.ts";
import { quietLogger, waitFor } from "./helpers.ts";

describe("GET /-/ready", () => {
  let runtime: Runtime | undefined;

  afterEach(async () => {
    await runtime?.shutdown();
    runtime = undefined;
  });

  async function start(): Promise<{ rt: Runtime; probe: (path: string) => Promise<{ status: number; body: { status: string; reasons?: string[] } }> }> {
    runtime = await Runtime.start({ http: { port: 0 }, numCpus: 2, logger: quietLogger() });
    const base = runtime.address!;
    const probe = async (path: string) => {
      const res = await fetch(`${base}${path}`);
      return { status: res.status, body: (await res.json()) as { status: string; reasons?: string[] } };
    };
    return { rt: runtime, probe };
  }

  it("fails while an application's first replica is starting, passes once it runs, and stays ready through a redeploy", async () => {
    const { rt, probe } = await start();
    expect((await probe("/-/ready")).status).toBe(200); // nothing deployed: nothing to wait for
    const deployed = rt.deploy(bind(SlowStart, 2_000), { name: "slow", wait: true });
    await waitFor(() => rt.status().applications.some((a) => a.name === "slow"), "the deploy to register");
    const early = await probe("/-/ready");
    expect(early.status).toBe(503);
    expect(early.body.reasons).toContain("application slow is deploying (no ingress replica running yet)");
    expect((await probe("/-/healthz")).status).toBe(200);
    await deployed;
    expect(await probe("/-/ready")).toMatchObject({ status: 200, body: { status: "ready" } });

    // A code change rolls the replica; the old one serves until the new one runs.
    const redeploy = rt.deploy(bind(SlowStart, 1_500), { name: "slow", wait: true });
    const seen = new Set<number>();
    const until = Date.now() + 1_000;
    while (Date.now() < until) {
      seen.add((await probe("/-/ready")).status);
      await new Promise((r) => setTimeout(r, 100));
    }
    await redeploy;
    expect([...seen]).toEqual([200]);
  });

  it("fails when an application failed to deploy", async () => {
    const { rt, probe } = await start();
    await expect(rt.deploy(bind(NeverStarts), { name: "broken" })).rejects.toThrow(/failed to deploy/);
    const res = await probe("/-/ready");
    expect(res.status).toBe(503);
    expect(res.body.reasons).toContain("application broken failed to deploy");
    await rt.delete("broken");
    expect((await probe("/-/ready")).status).toBe(200);
  });
});
