// What the README tells a new user to do: start the weather example and call its tools with the
// MCP Inspector CLI (`npx @modelcontextprotocol/inspector --cli http://…/mcp`). The Inspector
// (pinned, installed by scripts/install-test-tools.sh) needs Node >= 22.19, so it runs with the
// Node 22 binary installed beside it; the runtime under test runs on this Node. NWS is the local
// fake, so the exact tool output is known.

import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serve } from "../../src/serve.ts";
import { ensureConformanceTools } from "../fixtures/conformance-runner.ts";
import { startFakeNws, type FakeNws } from "../fixtures/fake-nws.ts";

process.env.STINGRAY_LOG_LEVEL ??= "warn";

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const INSPECTOR = join(ROOT, ".cache/tools/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js");

let fake: FakeNws;
let node22: string;
let url: string;
let home: string;

beforeAll(async () => {
  ({ node22 } = await ensureConformanceTools());
  fake = await startFakeNws();
  // Replicas are worker threads: they see the environment as it is when they start.
  process.env.NWS_API_BASE = fake.baseUrl;
  const { app } = await import("../../examples/weather.ts");
  await serve.start({ http: { host: "127.0.0.1", port: 0 }, handleSignals: false });
  await serve.run(app, { name: "weather" });
  url = `${serve.address()}/mcp`;
  // The Inspector keeps state under ~/.mcp-inspector: keep it out of the real home directory.
  home = mkdtempSync(join(tmpdir(), "stingray-inspector-"));
}, 120_000);

afterAll(async () => {
  await serve.shutdown();
  await fake?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

/** Runs the Inspector CLI; resolves with its exit code and parsed JSON output. */
async function inspector(...args: string[]): Promise<{ code: number; out: unknown }> {
  try {
    const { stdout } = await run(node22, [INSPECTOR, "--cli", url, "--transport", "http", "--format", "json", ...args], {
      env: { ...process.env, HOME: home },
      timeout: 60_000,
    });
    return { code: 0, out: JSON.parse(stdout.trim().split("\n")[0]!) };
  } catch (err) {
    const e = err as { code?: number; stdout?: string };
    if (typeof e.code !== "number") throw err;
    return { code: e.code, out: JSON.parse((e.stdout ?? "").trim().split("\n")[0] || "null") };
  }
}

type ToolResult = { result: { content: Array<{ text: string }>; isError?: boolean } };

describe("the weather example with the MCP Inspector CLI", () => {
  it("lists get_alerts and get_forecast", async () => {
    const { code, out } = await inspector("--method", "tools/list");
    expect(code).toBe(0);
    const names = (out as { result: { tools: Array<{ name: string }> } }).result.tools.map((t) => t.name);
    expect(names.sort()).toEqual(["get_alerts", "get_forecast"]);
  });

  it("calls get_alerts and gets the tutorial's alert format", async () => {
    const { code, out } = await inspector("--method", "tools/call", "--tool-name", "get_alerts", "--tool-arg", "state=CA");
    expect(code).toBe(0);
    const text = (out as ToolResult).result.content[0]!.text;
    expect(text).toContain("\nEvent: Wind Advisory\nArea: San Francisco Bay Shoreline; Coastal North Bay\nSeverity: Moderate\n");
    expect(text.split("\n---\n")).toHaveLength(2);
  });

  it("calls get_forecast with numeric arguments", async () => {
    const { code, out } = await inspector(
      "--method", "tools/call", "--tool-name", "get_forecast",
      "--tool-args-json", JSON.stringify({ latitude: 37.7749, longitude: -122.4194 }),
    );
    expect(code).toBe(0);
    const text = (out as ToolResult).result.content[0]!.text;
    expect(text.startsWith("\nTonight:\nTemperature: 52°F\nWind: 5 to 10 mph W\n")).toBe(true);
    expect(text.split("\n---\n")).toHaveLength(5);
  });

  it("reports a bad state code as a tool error (Inspector exit code 5)", async () => {
    const { code, out } = await inspector("--method", "tools/call", "--tool-name", "get_alerts", "--tool-arg", "state=ZZ");
    expect(code).toBe(5);
    const result = (out as ToolResult).result;
    expect(result.isError).toBe(true);
    expect(result.content[0]!.text).toMatch(/state/);
  });
});
