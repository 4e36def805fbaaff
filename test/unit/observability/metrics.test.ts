import { describe, expect, it } from "vitest";
import { RuntimeMetrics, isErrorStatus } from "../../../src/observability/metrics.ts";
import type { StatusSnapshot } from "../../../src/observability/status.ts";

/** The value of one sample line of the exposition, e.g. `stingray_replicas{...state="RUNNING"}`. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(name + "{") && !line.startsWith(name + " ")) continue;
    const open = line.indexOf("{");
    const close = line.lastIndexOf("}");
    const got: Record<string, string> = {};
    if (open >= 0) {
      for (const m of line.slice(open + 1, close).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) got[m[1]!] = m[2]!;
    }
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(line.slice(close + 1).trim());
  }
  return undefined;
}

describe("RuntimeMetrics", () => {
  it("counts requests by app, deployment, route, MCP method, tool and status", async () => {
    const m = new RuntimeMetrics({ defaultMetrics: false });
    const base = { app: "weather", deployment: "WeatherMCP", route: "/weather" };
    m.recordRequest({ ...base, status: 200, latencyMs: 12, mcpMethod: "tools/call", tool: "forecast" });
    m.recordRequest({ ...base, status: 200, latencyMs: 8, mcpMethod: "tools/call", tool: "forecast" });
    m.recordRequest({ ...base, status: 503, latencyMs: 1, mcpMethod: "tools/list" });
    const text = await m.metricsText();
    expect(sample(text, "stingray_requests_total", { ...base, mcp_method: "tools/call", tool: "forecast", status: "200" })).toBe(2);
    expect(sample(text, "stingray_requests_total", { ...base, mcp_method: "tools/list", tool: "", status: "503" })).toBe(1);
    expect(sample(text, "stingray_request_duration_seconds_count", { ...base, mcp_method: "tools/call" })).toBe(2);
    expect(sample(text, "stingray_request_duration_seconds_sum", { ...base, mcp_method: "tools/call" })).toBeCloseTo(0.02, 6);
    // 8 ms and 12 ms: one in the 10 ms bucket, both in the 25 ms bucket.
    expect(sample(text, "stingray_request_duration_seconds_bucket", { ...base, mcp_method: "tools/call", le: "0.01" })).toBe(1);
    expect(sample(text, "stingray_request_duration_seconds_bucket", { ...base, mcp_method: "tools/call", le: "0.025" })).toBe(2);
  });

  it("keeps each runtime's metrics in its own registry", async () => {
    const a = new RuntimeMetrics();
    const b = new RuntimeMetrics();
    a.recordRequest({ app: "a", deployment: "d", route: "/", status: 200, latencyMs: 1 });
    expect(await a.metricsText()).toContain('app="a"');
    expect(await b.metricsText()).not.toContain('app="a"');
    // Process metrics are there, under our prefix.
    expect(await a.metricsText()).toContain("stingray_process_cpu_seconds_total");
  });

  it("sets replica, queue, ongoing, target and restart series", async () => {
    const m = new RuntimeMetrics({ defaultMetrics: false });
    const d = { app: "app1", deployment: "Model" };
    m.setReplicaStates(d, { RUNNING: 3, STARTING: 1 });
    m.setOngoing({ ...d, replica: "r1" }, 4);
    m.setQueued(d, 7);
    m.setAutoscalingTarget(d, 5);
    m.incReplicaRestart(d);
    m.incReplicaRestart(d);
    const text = await m.metricsText();
    expect(sample(text, "stingray_replicas", { ...d, state: "RUNNING" })).toBe(3);
    expect(sample(text, "stingray_replicas", { ...d, state: "STARTING" })).toBe(1);
    expect(sample(text, "stingray_replicas", { ...d, state: "STOPPING" })).toBe(0);
    expect(sample(text, "stingray_replica_ongoing_requests", { ...d, replica: "r1" })).toBe(4);
    expect(sample(text, "stingray_deployment_queued_requests", d)).toBe(7);
    expect(sample(text, "stingray_autoscaling_target_replicas", d)).toBe(5);
    expect(sample(text, "stingray_replica_restarts_total", d)).toBe(2);
    m.removeReplica({ ...d, replica: "r1" });
    expect(sample(await m.metricsText(), "stingray_replica_ongoing_requests", { ...d, replica: "r1" })).toBeUndefined();
  });

  it("derives gauges from a status snapshot and drops vanished replicas", async () => {
    const m = new RuntimeMetrics({ defaultMetrics: false });
    const snap = (replicas: string[], restarts: number): StatusSnapshot => ({
      runtime: {},
      applications: [
        {
          name: "app1",
          routePrefix: "/",
          status: "RUNNING",
          deployments: [
            {
              name: "Model",
              status: "HEALTHY",
              targetReplicas: replicas.length,
              replicaStates: { RUNNING: replicas.length },
              replicas: replicas.map((id) => ({ id, state: "RUNNING", ongoing: 2, streams: 7 })),
              queued: 1,
              restarts,
            },
          ],
        },
      ],
    });
    m.observeStatus(snap(["r1", "r2"], 1));
    let text = await m.metricsText();
    const d = { app: "app1", deployment: "Model" };
    expect(sample(text, "stingray_replicas", { ...d, state: "RUNNING" })).toBe(2);
    expect(sample(text, "stingray_autoscaling_target_replicas", d)).toBe(2);
    expect(sample(text, "stingray_replica_ongoing_requests", { ...d, replica: "r2" })).toBe(2);
    expect(sample(text, "stingray_replica_ongoing_streams", { ...d, replica: "r2" })).toBe(7);
    expect(sample(text, "stingray_replica_restarts_total", d)).toBe(1);
    m.observeStatus(snap(["r1"], 3));
    text = await m.metricsText();
    expect(sample(text, "stingray_replica_ongoing_requests", { ...d, replica: "r2" })).toBeUndefined();
    expect(sample(text, "stingray_replica_ongoing_streams", { ...d, replica: "r2" })).toBeUndefined();
    expect(sample(text, "stingray_replicas", { ...d, state: "RUNNING" })).toBe(1);
    expect(sample(text, "stingray_replica_restarts_total", d)).toBe(3);
  });

  it("feeds the dashboard's timeseries and recent errors", () => {
    let now = 1_700_000_000_000;
    const m = new RuntimeMetrics({ defaultMetrics: false, clock: () => now, bucketS: 5, windowS: 60 });
    m.recordRequest({ app: "a", deployment: "d", route: "/a", status: 200, latencyMs: 10 });
    m.recordRequest({ app: "b", deployment: "d", route: "/b", status: 500, latencyMs: 10, requestId: "req-1" });
    now += 1000;
    m.recordRequest({ app: "a", deployment: "d", route: "/a", status: 200, latencyMs: 10, error: "stream aborted" });
    const ts = m.timeseries();
    expect(ts.bucketS).toBe(5);
    expect(ts.total.at(-1)).toMatchObject({ requests: 3, errors: 2 });
    expect(ts.apps.a!.at(-1)).toMatchObject({ requests: 2, errors: 1 });
    expect(ts.apps.b!.at(-1)).toMatchObject({ requests: 1, errors: 1 });
    expect(ts.lastMinute.requests).toBe(3);
    const errors = m.recentErrors();
    expect(errors.map((e) => e.message)).toEqual(["stream aborted", "HTTP 500"]);
    expect(errors[1]).toMatchObject({ app: "b", status: "500", requestId: "req-1", time: now - 1000 });
  });

  it("caps client-supplied label values", async () => {
    const m = new RuntimeMetrics({ defaultMetrics: false });
    m.recordRequest({ app: "a", deployment: "d", route: "/", status: 200, latencyMs: 1, tool: "x".repeat(5000) });
    const text = await m.metricsText();
    expect(text).toContain(`tool="${"x".repeat(100)}"`);
    expect(text).not.toContain("x".repeat(101));
  });

  it("folds client-chosen tool names past 1000 series into tool=\"other\", still counting every request", async () => {
    const m = new RuntimeMetrics({ defaultMetrics: false });
    const base = { app: "a", deployment: "d", route: "/" };
    for (let i = 0; i < 1200; i++) {
      m.recordRequest({ ...base, status: 200, latencyMs: 1, mcpMethod: "tools/call", tool: `t${i}` });
    }
    m.recordRequest({ ...base, status: 404, latencyMs: 1, mcpMethod: "tools/call", tool: "t5" }); // a known series
    const text = await m.metricsText();
    const counted = text.split("\n").filter((l) => l.startsWith("stingray_requests_total{"));
    expect(counted).toHaveLength(1000 + 1 + 1); // 1000 distinct tools, other, t5's 404
    expect(sample(text, "stingray_requests_total", { ...base, mcp_method: "other", tool: "other", status: "200" })).toBe(200);
    expect(sample(text, "stingray_requests_total", { ...base, mcp_method: "tools/call", tool: "t999", status: "200" })).toBe(1);
    expect(sample(text, "stingray_requests_total", { ...base, mcp_method: "tools/call", tool: "t5", status: "404" })).toBe(1);
    expect(sample(text, "stingray_request_duration_seconds_count", { ...base, mcp_method: "other", tool: "other" })).toBe(200);
  });
});

describe("isErrorStatus", () => {
  it.each([
    [200, false],
    [302, false],
    [404, true],
    [503, true],
    ["ok", false],
    ["error", true],
    ["500", true],
  ] as const)("%s → %s", (status, expected) => {
    expect(isErrorStatus(status)).toBe(expected);
  });
});
