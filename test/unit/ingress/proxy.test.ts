// The proxy over an in-process dispatcher: routing, built-in endpoints, streaming, cancellation.

import { request as httpRequest } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_HOST, DEFAULT_PORT } from "../../../src/ingress/proxy.ts";
import { RootApp, StreamApp } from "../../fixtures/ingress/fetch-apps.ts";
import { startProxy, until, type Harness } from "../../fixtures/ingress/harness.ts";
import { StatelessMcp } from "../../fixtures/ingress/mcp-apps.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const apps = () => [
  { appName: "stream", routePrefix: "/stream", cls: StreamApp },
  { appName: "nested", routePrefix: "/stream/deeper", cls: StreamApp },
  { appName: "root", routePrefix: "/", cls: RootApp },
  { appName: "weather", routePrefix: "/weather", cls: StatelessMcp },
];

describe("proxy", () => {
  it("defaults to 127.0.0.1:8000", () => {
    expect(DEFAULT_HOST).toBe("127.0.0.1");
    expect(DEFAULT_PORT).toBe(8000);
  });

  it("answers /-/healthz and /-/routes", async () => {
    h = await startProxy(apps());
    const health = await fetch(`${h.url}/-/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
    const routes = await fetch(`${h.url}/-/routes`);
    expect(await routes.json()).toEqual({ "/stream": "stream", "/stream/deeper": "nested", "/": "root", "/weather": "weather" });
  });

  it("routes by the longest matching prefix, on whole path segments", async () => {
    h = await startProxy(apps());
    await fetch(`${h.url}/stream/echo`);
    await fetch(`${h.url}/stream/deeper/echo`);
    expect((await (await fetch(`${h.url}/streamer/echo`)).text())).toBe("root:root");
    expect(h.dispatcher.log.map((l) => l.appName)).toEqual(["stream", "nested", "root"]);
  });

  it("answers 404 as JSON when no application serves the path", async () => {
    h = await startProxy([{ appName: "stream", routePrefix: "/stream", cls: StreamApp }]);
    const res = await fetch(`${h.url}/nowhere`);
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect((await res.json()).error.message).toContain("/nowhere");
  });

  it("forwards method, path, query, body and a request id; echoes X-Request-ID", async () => {
    h = await startProxy(apps());
    const res = await fetch(`${h.url}/stream/echo?x=1`, { method: "POST", body: "payload", headers: { "x-request-id": "req-42" } });
    expect(res.headers.get("x-request-id")).toBe("req-42");
    const seen = await res.json();
    expect(seen).toMatchObject({ method: "POST", path: "/stream/echo", query: "?x=1", body: "payload", requestId: "req-42", headerRequestId: "req-42" });
    const minted = await fetch(`${h.url}/stream/echo`, { headers: { "x-request-id": "bad id with spaces" } });
    expect(minted.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("streams SSE events as they are produced: the first arrives before the handler finishes", async () => {
    h = await startProxy(apps());
    const instance = h.dispatcher.instance(h.dispatcher.replicaIds("stream")[0]!) as StreamApp;
    const res = await fetch(`${h.url}/stream/sse`);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain("data: first");
    expect(instance.finished).toBe(false);
    instance.gate.open();
    let rest = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    expect(rest).toContain("data: second");
    expect(instance.finished).toBe(true);
  });

  it("cancels the request in the replica when the client disconnects", async () => {
    h = await startProxy(apps());
    const instance = h.dispatcher.instance(h.dispatcher.replicaIds("stream")[0]!) as StreamApp;
    const req = httpRequest(`${h.url}/stream/hang`);
    req.on("error", () => {});
    req.end();
    await until(() => instance.started === 1, "handler started");
    req.destroy();
    await until(() => instance.aborted, "handler saw the abort");
    await until(() => h!.events.length === 1, "request reported");
    expect(h.events[0]!.status).toBe(499);
  });

  it("answers 413 for a body over the app's limit and 500 JSON when a handler throws", async () => {
    h = await startProxy(apps());
    const big = await fetch(`${h.url}/stream/echo`, { method: "POST", body: "x".repeat(2048) });
    expect(big.status).toBe(413);
    expect((await big.json()).error.message).toContain("1024 bytes");
    const boom = await fetch(`${h.url}/stream/boom`);
    expect(boom.status).toBe(500);
    expect((await boom.json()).error.code).toBe(-32603);
    // The replica keeps serving.
    expect((await fetch(`${h.url}/stream/echo`)).status).toBe(200);
  });

  it("reports each request (app, route, status, latency, replica) to onRequest", async () => {
    h = await startProxy(apps());
    await (await fetch(`${h.url}/stream/echo`)).text();
    await until(() => h!.events.length === 1, "event");
    expect(h.events[0]).toMatchObject({ app: "stream", route: "/stream", status: 200, replica: h.dispatcher.replicaIds("stream")[0] });
    expect(h.events[0]!.latencyMs).toBeGreaterThan(0);
  });

  it("keeps /-/*, /metrics and /.well-known/* for the runtime's routers, even with an app at /", async () => {
    const { Router } = await import("express");
    const router = Router();
    router.get("/metrics", (_req, res) => void res.type("text/plain").send("# metrics"));
    router.get("/-/custom", (_req, res) => void res.json({ custom: true }));
    h = await startProxy(apps(), { routers: [router] });
    expect(await (await fetch(`${h.url}/metrics`)).text()).toBe("# metrics");
    expect(await (await fetch(`${h.url}/-/custom`)).json()).toEqual({ custom: true });
    expect((await fetch(`${h.url}/.well-known/oauth-protected-resource/x`)).status).toBe(404);
    expect(await (await fetch(`${h.url}/metricsx`)).text()).toBe("root:root");
    expect(h.dispatcher.log.map((l) => l.appName)).toEqual(["root"]);
  });

  it("follows the dispatcher's routes as they change, whether or not it reuses route objects", async () => {
    h = await startProxy(apps());
    const before = h.dispatcher.routes();
    // A dispatcher may rebuild its AppRoute objects on every call: same routes, new objects.
    const fresh = () => before.map((r) => ({ ...r }));
    (h.dispatcher as unknown as { routes: () => unknown }).routes = fresh;
    for (let i = 0; i < 3; i++) expect((await fetch(`${h.url}/stream/echo`)).status).toBe(200);
    (h.dispatcher as unknown as { routes: () => unknown }).routes = () => fresh().filter((r) => r.appName !== "stream");
    expect(await (await fetch(`${h.url}/stream/echo`)).text()).toBe("root:root");
  });

  it("close() ends open streams instead of hanging", async () => {
    h = await startProxy(apps());
    const res = await fetch(`${h.url}/stream/sse`);
    const reader = res.body!.getReader();
    await reader.read();
    const instance = h.dispatcher.instance(h.dispatcher.replicaIds("stream")[0]!) as StreamApp;
    await h.close();
    await expect(reader.read()).rejects.toThrow();
    instance.gate.open();
    h = undefined;
  });
});
