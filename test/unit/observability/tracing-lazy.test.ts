// Tracing off must not load the OpenTelemetry SDK: a child process (fresh module cache) starts
// tracing with and without OTEL_TRACES_EXPORTER and reports which @opentelemetry files it loaded,
// read from the ESM loader's resolve hook (module.register) so nothing is inferred.

import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { RESOLVE_PROBE } from "../../fixtures/resolve-probe.ts";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../../", import.meta.url));

const script = `${RESOLVE_PROBE}
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
