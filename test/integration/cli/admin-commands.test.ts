// `stingray status`, `deploy` and `shutdown` as spawned processes against a stand-in runtime: the
// real observability router (status and admin API) with recorded admin actions.

import { afterEach, describe, expect, it } from "vitest";
import path from "node:path";
import { InvalidOptionsError } from "../../../src/errors.ts";
import type { AdminActions } from "../../../src/observability/http.ts";
import { startFakeRuntime, type FakeRuntime } from "../dashboard/fake-runtime.ts";
import { FIXTURES, runCli } from "./spawn-cli.ts";

let rt: FakeRuntime | undefined;
afterEach(async () => {
  await rt?.close().catch(() => {});
  rt = undefined;
});

function recorder(overrides: Partial<AdminActions> = {}) {
  const calls = { deploy: [] as unknown[], shutdown: 0 };
  const admin: AdminActions = {
    async deploy(body) {
      calls.deploy.push(body);
      return { applications: [{ name: "echo", routePrefix: "/echo" }], deleted: [] };
    },
    shutdown() {
      calls.shutdown++;
      void rt?.close();
    },
    ...overrides,
  };
  return { admin, calls };
}

describe("stingray status", () => {
  it("prints a table of apps, deployments, replica states and resources", async () => {
    rt = await startFakeRuntime();
    const r = await runCli(["status", "--address", rt.url]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toMatch(/^stingray at http:\/\/127\.0\.0\.1:8000 · pid 4242 · up 1m \d+s$/);
    expect(r.stdout).toContain("resources: CPU 1.5/4 used · GPU 0.5/1 used");
    expect(r.stdout).toMatch(/^APP\s+ROUTE\s+STATUS\s+DEPLOYMENT\s+STATUS\s+RUNNING\s+REPLICAS BY STATE\s+RESOURCES\/REPLICA$/m);
    expect(r.stdout).toMatch(/^weather\s+\/weather\s+RUNNING\s+WeatherMCP\s+HEALTHY\s+2\/3\s+RUNNING 2, STARTING 1\s+CPU 0\.5$/m);
    expect(r.stdout).toMatch(/^translate\s+\/translate\s+DEPLOYING\s+Translator\s+UPDATING\s+0\/1\s+PENDING 1\s+CPU 1, GPU 1$/m);
    expect(r.stdout).toContain("! translate/Translator replica translate#Translator#b1: not enough GPU: requested 1, available 0.5");
  });

  it("prints the raw snapshot with --json", async () => {
    rt = await startFakeRuntime();
    const r = await runCli(["status", "--json"], { env: { STINGRAY_ADDRESS: rt.url } });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(JSON.stringify(rt.snapshot)));
  });

  it("exits 1 with a hint when no runtime answers", async () => {
    const r = await runCli(["status", "--address", "http://127.0.0.1:9"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot reach a stingray runtime at http:\/\/127\.0\.0\.1:9/);
  });
});

describe("stingray deploy", () => {
  it("posts the validated config with import paths made absolute", async () => {
    const { admin, calls } = recorder();
    rt = await startFakeRuntime({ admin });
    const r = await runCli(["deploy", "test/fixtures/cli/good.yaml", "--address", rt.url]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`deployed echo at ${rt.url}/echo`);
    expect(calls.deploy).toEqual([
      {
        applications: [
          { name: "echo", routePrefix: "/echo", importPath: `${path.join(FIXTURES, "echo-app.ts")}:app`, deployments: [{ name: "Echo", numReplicas: 2 }] },
        ],
      },
    ]);
  });

  it("shows the runtime's rejection and exits 2", async () => {
    const { admin } = recorder({
      async deploy() {
        throw new InvalidOptionsError('applications[0].deployments[0].name: no deployment "Echo" in this application');
      },
    });
    rt = await startFakeRuntime({ admin });
    const r = await runCli(["deploy", "test/fixtures/cli/good.yaml", "--address", rt.url]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('applications[0].deployments[0].name: no deployment "Echo" in this application (STINGRAY_ERR_INVALID_OPTIONS)');
  });

  it("sends the admin token from --token or STINGRAY_ADMIN_TOKEN", async () => {
    const { admin, calls } = recorder();
    rt = await startFakeRuntime({ admin, adminToken: "s3cret" });
    const denied = await runCli(["deploy", "test/fixtures/cli/good.yaml", "--address", rt.url]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/admin token/);
    const viaEnv = await runCli(["deploy", "test/fixtures/cli/good.yaml", "--address", rt.url], { env: { STINGRAY_ADMIN_TOKEN: "s3cret" } });
    expect(viaEnv.code).toBe(0);
    const viaFlag = await runCli(["deploy", "test/fixtures/cli/good.yaml", "--address", rt.url, "--token", "s3cret"]);
    expect(viaFlag.code).toBe(0);
    expect(calls.deploy).toHaveLength(2);
  });
});

describe("stingray shutdown", () => {
  it("refuses without --yes when stdin is not a terminal", async () => {
    const { admin, calls } = recorder();
    rt = await startFakeRuntime({ admin });
    const r = await runCli(["shutdown", "--address", rt.url], { input: "y\n" });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refusing to shut down without confirmation: stdin is not a terminal \(pass --yes/);
    expect(calls.shutdown).toBe(0);
  });

  it("shuts down with --yes and waits until the runtime stops answering", async () => {
    const { admin, calls } = recorder();
    rt = await startFakeRuntime({ admin });
    const r = await runCli(["shutdown", "--yes", "--address", rt.url]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`shutdown requested at ${rt.url}`);
    expect(r.stdout).toContain("stopped");
    expect(calls.shutdown).toBe(1);
  });
});

describe("stingray shutdown on a terminal", () => {
  // In-process with a stdin that claims to be a TTY: the prompt path without a pseudo-terminal.
  async function confirmWith(answer: string) {
    const { PassThrough } = await import("node:stream");
    const { shutdownCommand } = await import("../../../src/cli/commands/shutdown.ts");
    const stdin = Object.assign(new PassThrough(), { isTTY: true });
    const stdout = new PassThrough();
    let out = "";
    stdout.on("data", (d) => {
      out += d;
      if (String(d).includes("[y/N]")) stdin.write(`${answer}\n`);
    });
    const code = await shutdownCommand({ address: rt!.url, wait: false }, { stdin, stdout, stderr: new PassThrough(), env: {}, cwd: process.cwd() });
    return { code, out };
  }

  it("asks first and does nothing unless the answer is yes", async () => {
    const { admin, calls } = recorder();
    rt = await startFakeRuntime({ admin });
    const no = await confirmWith("n");
    expect(no.out).toContain(`Shut down the stingray runtime at ${rt.url} (2 application(s))? [y/N]`);
    expect(no.out).toContain("aborted");
    expect(no.code).toBe(1);
    expect(calls.shutdown).toBe(0);
    const yes = await confirmWith("yes");
    expect(yes.code).toBe(0);
    await expect.poll(() => calls.shutdown).toBe(1);
  });
});
