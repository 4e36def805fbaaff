// The container's command, run on the host (no image can be built here): a directory laid out as
// the Dockerfile's final stage is, by following its instructions — the build stage's context
// files and `npm run build`, the deps stage's `npm ci --omit=dev` (offline, from the npm cache), the
// final stage's COPYs — then the image's ENTRYPOINT + CMD started there with its ENV (PORT
// changed to a free one), as `docker run` would. One deviation: the build stage gets this
// checkout's node_modules instead of running its own `npm ci` of the whole dev tree.
// Checked against it: MCP over the compiled CLI, the Deployment's probe paths, the scrape path and
// the metrics the KEDA query reads (these three at this machine's non-loopback address, as a
// Service, the kubelet and Prometheus reach a pod), the HEALTHCHECK, `stingray status` without
// --address, and SIGTERM draining an in-flight call and exiting 0.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, symlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Client, StreamableHTTPClientTransport, type CallToolResult } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  execForm,
  flagValue,
  lastOf,
  only,
  parseCopy,
  readDockerfile,
  resolveKustomization,
  ROOT,
  stageEnv,
  stageRuns,
  type ManifestObject,
  type Stage,
} from "../../fixtures/deploy-files.ts";
import { CA_ALERTS_TEXT, startFakeNws, type FakeNws } from "../../fixtures/fake-nws.ts";
import { freePort } from "../../fixtures/free-port.ts";

const SETUP_TIMEOUT_MS = 400_000;
/**
 * This machine's first non-loopback IPv4 address: kubelet probes, Prometheus scrapes and Service
 * traffic reach a pod from other addresses, never loopback (which the runtime trusts more).
 */
const POD_IP = Object.values(os.networkInterfaces())
  .flat()
  .find((i) => i && i.family === "IPv4" && !i.internal)?.address;
const WORKDIR = "/app";

const dockerfile = readDockerfile();
const final = dockerfile.stages.at(-1)!;
const deployment = only<ManifestObject>(resolveKustomization("").objects, "Deployment");
const container = deployment.spec.template.spec.containers[0];

let work: string;
let image: string;
let fake: FakeNws;
let child: ChildProcess;
let output = "";
let port: number;
let base: string;
/** The runtime as the cluster reaches it (the pod IP), or loopback on a machine without one. */
let podBase: string;
let env: NodeJS.ProcessEnv;

/** The environment of npm and the container process: none of the test runner's settings leak in. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && !key.startsWith("STINGRAY_") && !key.startsWith("VITEST") && key !== "NODE_OPTIONS") out[key] = value;
  }
  // The image's node is the one running this test.
  out.PATH = `${path.dirname(process.execPath)}${path.delimiter}${out.PATH ?? ""}`;
  return { ...out, ...extra };
}

function sh(command: string, cwd: string): void {
  const r = spawnSync("/bin/sh", ["-c", command], { cwd, env: cleanEnv(), encoding: "utf8", timeout: SETUP_TIMEOUT_MS });
  if (r.status !== 0) throw new Error(`${command} (in ${cwd}) failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
}

/** Where a path inside the image (absolute, or relative to WORKDIR) lands in a stage's directory. */
function inStage(dir: string, imagePath: string): string {
  return path.join(dir, path.relative(WORKDIR, path.resolve(WORKDIR, imagePath)));
}

/** Carries out a stage's COPY instructions into dir: from the build context, or from another stage's directory. */
function applyCopies(stage: Stage, dir: string, stageDirs: Record<string, string>): void {
  for (const ins of stage.instructions.filter((i) => i.keyword === "COPY")) {
    const copy = parseCopy(ins.args);
    const into = copy.dest.endsWith("/") || copy.sources.length > 1;
    for (const source of copy.sources) {
      const from = copy.from ? inStage(stageDirs[copy.from]!, source) : path.join(ROOT, source);
      const to = into ? path.join(inStage(dir, copy.dest), path.basename(source)) : inStage(dir, copy.dest);
      mkdirSync(path.dirname(to), { recursive: true });
      // A directory's contents go to the destination, as Docker copies them; another stage's
      // directories are moved (that stage is done), a dependency tree being large.
      if (copy.from && statSync(from).isDirectory()) renameSync(from, to);
      else cpSync(from, to, { recursive: true });
    }
  }
}

async function connect(at = base): Promise<Client> {
  const client = new Client({ name: "container-command-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${at}/mcp`)));
  return client;
}

function exited(proc: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve({ code: proc.exitCode, signal: proc.signalCode });
  return new Promise((resolve) => proc.once("exit", (code, signal) => resolve({ code, signal })));
}

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), "stingray-container-"));
  const stageDirs: Record<string, string> = {};
  for (const stage of dockerfile.stages.slice(0, -1)) {
    const dir = path.join(work, stage.name!);
    mkdirSync(dir);
    stageDirs[stage.name!] = dir;
    applyCopies(stage, dir, stageDirs);
    for (const run of stageRuns(stage)) {
      if (stage.name === "build" && /^npm ci\b/.test(run)) symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
      else sh(/^npm ci\b/.test(run) ? `${run} --offline` : run, dir);
    }
  }
  image = path.join(work, "image");
  mkdirSync(image);
  applyCopies(final, image, stageDirs);

  fake = await startFakeNws();
  port = await freePort();
  base = `http://127.0.0.1:${port}`;
  podBase = `http://${POD_IP ?? "127.0.0.1"}:${port}`;
  env = cleanEnv({
    ...stageEnv(final),
    PORT: String(port),
    STINGRAY_STATE_DIR: path.join(work, "state"),
    STINGRAY_LOG_LEVEL: "warn",
    NWS_API_BASE: fake.baseUrl,
    NWS_TIMEOUT_MS: "10000",
  });
  const [file, ...entryArgs] = execForm(lastOf(final, "ENTRYPOINT")!.args);
  child = spawn(file!, [...entryArgs, ...execForm(lastOf(final, "CMD")!.args)], { cwd: image, env, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 120_000;
  while (!/ready at http:\/\/0\.0\.0\.0:\d+\/mcp/.test(output)) {
    if (child.exitCode !== null) throw new Error(`the container command exited early (${child.exitCode}):\n${output}`);
    if (Date.now() > deadline) throw new Error(`the container command was not ready in 120 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill("SIGKILL");
    await exited(child);
  }
  await fake?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the container's command, from the compiled output", () => {
  it("holds compiled output and production dependencies only", () => {
    expect(readdirSync(image).sort()).toEqual(["bin", "dist", "examples", "node_modules", "package.json"]);
    expect(existsSync(path.join(image, "dist/cli/main.js"))).toBe(true);
    expect(existsSync(path.join(image, "dist/runtime/worker-bootstrap.mjs"))).toBe(true);
    for (const dev of ["typescript", "vitest", "onnxruntime-node", "@huggingface/transformers", "kubernetes-models"]) {
      expect(existsSync(path.join(image, "node_modules", dev)), dev).toBe(false);
    }
    expect(existsSync(path.join(image, "node_modules/tsx"))).toBe(true); // for the example's .ts
  });

  it("listens on HOST 0.0.0.0 and serves the weather example over MCP at the pod's address", async () => {
    expect(output).toContain(`ready at http://0.0.0.0:${port}/mcp (application "weather")`);
    const client = await connect(podBase);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(["get_alerts", "get_forecast"]);
      const result = (await client.callTool({ name: "get_alerts", arguments: { state: "CA" } })) as CallToolResult;
      expect(result.isError).not.toBe(true);
      expect(result.content[0]).toEqual({ type: "text", text: CA_ALERTS_TEXT });
    } finally {
      await client.close();
    }
  });

  it("answers the Deployment's startup, readiness and liveness probes from the pod's address", async () => {
    for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
      const res = await fetch(`${podBase}${container[probe].httpGet.path}`);
      expect(res.status, `${probe} ${container[probe].httpGet.path}`).toBe(200);
      await res.body?.cancel();
    }
  });

  it("exports, at the scrape path and to a non-loopback scraper, the series the KEDA query reads", async () => {
    const res = await fetch(`${podBase}${deployment.spec.template.metadata.annotations["prometheus.io/path"]}`);
    expect(res.status).toBe(200);
    const text = await res.text();
    const app = flagValue(execForm(lastOf(final, "CMD")!.args), "--name");
    expect(text).toMatch(new RegExp(`^stingray_replica_ongoing_requests\\{app="${app}",deployment="WeatherMCP",replica="[^"]+"\\} \\d+$`, "m"));
    expect(text).toMatch(new RegExp(`^stingray_deployment_queued_requests\\{app="${app}",deployment="WeatherMCP"\\} \\d+$`, "m"));
  });

  it("passes the image's HEALTHCHECK", () => {
    const health = lastOf(final, "HEALTHCHECK")!.args;
    const [file, ...args] = execForm(health.slice(health.indexOf("CMD ") + 4));
    const r = spawnSync(file!, args, { cwd: image, env, timeout: 30_000 });
    expect(r.status, String(r.stderr)).toBe(0);
  });

  it("is found by `stingray status` in the container without --address", () => {
    const r = spawnSync(process.execPath, ["bin/stingray.js", "status"], { cwd: image, env, encoding: "utf8", timeout: 30_000 });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    // The runtime names the address it listens on; the record held the loopback one to connect to.
    expect(r.stdout.split("\n")[0]).toMatch(new RegExp(`^stingray at http://0\\.0\\.0\\.0:${port} · pid ${child.pid} `));
    expect(r.stdout).toMatch(/^weather\s+\/\s+RUNNING\s+WeatherMCP/m);
  });

  it("drains an in-flight call on SIGTERM, then exits 0 and removes its record", async () => {
    fake.route("/alerts/active/area/TX", { delayMs: 1_500 });
    const client = await connect();
    const call = client.callTool({ name: "get_alerts", arguments: { state: "TX" } }) as Promise<CallToolResult>;
    // The call is in flight once the replica has asked NWS.
    const deadline = Date.now() + 20_000;
    while (!fake.requests.some((r) => r.path === "/alerts/active/area/TX")) {
      if (Date.now() > deadline) throw new Error(`the TX call never reached NWS:\n${output}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const done = exited(child);
    child.kill("SIGTERM");
    const result = await call;
    expect(result.isError).not.toBe(true);
    expect((result.content[0] as { text: string }).text).toMatch(/./);
    await client.close().catch(() => {});
    expect(await done, output).toEqual({ code: 0, signal: null });
    expect(output).toContain("shutting down (SIGTERM)");
    expect(readdirSync(path.join(work, "state"))).toEqual([]);
  }, 60_000);
});
