import { afterEach, describe, expect, it } from "vitest";
import { ErrorCode, InvalidOptionsError } from "../../../src/errors.ts";
import type { AdminActions } from "../../../src/observability/http.ts";
import { startFakeRuntime, type FakeRuntime } from "./fake-runtime.ts";

let rt: FakeRuntime | undefined;
afterEach(async () => {
  await rt?.close();
  rt = undefined;
});

function recordingAdmin(overrides: Partial<AdminActions> = {}) {
  const calls: { deploy: unknown[]; shutdown: number } = { deploy: [], shutdown: 0 };
  const admin: AdminActions = {
    async deploy(body) {
      calls.deploy.push(body);
      return { applications: ["weather"] };
    },
    shutdown() {
      calls.shutdown++;
    },
    ...overrides,
  };
  return { admin, calls };
}

describe("observability router", () => {
  it("serves Prometheus metrics with gauges derived from the status snapshot", async () => {
    rt = await startFakeRuntime();
    rt.metrics.recordRequest({ app: "weather", deployment: "WeatherMCP", route: "/weather", status: 200, latencyMs: 3, mcpMethod: "tools/call", tool: "get_forecast" });
    const res = await fetch(`${rt.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toContain('stingray_replicas{app="weather",deployment="WeatherMCP",state="RUNNING"} 2');
    expect(text).toContain('stingray_autoscaling_target_replicas{app="weather",deployment="WeatherMCP"} 3');
    expect(text).toContain('stingray_replica_ongoing_requests{app="weather",deployment="WeatherMCP",replica="weather#WeatherMCP#a1"} 1');
    expect(text).toContain('stingray_requests_total{app="weather",deployment="WeatherMCP",route="/weather",mcp_method="tools/call",tool="get_forecast",status="200"} 1');
  });

  it("serves the status snapshot and the timeseries as JSON", async () => {
    // A frozen clock in the middle of a 5 s bucket: the request and the snapshot read below share
    // that bucket however long the fetches take on a busy machine (a real clock could cross into
    // the next bucket between the two, leaving the last bucket empty).
    const now = Math.floor(Date.now() / 5000) * 5000 + 2500;
    rt = await startFakeRuntime({ metrics: { clock: () => now } });
    rt.metrics.recordRequest({ app: "weather", deployment: "WeatherMCP", route: "/weather", status: 502, latencyMs: 3, requestId: "abc" });
    const status = await (await fetch(`${rt.url}/-/api/status`)).json();
    expect(status).toEqual(JSON.parse(JSON.stringify(rt.snapshot)));
    const ts = (await (await fetch(`${rt.url}/-/api/timeseries`)).json()) as Record<string, any>;
    expect(ts.bucketS).toBe(5);
    expect(ts.total.at(-1)).toMatchObject({ requests: 1, errors: 1 });
    expect(ts.recentErrors[0]).toMatchObject({ app: "weather", status: "502", requestId: "abc" });
    expect(typeof ts.now).toBe("number");
  });

  it("echoes a sane X-Request-ID and mints one otherwise", async () => {
    rt = await startFakeRuntime();
    const echoed = await fetch(`${rt.url}/-/api/status`, { headers: { "x-request-id": "trace-42" } });
    expect(echoed.headers.get("x-request-id")).toBe("trace-42");
    const minted = await fetch(`${rt.url}/-/api/status`, { headers: { "x-request-id": "bad id with spaces" } });
    expect(minted.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("serves the dashboard page and its assets with a strict CSP", async () => {
    rt = await startFakeRuntime();
    for (const path of ["/-/dashboard", "/-/dashboard/"]) {
      const page = await fetch(`${rt.url}${path}`);
      expect(page.status).toBe(200);
      expect(page.headers.get("content-type")).toMatch(/text\/html/);
      expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
      const html = await page.text();
      expect(html).toContain('src="/-/dashboard/dashboard.js"');
      expect(html).not.toMatch(/https?:\/\//); // no CDN, nothing external
    }
    const js = await fetch(`${rt.url}/-/dashboard/dashboard.js`);
    expect(js.headers.get("content-type")).toMatch(/javascript/);
    expect(await js.text()).toContain("/-/api/status");
    expect((await fetch(`${rt.url}/-/dashboard/dashboard.css`)).status).toBe(200);
    expect((await fetch(`${rt.url}/-/dashboard/secret.txt`)).status).toBe(404);
  });

  it("runs deploy and shutdown for a loopback client", async () => {
    const { admin, calls } = recordingAdmin();
    rt = await startFakeRuntime({ admin });
    const res = await fetch(`${rt.url}/-/api/deploy`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ applications: [] }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, result: { applications: ["weather"] } });
    expect(calls.deploy).toEqual([{ applications: [] }]);
    const bye = await fetch(`${rt.url}/-/api/shutdown`, { method: "POST" });
    expect(bye.status).toBe(202);
    await expect.poll(() => calls.shutdown).toBe(1);
  });

  it("answers a deploy with bad input with 400 and the validation message", async () => {
    const { admin } = recordingAdmin({
      async deploy() {
        throw new InvalidOptionsError("applications[0].name: expected string");
      },
    });
    rt = await startFakeRuntime({ admin });
    const res = await fetch(`${rt.url}/-/api/deploy`, { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: ErrorCode.INVALID_OPTIONS, message: "applications[0].name: expected string" } });
    const badJson = await fetch(`${rt.url}/-/api/deploy`, { method: "POST", body: "{nope", headers: { "content-type": "application/json" } });
    expect(badJson.status).toBe(400);
    expect(((await badJson.json()) as any).error.code).toBe(ErrorCode.INVALID_OPTIONS);
  });

  it("refuses admin calls from browsers and without the configured token", async () => {
    const { admin, calls } = recordingAdmin();
    rt = await startFakeRuntime({ admin, adminToken: "let-me-in" });
    const post = (headers: Record<string, string>) => fetch(`${rt!.url}/-/api/shutdown`, { method: "POST", headers });
    expect((await post({})).status).toBe(401);
    expect((await post({ authorization: "Bearer wrong" })).status).toBe(401);
    expect((await post({ authorization: "Bearer let-me-in", origin: "http://evil.example" })).status).toBe(403);
    expect(calls.shutdown).toBe(0);
    expect((await post({ authorization: "Bearer let-me-in" })).status).toBe(202);
    await expect.poll(() => calls.shutdown).toBe(1);
    // Read-only routes stay open.
    expect((await fetch(`${rt.url}/-/api/status`)).status).toBe(200);
  });

  it("answers 501 on admin routes when the runtime has no admin actions", async () => {
    rt = await startFakeRuntime();
    const res = await fetch(`${rt.url}/-/api/shutdown`, { method: "POST" });
    expect(res.status).toBe(501);
  });
});
