import { describe, expect, it } from "vitest";
import { ErrorCode } from "../../../src/errors.ts";
import { appSpec, harness, target } from "./controller-helpers.ts";
import { flush } from "./fakes.ts";

describe("Controller", () => {
  it("starts replicas toward numReplicas and reports them running", async () => {
    const h = harness();
    h.controller.deployApplication(appSpec([target("D", { numReplicas: 2 })]));
    await h.tick();
    expect(h.states("D")).toEqual({ STARTING: 2 });
    expect(h.controller.applicationStatus("app")!.status).toBe("DEPLOYING");
    h.fakes.of("D")[0]!.succeedStart();
    await h.tick();
    expect(h.states("D")).toEqual({ STARTING: 1, RUNNING: 1 });
    expect(h.controller.router({ app: "app", deployment: "D" }).replicaIds).toHaveLength(1);
    h.fakes.of("D")[1]!.succeedStart();
    await h.tick();
    expect(h.states("D")).toEqual({ RUNNING: 2 });
    const app = h.controller.applicationStatus("app")!;
    expect(app.status).toBe("RUNNING");
    expect(app.deployments[0]).toMatchObject({ status: "HEALTHY", targetReplicas: 2, runningReplicas: 2 });
    expect(h.fakes.replicas).toHaveLength(2);
  });

  it("passes the replica spec: module, class, args, limits, placement", async () => {
    const h = harness({ resources: { CPU: 4, GPU: 1 } });
    const t = target("D", { maxOngoingRequests: 7, userConfig: { a: 1 }, actorOptions: { numCpus: 0.5, numGpus: 1, memoryMb: 64 } });
    t.initArgs = [1, "x"];
    h.controller.deployApplication(appSpec([t]));
    await h.tick();
    expect(h.fakes.replicas[0]!.spec).toMatchObject({
      appName: "app",
      deploymentName: "D",
      modulePath: "/nowhere/module.ts",
      exportName: "D",
      initArgs: [1, "x"],
      userConfig: { a: 1 },
      maxOngoingRequests: 7,
      gpuIds: [0],
      memoryMb: 64,
    });
    expect(h.scheduler.available).toMatchObject({ CPU: 3.5, GPU: 0 });
  });

  it("keeps a replica that cannot be placed pending, naming the short resource", async () => {
    const h = harness({ resources: { CPU: 4, GPU: 1 } });
    h.controller.deployApplication(appSpec([target("D", { numReplicas: 3, actorOptions: { numGpus: 0.5 } })]));
    await h.tick();
    expect(h.states("D")).toEqual({ STARTING: 2, PENDING: 1 });
    const d = h.controller.applicationStatus("app")!.deployments[0]!;
    expect(d.pendingResource).toBe("GPU");
    expect(d.message).toMatch(/1 replica\(s\) pending: not enough GPU/);
    expect(h.controller.applicationStatus("app")!.status).toBe("DEPLOYING");
    // Freeing a GPU share lets the pending replica start.
    h.controller.deployApplication(appSpec([target("D", { numReplicas: 3, actorOptions: { numGpus: 0.5 } })]));
    h.scheduler.available.GPU = 0.5;
    await h.tick();
    expect(h.states("D")).toEqual({ STARTING: 3 });
  });

  it("marks the deployment DEPLOY_FAILED after repeated constructor failures instead of looping", async () => {
    const h = harness();
    h.fakes.onCreate = (r) => queueMicrotask(() => r.failStart(new Error("constructor threw: bad config")));
    h.controller.deployApplication(appSpec([target("D")]));
    for (let i = 0; i < 40; i++) await h.tick(1_000);
    expect(h.fakes.replicas).toHaveLength(3);
    const app = h.controller.applicationStatus("app")!;
    expect(app.status).toBe("DEPLOY_FAILED");
    expect(app.deployments[0]!.status).toBe("DEPLOY_FAILED");
    expect(app.deployments[0]!.lastError!.message).toMatch(/bad config/);
    expect(app.deployments[0]!.message).toMatch(/failed to start 3 times/);
    expect(h.scheduler.available.CPU).toBe(100);
    // Requests fail clearly instead of waiting forever.
    const err = (await h.controller.router({ app: "app", deployment: "D" }).call("work", []).catch((e: unknown) => e)) as { code: string };
    expect(err.code).toBe(ErrorCode.DEPLOY_FAILED);
  });

  it("retries a failed deployment when it is deployed again, even unchanged", async () => {
    const h = harness();
    h.fakes.onCreate = (r) => queueMicrotask(() => r.failStart(new Error("missing env var")));
    h.controller.deployApplication(appSpec([target("D")]));
    for (let i = 0; i < 40; i++) await h.tick(1_000);
    expect(h.controller.applicationStatus("app")!.status).toBe("DEPLOY_FAILED");
    h.fakes.onCreate = (r) => queueMicrotask(() => r.succeedStart());
    h.controller.deployApplication(appSpec([target("D")]));
    await h.tick();
    await h.tick();
    expect(h.controller.applicationStatus("app")!.status).toBe("RUNNING");
    expect(h.states("D")).toEqual({ RUNNING: 1 });
  });

  it("backs off between failed starts", async () => {
    const h = harness();
    h.fakes.onCreate = (r) => queueMicrotask(() => r.failStart(new Error("nope")));
    h.controller.deployApplication(appSpec([target("D")], "app"));
    await h.tick(0); // first start
    await h.tick(0); // failure collected; retry is delayed
    await h.tick(10);
    expect(h.fakes.replicas).toHaveLength(1);
    await h.tick(200);
    expect(h.fakes.replicas).toHaveLength(2);
  });

  it("replaces a replica that died, re-routing at once", async () => {
    const h = harness({ autoStart: true });
    h.controller.deployApplication(appSpec([target("D", { numReplicas: 2 })]));
    await h.tick();
    await h.tick();
    expect(h.states("D")).toEqual({ RUNNING: 2 });
    const router = h.controller.router({ app: "app", deployment: "D" });
    const victim = h.fakes.replicas[0]!;
    victim.die("segfault");
    expect(router.hasReplica(victim.id)).toBe(false);
    h.fakes.onCreate = undefined;
    await h.tick();
    expect(h.states("D")).toEqual({ RUNNING: 1, RECOVERING: 1 });
    const d = h.controller.applicationStatus("app")!.deployments[0]!;
    expect(d.restarts).toBe(1);
    expect(d.status).toBe("UNHEALTHY");
    expect(d.lastError!.message).toMatch(/segfault/);
    h.fakes.replicas[2]!.succeedStart();
    await h.tick();
    expect(h.states("D")).toEqual({ RUNNING: 2 });
    expect(h.controller.applicationStatus("app")!.deployments[0]!.status).toBe("HEALTHY");
  });

  it("calls checkHealth on its period and replaces a replica after repeated failures", async () => {
    const h = harness();
    h.fakes.onCreate = (r) =>
      queueMicrotask(() => {
        r.succeedStart(["work", "checkHealth"]);
        r.respond = (m) => {
          if (m === "checkHealth") throw new Error("database unreachable");
        };
      });
    h.controller.deployApplication(appSpec([target("D", { healthCheckPeriodS: 1, healthCheckTimeoutS: 5 })]));
    await h.tick();
    await h.tick();
    const first = h.fakes.replicas[0]!;
    expect(h.states("D")).toEqual({ RUNNING: 1 });
    await h.tick(500);
    expect(first.probes.filter((p) => p.checkHealth)).toHaveLength(0);
    for (let i = 0; i < 3; i++) {
      await h.tick(1_000); // check sent
      await h.tick(0); // failure collected
    }
    expect(first.probes.filter((p) => p.checkHealth)).toHaveLength(3);
    expect(first.state).toBe("STOPPED");
    expect(h.fakes.replicas).toHaveLength(2);
    const d = h.controller.applicationStatus("app")!.deployments[0]!;
    expect(d.lastError!.message).toMatch(/database unreachable/);
    expect(d.restarts).toBe(1);
  });

  it("treats a health check that hangs past its timeout as a failure", async () => {
    const h = harness();
    h.fakes.onCreate = (r) => queueMicrotask(() => r.succeedStart(["work", "checkHealth"]));
    h.controller.deployApplication(appSpec([target("D", { healthCheckPeriodS: 1, healthCheckTimeoutS: 2 })]));
    await h.tick();
    await h.tick();
    const first = h.fakes.replicas[0]!;
    for (let i = 0; i < 3; i++) {
      await h.tick(1_000); // check sent, never answered
      await h.tick(1_000);
      await h.tick(1_001); // past the timeout
    }
    expect(first.state).toBe("STOPPED");
    expect(h.controller.applicationStatus("app")!.deployments[0]!.lastError!.message).toMatch(/did not answer within 2s/);
  });

  it("applies a userConfig-only change in place with reconfigure()", async () => {
    const h = harness();
    h.fakes.onCreate = (r) =>
      queueMicrotask(() => {
        r.succeedStart(["work", "reconfigure"]);
      });
    h.controller.deployApplication(appSpec([target("D", { numReplicas: 2, userConfig: { level: 1 } })]));
    await h.tick();
    await h.tick();
    h.controller.deployApplication(appSpec([target("D", { numReplicas: 2, userConfig: { level: 2 } })]));
    await h.tick();
    expect(h.states("D")).toEqual({ UPDATING: 2 });
    expect(h.controller.router({ app: "app", deployment: "D" }).replicaIds).toHaveLength(2);
    for (const r of h.fakes.replicas) {
      const call = r.pending.find((c) => c.method === "reconfigure")!;
      expect(call.args).toEqual([{ level: 2 }]);
      call.result.resolve(undefined);
    }
    await h.tick();
    expect(h.states("D")).toEqual({ RUNNING: 2 });
    expect(h.fakes.replicas).toHaveLength(2);
    expect(h.controller.applicationStatus("app")!.status).toBe("RUNNING");
  });

  it("rolls a code change through replicas, never serving with fewer than the goal", async () => {
    const h = harness({ autoStart: true });
    h.controller.deployApplication(appSpec([target("D", { numReplicas: 4 })]));
    await h.tick();
    await h.tick();
    const router = h.controller.router({ app: "app", deployment: "D" });
    expect(router.replicaIds).toHaveLength(4);
    h.controller.deployApplication(appSpec([target("D", { numReplicas: 4 }, "v2")]));
    const oldIds = new Set(h.fakes.replicas.map((r) => r.id));
    let steps = 0;
    while (steps++ < 30) {
      await h.tick();
      expect(router.replicaIds.length).toBeGreaterThanOrEqual(4);
      const s = h.states("D");
      expect((s.STARTING ?? 0) + (s.RUNNING ?? 0)).toBeLessThanOrEqual(5);
      if (h.controller.applicationStatus("app")!.status === "RUNNING") break;
    }
    await h.tick();
    expect(h.states("D")).toEqual({ RUNNING: 4 });
    expect(router.replicaIds.some((id) => oldIds.has(id))).toBe(false);
    expect(h.fakes.replicas.filter((r) => oldIds.has(r.id)).every((r) => r.state === "STOPPED")).toBe(true);
  });

  it("keeps the old version serving when the new one fails to start", async () => {
    const h = harness({ autoStart: true });
    h.controller.deployApplication(appSpec([target("D", { numReplicas: 1 })]));
    await h.tick();
    await h.tick();
    const old = h.fakes.replicas[0]!;
    h.fakes.onCreate = (r) => queueMicrotask(() => r.failStart(new Error("v2 is broken")));
    h.controller.deployApplication(appSpec([target("D", { numReplicas: 1 }, "v2")]));
    for (let i = 0; i < 40; i++) await h.tick(1_000);
    expect(h.controller.applicationStatus("app")!.status).toBe("DEPLOY_FAILED");
    expect(old.state).toBe("RUNNING");
    expect(h.controller.router({ app: "app", deployment: "D" }).replicaIds).toEqual([old.id]);
  });

  it("drains stopped replicas with the graceful shutdown timeout", async () => {
    const h = harness({ autoStart: true });
    h.controller.deployApplication(appSpec([target("D", { numReplicas: 2, gracefulShutdownTimeoutS: 7 })]));
    await h.tick();
    await h.tick();
    for (const r of h.fakes.replicas) r.autoStop = false;
    h.controller.deployApplication(appSpec([target("D", { numReplicas: 1, gracefulShutdownTimeoutS: 7 })]));
    await h.tick();
    expect(h.states("D")).toEqual({ RUNNING: 1, STOPPING: 1 });
    const stopping = h.fakes.replicas.find((r) => r.state === "STOPPING")!;
    expect(stopping.stopOptions).toEqual({ gracefulTimeoutMs: 7_000 });
    const cpuBefore = h.scheduler.available.CPU;
    stopping.stopGate.resolve();
    await h.tick();
    expect(h.states("D")).toEqual({ RUNNING: 1 });
    expect(h.scheduler.available.CPU).toBe(cpuBefore);
  });

  it("scales down replicas that are still starting first", async () => {
    const h = harness();
    h.controller.deployApplication(appSpec([target("D", { numReplicas: 3 })]));
    await h.tick();
    h.fakes.replicas[0]!.succeedStart();
    await h.tick();
    h.controller.deployApplication(appSpec([target("D", { numReplicas: 1 })]));
    await h.tick();
    expect(h.states("D")).toEqual({ RUNNING: 1, STOPPING: 2 });
    await h.tick();
    expect(h.fakes.replicas[0]!.state).toBe("RUNNING");
    expect(h.states("D")).toEqual({ RUNNING: 1 });
  });

  it("autoscales up after the upscale delay and back down after the downscale delay", async () => {
    const h = harness({ autoStart: true });
    const t = target("D", {
      maxOngoingRequests: 2,
      autoscalingConfig: { minReplicas: 1, maxReplicas: 4, targetOngoingRequests: 1, upscaleDelayS: 0.5, downscaleDelayS: 3, lookBackPeriodS: 0.3 },
    });
    h.controller.deployApplication(appSpec([t]));
    await h.tick();
    await h.tick();
    expect(h.states("D")).toEqual({ RUNNING: 1 });
    const router = h.controller.router({ app: "app", deployment: "D" });
    const calls = Array.from({ length: 4 }, () => router.call("work", []));
    await h.tick();
    expect(h.controller.applicationStatus("app")!.deployments[0]!.targetReplicas).toBe(1);
    for (let i = 0; i < 5; i++) await h.tick();
    const d = h.controller.applicationStatus("app")!.deployments[0]!;
    expect(d.targetReplicas).toBe(4);
    await h.tick();
    expect(h.states("D")).toEqual({ RUNNING: 4 });
    for (const r of h.fakes.replicas) for (const c of r.pending) c.result.resolve("ok");
    await Promise.all(calls);
    for (let i = 0; i < 25; i++) await h.tick();
    expect(h.states("D")).toEqual({ RUNNING: 4 });
    for (let i = 0; i < 10; i++) await h.tick();
    expect(h.states("D")).toEqual({ RUNNING: 1 });
  });

  it("scales from zero for the first request and back to zero when idle", async () => {
    const h = harness({ autoStart: true });
    h.controller.deployApplication(
      appSpec([target("D", { autoscalingConfig: { minReplicas: 0, maxReplicas: 2, downscaleDelayS: 1, lookBackPeriodS: 0.2 } })]),
    );
    await h.tick();
    expect(h.states("D")).toEqual({});
    expect(h.controller.applicationStatus("app")!.status).toBe("RUNNING");
    const router = h.controller.router({ app: "app", deployment: "D" });
    const answer = router.call("work", ["hello"]);
    await h.tick();
    await h.tick();
    expect(h.states("D")).toEqual({ RUNNING: 1 });
    h.fakes.replicas[0]!.pending[0]!.result.resolve("hi");
    expect(await answer).toBe("hi");
    for (let i = 0; i < 20; i++) await h.tick();
    expect(h.states("D")).toEqual({});
  });

  it("deletes an application: replicas stop, routers refuse, the app disappears", async () => {
    const h = harness({ autoStart: true });
    h.controller.deployApplication(appSpec([target("A"), target("B", { numReplicas: 2 })]));
    await h.tick();
    await h.tick();
    const router = h.controller.router({ app: "app", deployment: "B" });
    expect(h.controller.deleteApplication("app")).toBe(true);
    await h.tick();
    await h.tick();
    expect(h.controller.applicationStatus("app")).toBeUndefined();
    expect(h.fakes.replicas.every((r) => r.state === "STOPPED")).toBe(true);
    const err = (await router.call("work", []).catch((e: unknown) => e)) as { code: string };
    expect(err.code).toBe(ErrorCode.DEPLOYMENT_NOT_FOUND);
    expect(() => h.controller.router({ app: "app", deployment: "B" })).toThrow(/no application named "app"/);
    expect(h.scheduler.available.CPU).toBe(100);
  });

  it("stops deployments dropped from a redeployed application", async () => {
    const h = harness({ autoStart: true });
    h.controller.deployApplication(appSpec([target("A"), target("B")]));
    await h.tick();
    await h.tick();
    h.controller.deployApplication(appSpec([target("B")]));
    await h.tick();
    await h.tick();
    expect(h.fakes.of("A")[0]!.state).toBe("STOPPED");
    expect(h.controller.applicationStatus("app")!.deployments.map((d) => d.name)).toEqual(["B"]);
  });

  it("runs several applications and refuses a taken route prefix for HTTP apps", () => {
    const h = harness();
    const http = { kind: "fetch" as const, createHandler: () => async () => new Response(), proxyOptions: {} };
    const withHttp = (spec: ReturnType<typeof appSpec>) => ({ ...spec, ingressDefinition: http });
    h.controller.deployApplication(withHttp(appSpec([target("A", {}, "v1", "one")], "one", "/one")));
    h.controller.deployApplication(withHttp(appSpec([target("A", {}, "v1", "two")], "two", "/two")));
    expect(() => h.controller.deployApplication(withHttp(appSpec([target("A", {}, "v1", "three")], "three", "/one")))).toThrow(
      /routePrefix "\/one" is already used by application "one"/,
    );
    // Handle-only apps are never mounted, so they cannot clash.
    h.controller.deployApplication(appSpec([target("A", {}, "v1", "four")], "four", "/one"));
    expect(h.controller.applicationNames()).toEqual(["one", "two", "four"]);
  });

  it("counts a replica the factory refuses as a failed start, and keeps reconciling the others", async () => {
    const h = harness({ autoStart: true });
    const original = h.fakes.factory;
    let calls = 0;
    (h.fakes as { factory: typeof original }).factory = original;
    const controllerFactory = (spec: Parameters<typeof original>[0]) => {
      calls++;
      if (spec.deploymentName === "Bad") throw new Error("factory exploded");
      return original(spec);
    };
    const { Controller } = await import("../../../src/runtime/controller.ts");
    const c = new Controller({ clock: h.clock, replicaFactory: controllerFactory, scheduler: h.scheduler, log: h.log });
    c.deployApplication(appSpec([target("Bad"), target("Good")]));
    for (let i = 0; i < 20; i++) {
      h.clock.advance(1_000);
      c.step();
      await flush();
    }
    expect(calls).toBe(4); // Bad three times, then DEPLOY_FAILED; Good once
    expect(h.log.lines.some((l) => l.level === "error" && /app#Bad failed to deploy: factory exploded/.test(l.msg))).toBe(true);
    expect(c.applicationStatus("app")!.deployments.find((d) => d.name === "Bad")!.status).toBe("DEPLOY_FAILED");
    expect(c.applicationStatus("app")!.deployments.find((d) => d.name === "Good")!.replicaStates.RUNNING).toBe(1);
    expect(h.scheduler.available.CPU).toBe(100);
  });

  it("logs a deployment whose update throws and keeps reconciling the others", async () => {
    const h = harness({ autoStart: true });
    const place = h.scheduler.place.bind(h.scheduler);
    h.scheduler.place = (a) => {
      if (a.resources.broken) throw new TypeError("scheduler bug");
      return place(a);
    };
    h.scheduler.available.broken = 1;
    h.controller.deployApplication(appSpec([target("Bad", { actorOptions: { resources: { broken: 1 } } }), target("Good")]));
    await h.tick();
    await h.tick();
    expect(h.log.lines.some((l) => l.level === "error" && /updating app#Bad failed/.test(l.msg))).toBe(true);
    expect(h.states("Good")).toEqual({ RUNNING: 1 });
  });
});
