// `stingray run`'s HTTP server flags and deploy roots, with a stand-in runtime: the flags (seconds)
// reach the runtime as the `http` options (ms), over a config file's `http` section; a bad
// combination is a usage error naming the option; the admin deploy action refuses a module
// outside the deploy roots.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { runCommand, type RunCommandOptions } from "../../../src/cli/commands/run.ts";
import type { CliIO } from "../../../src/cli/io.ts";
import type { RuntimeBridge, RuntimeStartOptions } from "../../../src/cli/runtime-bridge.ts";
import { createLogger } from "../../../src/observability/logger.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const ECHO = path.join(ROOT, "test/fixtures/cli/echo-app.ts");
const TMP = mkdtempSync(path.join(os.tmpdir(), "stingray-run-http-"));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

function io(): CliIO & { out: () => string } {
  const stdout = new PassThrough();
  let out = "";
  stdout.on("data", (d) => (out += d));
  return { stdout, stderr: new PassThrough(), stdin: new PassThrough(), env: {}, cwd: ROOT, out: () => out };
}

/** Runs `stingray run` against a stand-in runtime, lets `during` use it, then stops it via the admin API. */
async function runWith(target: string, options: Partial<RunCommandOptions>, during: (started: RuntimeStartOptions) => Promise<void> = async () => {}) {
  let started: RuntimeStartOptions | undefined;
  let close!: () => void;
  const bridge: RuntimeBridge = {
    address: "http://127.0.0.1:8124",
    deploy: async () => {},
    delete: async () => {},
    status: async () => ({ runtime: {}, applications: [] }),
    mcpPath: () => "/mcp",
    shutdown: async () => close(),
    closed: new Promise<void>((resolve) => (close = resolve)),
  };
  const cli = io();
  const code = runCommand(target, { host: "127.0.0.1", port: 0, progress: false, ...options }, cli, {
    startRuntime: async (o) => {
      started = o;
      return bridge;
    },
    logger: createLogger({ level: "silent" }),
    instances: null,
  });
  const stop = (async () => {
    while (!cli.out().includes("ready at")) {
      if (await Promise.race([code.then(() => true, () => true), new Promise((r) => setTimeout(() => r(false), 20))])) return;
    }
    try {
      await during(started!);
    } finally {
      await started!.admin.shutdown();
    }
  })();
  const [exit] = await Promise.all([code, stop]);
  return { exit, started: started! };
}

describe("stingray run: HTTP server options", () => {
  it("passes the flags to the runtime in ms, over the config file's http section", async () => {
    const config = path.join(TMP, "deploy.yaml");
    writeFileSync(config, `http: { port: 0, keepAliveTimeoutMs: 5000, maxConnections: 50, bodyTimeoutMs: 12000 }\napplications:\n  - name: echo\n    importPath: ${ECHO}:app\n`);
    const { exit, started } = await runWith(config, { headersTimeout: 2, maxConnections: 7, publicDashboard: true });
    expect(exit).toBe(0);
    expect(started.http).toEqual({ headersTimeoutMs: 2000, bodyTimeoutMs: 12000, keepAliveTimeoutMs: 5000, maxConnections: 7, publicDashboard: true });
  });

  it("refuses a headers timeout longer than the body timeout, naming the option", async () => {
    await expect(runWith(`${ECHO}:app`, { headersTimeout: 30 })).rejects.toMatchObject({
      exitCode: 2,
      message: 'stingray run: option "http.headersTimeoutMs" must be at most http.bodyTimeoutMs (20000), got 30000',
    });
  });
});

describe("stingray run: tracing", () => {
  it("passes the config file's tracing section to the runtime", async () => {
    const config = path.join(TMP, "traced.yaml");
    writeFileSync(config, `tracing: { serviceName: echo, endpoint: "http://127.0.0.1:4318/v1/traces" }\napplications:\n  - name: echo\n    importPath: ${ECHO}:app\n`);
    const { exit, started } = await runWith(config, {});
    expect(exit).toBe(0);
    expect(started.tracing).toEqual({ serviceName: "echo", endpoint: "http://127.0.0.1:4318/v1/traces" });
  });
});

describe("stingray run: deploy roots", () => {
  it("the admin deploy action imports nothing outside --deploy-root", async () => {
    const marker = path.join(TMP, "ran.marker");
    writeFileSync(path.join(TMP, "evil.mjs"), `import { writeFileSync } from "node:fs";\nwriteFileSync(${JSON.stringify(marker)}, "x");\nexport const app = 1;\n`);
    await runWith(`${ECHO}:app`, { deployRoot: ["test/fixtures/cli"] }, async (started) => {
      await expect(started.admin.deploy({ applications: [{ name: "evil", importPath: `${TMP}/evil.mjs:app` }] })).rejects.toMatchObject({
        code: "STINGRAY_ERR_INVALID_OPTIONS",
        message: `applications[0].importPath: no module ${TMP}/evil.mjs under the deploy roots (${path.join(ROOT, "test/fixtures/cli")}); see --deploy-root`,
      });
    });
    expect(existsSync(marker)).toBe(false);
  });

  it("refuses a --deploy-root that is not a directory", async () => {
    await expect(runWith(`${ECHO}:app`, { deployRoot: ["no/such/dir"] })).rejects.toMatchObject({ exitCode: 2, message: "--deploy-root: no/such/dir is not a directory" });
  });
});
