import { describe, expect, it } from "vitest";
import { ErrorCode, ReplicaStartError } from "../../../src/errors.ts";
import { fixture, newActor, rejection, spec, stopAfterEach } from "./helpers.ts";

stopAfterEach();

describe("replica start", () => {
  it("starts a TypeScript class with top-level await, constructor args, async init and userConfig", async () => {
    const actor = newActor(
      spec({
        modulePath: fixture("counter.ts"),
        exportName: "Counter",
        initArgs: [{ start: 10, label: "ts" }],
        userConfig: { threshold: 3 },
        gpuIds: [1],
        resources: { CPU: 0.5, GPU: 0.5 },
      }),
    );
    expect(actor.state).toBe("NEW");
    await actor.start();
    expect(actor.state).toBe("RUNNING");
    expect(await actor.call("add", [5])).toBe(15);
    expect(await actor.call("describe", [])).toEqual({
      label: "ts",
      initialized: true,
      config: { threshold: 3 },
      loadedAt: "number",
    });
    expect(await actor.call("context", [])).toEqual({
      replicaId: actor.id,
      appName: "test-app",
      deploymentName: "Counter",
      gpuIds: [1],
      resources: { CPU: 0.5, GPU: 0.5 },
    });
  });

  it("lists callable methods along the prototype chain, without constructor, init or getters", async () => {
    const actor = newActor(spec({ modulePath: fixture("counter.ts"), exportName: "Counter", initArgs: [{ start: 0, label: "m" }] }));
    await actor.start();
    expect(actor.methods.has("add")).toBe(true);
    expect(actor.methods.has("count")).toBe(true);
    expect(actor.methods.has("inherited")).toBe(true);
    expect(actor.methods.has("reconfigure")).toBe(true);
    expect(actor.methods.has("constructor")).toBe(false);
    expect(actor.methods.has("init")).toBe(false);
    expect(actor.methods.has("computed")).toBe(false);
    expect(actor.methods.has("toString")).toBe(false);
    expect(await actor.call("inherited", [])).toBe("from base");
  });

  it("does not call reconfigure when no userConfig is given", async () => {
    const actor = newActor(spec({ modulePath: fixture("counter.ts"), exportName: "Counter", initArgs: [{ start: 0, label: "n" }] }));
    await actor.start();
    expect(await actor.call("describe", [])).toMatchObject({ config: "none" });
  });

  it("starts a plain JavaScript class, by name or as the default export", async () => {
    const named = newActor(spec({ modulePath: fixture("plain.js"), exportName: "Plain", initArgs: ["Hello"] }));
    const byDefault = newActor(spec({ modulePath: fixture("plain.js"), exportName: "default", initArgs: ["Hi"] }));
    await Promise.all([named.start(), byDefault.start()]);
    expect(await named.call("greet", ["Ada"])).toBe("Hello, Ada!");
    expect(await byDefault.call("greet", ["Bob"])).toBe("Hi, Bob!");
  });

  it("accepts a file: URL as the module path", async () => {
    const actor = newActor(
      spec({ modulePath: new URL("../../fixtures/actors/plain.js", import.meta.url).href, exportName: "Plain", initArgs: ["Hey"] }),
    );
    await actor.start();
    expect(await actor.call("greet", ["you"])).toBe("Hey, you!");
  });

  it("unwraps deployment wrappers and falls back to the deployment registry", async () => {
    const wrapped = newActor(spec({ modulePath: fixture("start-cases.ts"), exportName: "wrappedDeployment" }));
    const bound = newActor(spec({ modulePath: fixture("start-cases.ts"), exportName: "boundApp" }));
    const registered = newActor(spec({ modulePath: fixture("start-cases.ts"), exportName: "RegisteredOnly" }));
    await Promise.all([wrapped.start(), bound.start(), registered.start()]);
    expect(await wrapped.call("ping", [])).toBe("wrapped pong");
    expect(await bound.call("ping", [])).toBe("wrapped pong");
    expect(await registered.call("ping", [])).toBe("registered pong");
    expect(await wrapped.call("hasTransport", [])).toBe(true);
  });

  it.each([
    ["ConstructorThrows", undefined, "its constructor threw: bad constructor argument", "TypeError", true],
    ["InitThrows", undefined, "its init() failed: could not load the model", "Error", true],
    ["ReconfigureThrows", { threshold: -1 }, "reconfigure(userConfig) failed: threshold must be >= 0", "RangeError", true],
    ["NoReconfigure", { threshold: 1 }, "NoReconfigure has no reconfigure(userConfig) method", "TypeError", false],
    ["Missing", undefined, 'its class was not found: cannot find class "Missing"', "TypeError", false],
    ["notAClass", undefined, "the export is a number, not a class", "TypeError", false],
  ])("reports a start failure of %s with the cause", async (exportName, userConfig, message, causeName, thrownByUser) => {
    const actor = newActor(spec({ modulePath: fixture("start-cases.ts"), exportName, userConfig }));
    const err = await rejection(actor.start());
    expect(err).toBeInstanceOf(ReplicaStartError);
    expect(err.code).toBe(ErrorCode.REPLICA_START_FAILED);
    expect(err.message).toContain(message);
    expect((err.cause as Error).name).toBe(causeName);
    if (thrownByUser) expect((err.cause as Error).stack).toContain("start-cases.ts");
    expect(actor.state).toBe("DEAD");
    expect((await rejection(actor.call("ping", []))).code).toBe(ErrorCode.REPLICA_DIED);
  });

  it("reports a module that throws while being imported", async () => {
    const actor = newActor(spec({ modulePath: fixture("import-throws.ts"), exportName: "Never" }));
    const err = await rejection(actor.start());
    expect(err.code).toBe(ErrorCode.REPLICA_START_FAILED);
    expect(err.message).toContain("importing its module failed: module top level failed");
  });

  it("reports a module that does not exist", async () => {
    const actor = newActor(spec({ modulePath: fixture("no-such-module.ts"), exportName: "X" }));
    const err = await rejection(actor.start());
    expect(err.code).toBe(ErrorCode.REPLICA_START_FAILED);
    expect(err.message).toContain("importing its module failed");
    expect(err.message).toContain("no-such-module.ts");
  });

  it("refuses constructor arguments that cannot cross threads", async () => {
    const actor = newActor(spec({ modulePath: fixture("plain.js"), exportName: "Plain", initArgs: [() => "nope"] }));
    const err = await rejection(actor.start());
    expect(err.code).toBe(ErrorCode.REPLICA_START_FAILED);
    expect(err.message).toContain("initArgs and userConfig must be structured-clone safe");
  });

  it("can be stopped while init() is still running", async () => {
    const actor = newActor(spec({ modulePath: fixture("start-cases.ts"), exportName: "HangsInInit" }));
    const started = rejection(actor.start());
    await actor.stop();
    const err = await started;
    expect(err.code).toBe(ErrorCode.REPLICA_START_FAILED);
    expect(err.message).toContain("stopped before it finished starting");
    expect(actor.state).toBe("STOPPED");
  });

  it("validates its options", async () => {
    expect(() => newActor(spec({ modulePath: fixture("plain.js"), exportName: "Plain", maxOngoingRequests: 0 }))).toThrow(
      /maxOngoingRequests must be a whole number >= 1/,
    );
    expect(() => newActor(spec({ modulePath: fixture("plain.js"), exportName: "Plain", memoryMb: -5 }))).toThrow(
      /memoryMb must be a number > 0/,
    );
  });
});
