// Tracing off must not load the OpenTelemetry SDK: a child process (fresh module cache) starts
// tracing with and without OTEL_TRACES_EXPORTER and reports which @opentelemetry files it loaded,
// read from the ESM loader's resolve hook (module.register) so nothing is inferred.

import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../../", import.meta.url));

const script = `
import { register } from "node:module";
import { MessageChannel } from "node:worker_threads";
const { port1, port2 } = new MessageChannel();
const seen = [];
port1.on("message", (url) => seen.push(url));
port1.unref();
register("data:text/javascript," + encodeURIComponent(
  "let port; export function initialize(d) { port = d.port; }" +
  "export async function resolve(s, c, next) { const r = await next(s, c); port.postMessage(r.url); return r; }"
), { parentURL: import.meta.url, data: { port: port2 }, transferList: [port2] });
const { startTracing } = await import("./src/observability/tracing.ts");
const sdk = await startTracing(undefined);
await new Promise((r) => setTimeout(r, 200));
if (sdk) await sdk.shutdown();
console.log(JSON.stringify({ on: sdk !== undefined, otel: seen.filter((u) => u.includes("@opentelemetry")).length, sdk: seen.some((u) => u.includes("sdk-trace-base")) }));
`;

async function probe(env: Record<string, string>) {
  const { stdout } = await run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: root,
    env: { PATH: process.env.PATH ?? "", ...env },
    timeout: 60_000,
  });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as { on: boolean; otel: number; sdk: boolean };
}

describe("tracing is lazy", () => {
  it("with tracing off, no @opentelemetry module is resolved", async () => {
    expect(await probe({})).toEqual({ on: false, otel: 0, sdk: false });
  }, 90_000);

  it("with OTEL_TRACES_EXPORTER=otlp, the SDK is loaded (the probe can see it)", async () => {
    const r = await probe({ OTEL_TRACES_EXPORTER: "otlp", OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9" });
    expect(r.on).toBe(true);
    expect(r.sdk).toBe(true);
    expect(r.otel).toBeGreaterThan(0);
  }, 90_000);
});
