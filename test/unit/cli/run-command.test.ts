import { EventEmitter } from "node:events";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { runCommand, type RunCommandOptions } from "../../../src/cli/commands/run.ts";
import type { CliIO } from "../../../src/cli/io.ts";
import type { RuntimeBridge, RuntimeStartOptions } from "../../../src/cli/runtime-bridge.ts";
import type { Application } from "../../../src/deployments/deployment.ts";
import { DeployFailedError } from "../../../src/errors.ts";
import { createLogger } from "../../../src/observability/logger.ts";
import type { StatusSnapshot } from "../../../src/observability/status.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const silent = createLogger({ level: "silent" });
/** Instance records of the runs in this file (never the developer's ~/.local/state). */
const STATE_DIR = mkdtempSync(path.join(os.tmpdir(), "stingray-run-state-"));
afterAll(() => rmSync(STATE_DIR, { recursive: true, force: true }));

function captureIO(): CliIO & { out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (d) => (out += d));
  stderr.on("data", (d) => (err += d));
  const stdin = new PassThrough();
  return { stdout, stderr, stdin, env: { STINGRAY_STATE_DIR: STATE_DIR }, cwd: ROOT, out: () => out, err: () => err };
}

/** A runtime whose deployments start 2 replicas: none running, then one, then both when deploy resolves. */
class FakeRuntime implements RuntimeBridge {
  readonly address = "http://127.0.0.1:8123";
  readonly deployed: Array<{ app: Application; name: string; routePrefix: string }> = [];
  shutdowns = 0;
  readonly closed: Promise<void>;
  #close!: () => void;
  #running = 0;
  constructor(
    readonly startOptions: RuntimeStartOptions,
    readonly behaviour: { deploy?: "ok" | "fail" | "hang" } = {},
  ) {
    this.closed = new Promise((r) => (this.#close = r));
  }
  async deploy(app: Application, options: { name: string; routePrefix: string }): Promise<void> {
    this.deployed.push({ app, ...options });
    if (this.behaviour.deploy === "fail") throw new DeployFailedError("Echo: constructor threw 3 times: bad weights");
    if (this.behaviour.deploy === "hang") return new Promise(() => {});
    await new Promise((r) => setTimeout(r, 250));
    this.#running = 1;
    await new Promise((r) => setTimeout(r, 250));
    this.#running = 2;
  }
  async delete(): Promise<void> {}
  async status(): Promise<StatusSnapshot> {
    const running = this.#running;
    return {
      runtime: { address: this.address },
      applications: this.deployed.map((d) => ({
        name: d.name,
        routePrefix: d.routePrefix,
        status: running === 2 ? "RUNNING" : "DEPLOYING",
        deployments: [{ name: "Echo", status: "UPDATING", targetReplicas: 2, replicaStates: { RUNNING: running, STARTING: 2 - running } }],
      })),
    };
  }
  mcpPath(): string {
    return "/mcp";
  }
  async shutdown(): Promise<void> {
    this.shutdowns++;
    this.#close();
  }
}

function harness(behaviour?: FakeRuntime["behaviour"]) {
  const signals = new EventEmitter();
  const io = captureIO();
  let runtime: FakeRuntime | undefined;
  const run = (target: string, options: Partial<RunCommandOptions> = {}) =>
    runCommand(target, { host: "127.0.0.1", port: 8123, readyTimeout: 5, ...options }, io, {
      signals: signals as unknown as Pick<NodeJS.Process, "on" | "off">,
      logger: silent,
      startRuntime: async (o) => (runtime = new FakeRuntime(o, behaviour)),
    });
  return { signals, io, run, runtime: () => runtime! };
}

async function until(cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("stingray run (in-process, fake runtime)", () => {
  it("shows progress, prints the ready line and stops gracefully on SIGTERM", async () => {
    const h = harness();
    const done = h.run("test/fixtures/cli/echo-app.ts:app", { routePrefix: "/echo", numCpus: 3, numGpus: 1 });
    await until(() => h.io.out().includes("ready at"));
    const out = h.io.out();
    expect(out).toContain('ready at http://127.0.0.1:8123/echo/mcp (application "app")');
    expect(out).toContain("dashboard at http://127.0.0.1:8123/-/dashboard");
    // Non-TTY progress: one plain line per change, ending with everything running.
    expect(out).toMatch(/starting: app\/Echo 0\/2 running \(STARTING 2\)\n/);
    expect(out).toMatch(/starting: app\/Echo 1\/2 running \(STARTING 1\)\n/);
    expect(out).toMatch(/starting: app\/Echo 2\/2 running\n/);
    expect(out).not.toContain("\x1b[");
    const rt = h.runtime();
    expect(rt.startOptions).toMatchObject({ host: "127.0.0.1", port: 8123, numCpus: 3, numGpus: 1 });
    expect(rt.deployed.map((d) => [d.name, d.routePrefix, d.app.deployment.name])).toEqual([["app", "/echo", "Echo"]]);
    expect(rt.shutdowns).toBe(0);
    h.signals.emit("SIGTERM", "SIGTERM");
    expect(await done).toBe(0);
    expect(rt.shutdowns).toBe(1);
    expect(h.io.out()).toContain("shutting down (SIGTERM)");
    expect(h.signals.listenerCount("SIGTERM")).toBe(0);
  });

  it("stops when the admin API asks it to", async () => {
    const h = harness();
    const done = h.run("test/fixtures/cli/echo-app.ts:app", { progress: false });
    await until(() => h.io.out().includes("ready at"));
    expect(h.io.out()).not.toContain("starting:");
    await h.runtime().startOptions.admin.shutdown();
    expect(await done).toBe(0);
    expect(h.io.out()).toContain("shutting down (admin API)");
  });

  it("records its address, never its token, while it runs and removes the record when it stops", async () => {
    const h = harness();
    const done = h.run("test/fixtures/cli/echo-app.ts:app", { progress: false, adminToken: "s3cret-admin-token" });
    await until(() => h.io.out().includes("ready at"));
    expect(readdirSync(STATE_DIR)).toEqual([`${process.pid}.json`]);
    const text = readFileSync(path.join(STATE_DIR, `${process.pid}.json`), "utf8");
    expect(JSON.parse(text)).toMatchObject({ pid: process.pid, address: "http://127.0.0.1:8123", target: "test/fixtures/cli/echo-app.ts:app", cwd: ROOT });
    expect(text).not.toContain("s3cret");
    expect(h.runtime().startOptions.adminToken).toBe("s3cret-admin-token");
    h.signals.emit("SIGTERM", "SIGTERM");
    expect(await done).toBe(0);
    expect(readdirSync(STATE_DIR)).toEqual([]);
  });

  it("fails with the deploy error and still shuts the runtime down", async () => {
    const h = harness({ deploy: "fail" });
    await expect(h.run("test/fixtures/cli/echo-app.ts:app")).rejects.toThrow(/constructor threw 3 times/);
    expect(h.runtime().shutdowns).toBe(1);
  });

  it("gives up after --ready-timeout saying what is still starting", async () => {
    const h = harness({ deploy: "hang" });
    await expect(h.run("test/fixtures/cli/echo-app.ts:app", { readyTimeout: 0.5 })).rejects.toMatchObject({
      exitCode: 1,
      message: expect.stringMatching(/^not ready after 0\.5s: starting: app\/Echo/),
    });
    expect(h.runtime().shutdowns).toBe(1);
  });

  it("runs a config file with its overrides and http port", async () => {
    const h = harness();
    const done = h.run("test/fixtures/cli/good.yaml", { explicit: { host: false, port: false }, port: 8000 });
    await until(() => h.io.out().includes("ready at"));
    const rt = h.runtime();
    expect(rt.deployed).toHaveLength(1);
    expect(rt.deployed[0]!.name).toBe("echo");
    expect(rt.deployed[0]!.app.deployment.config.numReplicas).toBe(2); // override of numReplicas: 1
    expect(h.io.out()).toContain('ready at http://127.0.0.1:8123/echo/mcp (application "echo")');
    h.signals.emit("SIGINT", "SIGINT");
    expect(await done).toBe(0);
  });
});
