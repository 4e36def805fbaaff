import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode } from "../../../src/errors.ts";
import type { DeploymentHandle } from "../../../src/deployments/handle.ts";
import { Runtime } from "../../../src/runtime/runtime.ts";
import { gateApp, type Gate } from "../../fixtures/serve/workers.ts";
import { quietLogger, waitFor } from "./helpers.ts";

describe("backpressure (maxOngoingRequests 1, maxQueuedRequests 1)", () => {
  let runtime: Runtime;
  let gate: DeploymentHandle<Gate>;

  beforeAll(async () => {
    runtime = await Runtime.start({ http: { port: 0 }, numCpus: 2, logger: quietLogger() });
    gate = await runtime.deploy(gateApp, { name: "gate", routePrefix: "/gate" });
  });

  afterAll(async () => {
    await runtime?.shutdown();
  });

  const router = () => runtime.controller.router({ app: "gate", deployment: "Gate" });

  it("a handle call past the queue fails with BackPressureError; the others succeed", async () => {
    const running = gate.hold.remote(1_500);
    await waitFor(() => router().running === 1, "the first call to run");
    const queued = gate.hold.remote(10);
    await waitFor(() => router().queued === 1, "the second call to queue");
    const rejected = await gate.hold.remote(10).then(
      () => undefined,
      (err: unknown) => err as { code: string; message: string },
    );
    expect(rejected?.code).toBe(ErrorCode.BACKPRESSURE);
    expect(rejected?.message).toMatch(/maxQueuedRequests 1/);
    expect(await running).toMatch(/^gate#Gate#/);
    expect(await queued).toMatch(/^gate#Gate#/);
  });

  it("HTTP answers 503 past the queue and 200 for the requests it accepted", async () => {
    const base = `${runtime.address}/gate`;
    const first = fetch(`${base}/?ms=1500`);
    await waitFor(() => router().running === 1, "the first request to run");
    const second = fetch(`${base}/?ms=10`);
    await waitFor(() => router().queued === 1, "the second request to queue");
    const third = await fetch(`${base}/?ms=10`);
    expect(third.status).toBe(503);
    await third.text();
    const [a, b] = await Promise.all([first, second]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(await a.text()).toMatch(/^done by gate#Gate#/);
    await b.text();
  });

  it("exposes routes and status over HTTP", async () => {
    const routes = await (await fetch(`${runtime.address}/-/routes`)).json();
    expect(JSON.stringify(routes)).toContain("/gate");
    const status = runtime.status();
    expect(status.runtime.address).toBe(runtime.address);
    expect(status.applications[0]!.status).toBe("RUNNING");
  });
});
