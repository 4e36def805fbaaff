// Tracing off costs nothing: no @opentelemetry module is resolved in the main thread or in any
// replica's worker thread. A child process runs a real app (three deployments, handle calls between
// replicas) with an ESM resolve hook preloaded by `--import`, which Node also runs in each worker
// thread, so every thread reports what it resolved. The positive control (OTEL_TRACES_EXPORTER=otlp)
// proves the probe sees the SDK inside worker threads when tracing is on.

import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../../", import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), "stingray-lazy-"));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function probe(name: string, env: Record<string, string>) {
  const out = path.join(dir, `${name}.txt`);
  const { stdout } = await run(
    process.execPath,
    ["--import", "tsx", "--import", "./test/fixtures/observability/resolve-probe.mjs", "test/fixtures/observability/lazy-run.ts"],
    { cwd: root, env: { PATH: process.env.PATH ?? "", STINGRAY_LOG_LEVEL: "error", STINGRAY_RESOLVE_PROBE: out, ...env }, timeout: 90_000 },
  );
  const lines = readFileSync(out, "utf8").trim().split("\n");
  const otel = (thread: "main" | "worker") =>
    lines.filter((l) => l.startsWith(thread) && l.includes("@opentelemetry")).length;
  return {
    answer: (JSON.parse(stdout.trim().split("\n").at(-1)!) as { answer: number }).answer,
    workers: new Set(lines.filter((l) => l.startsWith("worker")).map((l) => l.split(" ")[0])).size,
    main: otel("main"),
    worker: otel("worker"),
  };
}

describe("tracing off loads no OpenTelemetry module, in replicas either", () => {
  it("resolves no @opentelemetry module in any thread while serving calls through handles", async () => {
    const r = await probe("off", {});
    expect(r.answer).toBe(13);
    expect(r.workers).toBeGreaterThanOrEqual(3); // Combiner, Multiplier and two Adders
    expect({ main: r.main, worker: r.worker }).toEqual({ main: 0, worker: 0 });
  }, 120_000);

  it("resolves the SDK in the replicas' threads when OTEL_TRACES_EXPORTER=otlp (the probe sees them)", async () => {
    const r = await probe("on", { OTEL_TRACES_EXPORTER: "otlp", OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9" });
    expect(r.answer).toBe(13);
    expect(r.main).toBeGreaterThan(0);
    expect(r.worker).toBeGreaterThan(0);
  }, 120_000);
});
