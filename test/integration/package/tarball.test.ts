// The package as a user gets it: `npm pack` (its prepack builds dist/), the tarball installed into
// a fresh temporary project offline with production dependencies only, then two apps served over
// MCP from the installed package and called with the real SDK client:
//   - plain JavaScript (examples/greeter.mjs: `ingress(def)(Cls)`, `deploymentOf(Cls, options)`)
//     run with `node app.mjs`, with tsx made unloadable, so neither the main thread nor any
//     replica thread may load it;
//   - TypeScript with decorators (test/fixtures/package/calculator.ts) run with the installed
//     `stingray run calculator.ts:app`, which loads tsx for that module only.
// And the translator example's model loader, copied in the same way, fails with an error naming
// @huggingface/transformers: an optional peer dependency, not installed with the package.
//
// Offline install: `npm install <ranges>` would need the registry's full package documents, which
// `npm ci` does not cache, so the project gets a lockfile instead: the repository's own entries
// for the production dependency tree (exact versions, integrity hashes and tarball URLs, all in
// the npm cache after `npm ci`), and `npm ci --offline --omit=dev` installs from that. Nothing is
// downloaded.

import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from "node:child_process";
import { copyFileSync, cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Client, StreamableHTTPClientTransport, type CallToolResult } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
/** Issue 12's goal for a fresh production install, tsx included. */
const INSTALL_BUDGET_BYTES = 150 * 1024 * 1024;
const SETUP_TIMEOUT_MS = 240_000;
const APP_TIMEOUT_MS = 60_000;

interface PackedFile {
  path: string;
}

let work: string;
let project: string;
let packedFiles: string[];
let installedBytes: number;
const children: ChildProcess[] = [];

/** The environment of the npm and app processes: none of `npm test`'s npm_* settings leak in. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && !key.startsWith("STINGRAY_") && !key.startsWith("VITEST") && key !== "NODE_OPTIONS") env[key] = value;
  }
  return { ...env, STINGRAY_LOG_LEVEL: "warn", STINGRAY_STATE_DIR: path.join(work, "state"), ...extra };
}

function npm(args: string[], cwd: string): SpawnSyncReturns<string> {
  const result = spawnSync("npm", args, { cwd, env: cleanEnv(), encoding: "utf8", timeout: SETUP_TIMEOUT_MS });
  if (result.status !== 0) {
    throw new Error(`npm ${args.join(" ")} failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
  }
  return result;
}

interface LockEntry {
  dev?: boolean;
  devOptional?: boolean;
  resolved?: string;
  [key: string]: unknown;
}

/** package.json and package-lock.json of a fresh app depending on the tarball (see the header). */
function writeProject(dir: string, tarball: string): void {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as Record<string, Record<string, string>> & { version: string };
  const lock = JSON.parse(readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, LockEntry> };
  const spec = `file:${tarball}`;
  // What a user installs: the package, plus the SDK server and zod their own code imports.
  const dependencies = {
    stingray: spec,
    "@modelcontextprotocol/server": pkg.dependencies!["@modelcontextprotocol/server"]!,
    zod: pkg.dependencies!.zod!,
  };
  const packages: Record<string, unknown> = {
    "": { name: "stingray-tarball-app", dependencies },
    "node_modules/stingray": {
      version: pkg.version,
      resolved: spec,
      license: pkg.license,
      dependencies: pkg.dependencies,
      peerDependencies: pkg.peerDependencies,
      peerDependenciesMeta: pkg.peerDependenciesMeta,
      bin: pkg.bin,
      engines: pkg.engines,
    },
  };
  // The repository's lockfile records no `resolved` URLs, so npm would look each package up in
  // the registry's documents (cached only for what this machine's npm has resolved); with the
  // tarball URL and the integrity hash it takes the tarball that `npm ci` cached.
  const registry = (process.env.npm_config_registry || "https://registry.npmjs.org/").replace(/\/?$/, "/");
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (!key.startsWith("node_modules/") || entry.dev || entry.devOptional) continue;
    const name = typeof entry.name === "string" ? entry.name : key.slice(key.lastIndexOf("node_modules/") + "node_modules/".length);
    const resolved = entry.resolved ?? `${registry}${name}/-/${name.split("/").pop()}-${String(entry.version)}.tgz`;
    packages[key] = { ...entry, resolved };
  }
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "stingray-tarball-app", private: true, type: "module", dependencies }, null, 2));
  writeFileSync(
    path.join(dir, "package-lock.json"),
    JSON.stringify({ name: "stingray-tarball-app", lockfileVersion: 3, requires: true, packages }, null, 2),
  );
}

/** Bytes on disk under dir (files and links; a link counts as itself, not its target). */
function treeBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += treeBytes(full);
    else total += lstatSync(full).size;
  }
  return total;
}

/** Starts an app process and resolves to the MCP URL it prints, failing fast if it dies. */
function startApp(args: string[], urlPattern: RegExp): Promise<{ child: ChildProcess; url: URL; output: () => string }> {
  const child = spawn(process.execPath, args, { cwd: project, env: cleanEnv({ PORT: "0" }), stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args.join(" ")} did not print its address in time:\n${output}`)), APP_TIMEOUT_MS - 10_000);
    const onData = (d: Buffer): void => {
      output += d.toString();
      const m = urlPattern.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: new URL(m[1]!), output: () => output });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(" ")} exited (${code ?? signal}) before serving:\n${output}`));
    });
  });
}

async function stop(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode };
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  child.kill("SIGTERM");
  return exited;
}

async function callTool(url: URL, name: string, args: Record<string, unknown>): Promise<string> {
  const client = new Client({ name: "tarball-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(url));
  try {
    const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
    expect(result.isError).not.toBe(true);
    const block = result.content[0];
    return block?.type === "text" ? block.text : JSON.stringify(block);
  } finally {
    await client.close();
  }
}

beforeAll(() => {
  work = mkdtempSync(path.join(os.tmpdir(), "stingray-tarball-"));
  project = path.join(work, "app");
  const packed = npm(["pack", "--json", "--pack-destination", work], ROOT);
  const report = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as Array<{ filename: string; files: PackedFile[] }>;
  packedFiles = report[0]!.files.map((f) => f.path);
  const tarball = path.join(work, path.basename(report[0]!.filename));

  mkdirSync(project);
  writeProject(project, tarball);
  npm(["ci", "--offline", "--omit=dev", "--no-audit", "--no-fund"], project);
  installedBytes = treeBytes(path.join(project, "node_modules"));
  copyFileSync(path.join(ROOT, "examples/greeter.mjs"), path.join(project, "app.mjs"));
  copyFileSync(path.join(ROOT, "test/fixtures/package/calculator.ts"), path.join(project, "calculator.ts"));
  cpSync(path.join(ROOT, "examples/lib"), path.join(project, "lib"), { recursive: true });
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  await Promise.all(children.map((c) => stop(c)));
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the packed tarball", () => {
  it("ships compiled JavaScript, declarations, the worker entry and the dashboard, and no sources or tests", () => {
    for (const file of [
      "package.json",
      "README.md",
      "bin/stingray.js",
      "dist/index.js",
      "dist/index.d.ts",
      "dist/cli/main.js",
      "dist/runtime/worker-bootstrap.mjs",
      "dist/runtime/worker-entry.js",
      "dist/dashboard/index.html",
      "dist/dashboard/dashboard.js",
      "dist/dashboard/dashboard.css",
    ]) {
      expect(packedFiles).toContain(file);
    }
    const unwanted = packedFiles.filter((f) => /^(src|test|benchmarks|examples|scripts|\.cache)\//.test(f) || /\.ts$/.test(f) && !f.endsWith(".d.ts"));
    expect(unwanted).toEqual([]);
  });

  it("installs offline with production dependencies only, within 150 MB including tsx", () => {
    const installed = (name: string): boolean => {
      try {
        return statSync(path.join(project, "node_modules", name, "package.json")).isFile();
      } catch {
        return false;
      }
    };
    expect(installed("stingray")).toBe(true);
    expect(installed("tsx")).toBe(true);
    // The translator example's optional peers, and the repository's tooling, are not installed.
    for (const name of ["onnxruntime-node", "@huggingface/transformers", "typescript", "vitest", "@modelcontextprotocol/client"]) {
      expect(installed(name), name).toBe(false);
    }
    console.log(`tarball test: fresh production install is ${(installedBytes / 1024 / 1024).toFixed(1)} MiB`);
    expect(installedBytes).toBeLessThanOrEqual(INSTALL_BUDGET_BYTES);
  });

  it("serves a plain-JavaScript app with `node app.mjs`, without tsx anywhere", async () => {
    // Hide tsx: a replica thread (or the main thread) that tried to load it would fail to start.
    const tsxDir = path.join(project, "node_modules/tsx");
    const hidden = path.join(project, "node_modules/.tsx-hidden");
    renameSync(tsxDir, hidden);
    try {
      const app = await startApp(["app.mjs"], /listening on (http:\/\/\S+\/mcp)/);
      expect(await callTool(app.url, "greet", { name: "Ada" })).toMatch(/^Hello, Ada! \(from greeter#Greeter#/);
      // The dashboard's static files ship in dist/ (tsc does not emit them; the build copies them).
      for (const [file, type] of [["/-/dashboard", "text/html"], ["/-/dashboard/dashboard.js", "javascript"], ["/-/dashboard/dashboard.css", "text/css"]] as const) {
        const res = await fetch(new URL(file, app.url));
        expect(res.status, file).toBe(200);
        expect(res.headers.get("content-type"), file).toContain(type);
        expect((await res.text()).length, file).toBeGreaterThan(100);
      }
      // serve.run's SIGTERM handler drains, then exits 128 + 15 by its own choice.
      expect(await stop(app.child)).toEqual({ code: 143, signal: null });
    } finally {
      renameSync(hidden, tsxDir);
    }
  }, APP_TIMEOUT_MS);

  it("serves a TypeScript app with decorators through the installed `stingray run`", async () => {
    const bin = path.join(project, "node_modules/stingray/bin/stingray.js");
    const app = await startApp([bin, "run", "calculator.ts:app", "--port", "0", "--no-progress"], /ready at (http:\/\/\S+\/mcp)/);
    expect(await callTool(app.url, "add", { a: 2, b: 3 })).toBe("105");
    expect(await stop(app.child)).toEqual({ code: 0, signal: null });
  }, APP_TIMEOUT_MS);

  it("type-checks a consumer's TypeScript against the installed declarations, with skipLibCheck off", () => {
    // A consumer's strict tsc reads every .d.ts the package's types reach (express's types among
    // them: they ship as a dependency). The repository's TypeScript stands in for the user's.
    writeFileSync(
      path.join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true, module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022",
          skipLibCheck: false, noEmit: true, types: ["node"],
        },
        files: ["calculator.ts"],
      }),
    );
    const tsc = path.join(ROOT, "node_modules/typescript/bin/tsc");
    const result = spawnSync(process.execPath, [tsc, "-p", "."], { cwd: project, env: cleanEnv(), encoding: "utf8", timeout: APP_TIMEOUT_MS });
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  }, APP_TIMEOUT_MS);

  it("names the missing optional package when the translator example runs without it", () => {
    // What a replica's init does (examples/translator.ts → lib/replica-translator.ts), run directly
    // under the installed tsx: a deployment would report the same error after three failed starts.
    const script =
      'const { loadTranslatorModel } = await import("./lib/translator-model.ts");' +
      "await loadTranslatorModel({ model: 'Xenova/t5-small' }).then(() => console.log('loaded'), (err) => console.log(err.code, err.message));";
    const result = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: project,
      env: cleanEnv(),
      encoding: "utf8",
      timeout: APP_TIMEOUT_MS - 10_000,
    });
    expect(result.stdout.trim(), result.stderr).toBe(
      "ERR_TRANSLATOR_MISSING_PACKAGE the translator example needs the optional package @huggingface/transformers, " +
        "which is not installed: run `npm install @huggingface/transformers` (it brings onnxruntime-node)",
    );
  }, APP_TIMEOUT_MS);
});
