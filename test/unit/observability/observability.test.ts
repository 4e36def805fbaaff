import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createObservability } from "../../../src/observability/index.ts";
import { createLogger } from "../../../src/observability/logger.ts";

function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _e, cb) {
      for (const l of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { logger: createLogger({ destination, level: "info" }), lines };
}

describe("createObservability", () => {
  it("records each proxy request in metrics and writes one access line per request", async () => {
    const { logger, lines } = capturedLogger();
    const obs = createObservability({ status: () => ({ runtime: {}, applications: [] }), logger, metrics: { defaultMetrics: false } });
    const base = { app: "echo", deployment: "Echo", route: "/echo", latencyMs: 4, requestId: "r1" };
    obs.onRequest({ ...base, status: 200, mcpMethod: "tools/call", tool: "echo", method: "POST", path: "/echo/mcp?x=1" });
    obs.onRequest({ ...base, status: 500, error: "replica died" });
    expect(await obs.metrics.metricsText()).toContain('stingray_requests_total{app="echo",deployment="Echo",route="/echo",mcp_method="tools/call",tool="echo",status="200"} 1');
    expect(obs.metrics.recentErrors()).toHaveLength(1);
    const access = lines.filter((l) => l.type === "access");
    expect(access).toHaveLength(2);
    expect(access[0]).toMatchObject({ method: "POST", path: "/echo/mcp", status: 200, requestId: "r1", app: "echo", tool: "echo", msg: "POST /echo/mcp 200 4ms" });
    // Without method and path (the proxy did not say), the route prefix stands in.
    expect(access[1]).toMatchObject({ path: "/echo", status: 500, level: "warn", msg: "/echo 500 4ms" });
    expect(access[1]).not.toHaveProperty("method");
  });

  it("never throws into the proxy", () => {
    const { logger, lines } = capturedLogger();
    const obs = createObservability({ status: () => ({ runtime: {}, applications: [] }), logger, metrics: { defaultMetrics: false } });
    const hostile: Record<string, unknown> = { app: "a", deployment: "d", route: "/", status: 200 };
    Object.defineProperty(hostile, "latencyMs", {
      get() {
        throw new Error("bad event");
      },
    });
    expect(() => obs.onRequest(hostile as never)).not.toThrow();
    expect(lines).toContainEqual(expect.objectContaining({ level: "warn", msg: "observability: recording a request failed" }));
  });
});
