// OpenTelemetry tracing through the whole runtime, for real: a local OTLP/HTTP receiver, serve with
// `tracing` pointing at it, an MCP ingress (two worker-thread replicas) whose `greet` tool calls a
// second deployment through a handle, and the MCP SDK's own client sending a `traceparent`. One
// trace must hold proxy span → ingress replica span → handle CLIENT span → callee replica span,
// each the parent of the next, with the MCP attributes on the proxy span and the trace id in the
// access log line.

import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../../src/observability/logger.ts";
import { serve } from "../../../src/serve.ts";
import { app } from "../../fixtures/ingress/serve-apps.ts";
import { app as composition } from "../../fixtures/serve/composition.ts";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "../../fixtures/otlp-receiver.ts";

const SERVER = 2;
const CLIENT = 3;

let receiver: OtlpReceiver;
let endpoint: URL;
const logLines: Array<Record<string, unknown>> = [];
const clients: Client[] = [];

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line.trim()) logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  await serve.start({
    http: { host: "127.0.0.1", port: 0 },
    numCpus: 4,
    handleSignals: false,
    logger: createLogger({ destination, level: "info" }),
    tracing: { endpoint: `${receiver.url}/v1/traces`, serviceName: "tracing-it" },
  });
  await serve.run(app, { name: "weather", routePrefix: "/weather" });
  endpoint = new URL(`${serve.address()}/weather/mcp`);
});

afterAll(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  await serve.shutdown();
  await receiver?.close();
});

async function connect(mode: "legacy" | "auto", traceparent?: string, tracestate?: string) {
  const client = new Client({ name: "it", version: "1" }, { versionNegotiation: { mode } });
  const headers = { ...(traceparent ? { traceparent } : {}), ...(tracestate ? { tracestate } : {}) };
  const transport = new StreamableHTTPClientTransport(endpoint, traceparent ? { requestInit: { headers } } : {});
  await client.connect(transport);
  clients.push(client);
  return { client, transport };
}

const hex = (bytes: number) => randomBytes(bytes).toString("hex");
const one = (spans: ReceivedSpan[], what: string, match: (s: ReceivedSpan) => boolean): ReceivedSpan => {
  const found = spans.filter(match);
  if (found.length !== 1) throw new Error(`expected one ${what}, found ${found.length}: ${spans.map((s) => `${s.name}(${s.kind})`).join(", ")}`);
  return found[0]!;
};

describe("tracing (OTLP/HTTP to a local receiver)", () => {
  for (const mode of ["legacy", "auto"] as const) {
    it(`puts proxy, ingress replica, handle call and callee replica in one trace (${mode === "auto" ? "2026-07-28" : "2025-11-25 session"})`, async () => {
      const traceId = hex(16);
      const parentSpanId = hex(8);
      const tracestate = "vendor=opaque-value,other=7";
      const { client, transport } = await connect(mode, `00-${traceId}-${parentSpanId}-01`, tracestate);
      const result = await client.callTool({ name: "greet", arguments: { name: "Ada" } });
      expect((result as { content: Array<{ text: string }> }).content[0]!.text).toBe("Hello, Ada!");

      // Each thread exports its own spans on its own batch timer, in any order: wait for the whole
      // chain (the assertions below then say which link is wrong if it is).
      const spans = await receiver.waitForTrace(traceId, chainFrom("tools/call greet"));
      expect(new Set(spans.map((s) => s.service))).toEqual(new Set(["tracing-it"]));

      const proxy = one(spans, "proxy span", (s) => s.name === "tools/call greet");
      expect(proxy.kind).toBe(SERVER);
      expect(proxy.parentSpanId).toBe(parentSpanId);
      expect(proxy.attributes).toMatchObject({
        "mcp.method.name": "tools/call",
        "gen_ai.tool.name": "greet",
        "gen_ai.operation.name": "execute_tool",
        "mcp.protocol.version": client.getNegotiatedProtocolVersion(),
        "http.request.method": "POST",
        "http.route": "/weather",
        "http.response.status_code": 200,
      });
      expect(proxy.attributes["jsonrpc.request.id"]).toEqual(expect.any(String));
      if (mode === "legacy") expect(proxy.attributes["mcp.session.id"]).toBe(transport.sessionId);
      else expect(proxy.attributes).not.toHaveProperty("mcp.session.id");

      const ingress = one(spans, "ingress replica span", (s) => s.parentSpanId === proxy.spanId);
      expect(ingress).toMatchObject({ name: "WeatherDesk/fetch", kind: SERVER });
      expect(ingress.attributes).toMatchObject({ "stingray.app": "weather", "stingray.deployment": "WeatherDesk", "rpc.method": "fetch" });
      expect(ingress.attributes["stingray.replica"]).toEqual(expect.any(String));

      const call = one(spans, "handle CLIENT span", (s) => s.parentSpanId === ingress.spanId);
      expect(call).toMatchObject({ name: "Greeter/greet", kind: CLIENT });
      expect(call.attributes).toMatchObject({ "rpc.service": "Greeter", "rpc.method": "greet", "stingray.app": "weather" });

      const callee = one(spans, "callee replica span", (s) => s.parentSpanId === call.spanId);
      expect(callee).toMatchObject({ name: "Greeter/greet", kind: SERVER });
      expect(callee.attributes).toMatchObject({ "stingray.deployment": "Greeter" });
      expect(callee.attributes["stingray.replica"]).not.toBe(ingress.attributes["stingray.replica"]);
      // The caller's tracestate goes with the trace across both thread hops.
      expect([proxy, ingress, call, callee].map((s) => s.traceState)).toEqual([tracestate, tracestate, tracestate, tracestate]);

      const access = logLines.filter((l) => l.type === "access" && l.traceId === traceId);
      expect(access.find((l) => l.mcpMethod === "tools/call")).toMatchObject({ spanId: proxy.spanId, tool: "greet", status: 200 });
      // Every request of this client carried the same traceparent: a session's initialize too.
      if (mode === "legacy") expect(access.some((l) => l.mcpMethod === "initialize")).toBe(true);
    }, 30_000);
  }

  it("starts a new trace for a request without traceparent, and logs its id", async () => {
    const { client } = await connect("auto");
    const before = logLines.length;
    await client.callTool({ name: "forecast", arguments: { city: "Paris" } });
    const line = await waitFor(() => logLines.slice(before).find((l) => l.type === "access" && l.mcpMethod === "tools/call"));
    expect(line.traceId).toMatch(/^[0-9a-f]{32}$/);
    const spans = await receiver.waitForTrace(line.traceId as string, (s) => s.some((x) => x.name === "WeatherDesk/fetch") && s.some((x) => x.name === "tools/call forecast"));
    const proxy = one(spans, "proxy span", (s) => s.name === "tools/call forecast");
    expect(proxy.parentSpanId).toBe("");
    expect(one(spans, "ingress span", (s) => s.name === "WeatherDesk/fetch").parentSpanId).toBe(proxy.spanId);
  }, 30_000);
});

describe("tracing: replicas that stop", () => {
  it("export their spans before their threads end (a graceful stop does not wait for the batch timer)", async () => {
    const handle = await serve.run(composition, { name: "math", routePrefix: null });
    // A main-thread handle call: no parent, so the Combiner's span starts the trace.
    expect(await handle.compute.remote(5)).toBe(13);
    const before = receiver.spans.length;
    await serve.delete("math");
    // No waiting: delete resolved after each replica was told to flush and answered.
    const spans = receiver.spans.slice(before);
    const root = one(spans, "Combiner span", (s) => s.name === "Combiner/compute");
    expect(root.parentSpanId).toBe("");
    const trace = spans.filter((s) => s.traceId === root.traceId);
    const clients = trace.filter((s) => s.kind === CLIENT && s.parentSpanId === root.spanId).map((s) => s.name).sort();
    expect(clients).toEqual(["Adder/add", "Multiplier/multiply"]);
    for (const name of clients) {
      const client = trace.find((s) => s.kind === CLIENT && s.name === name)!;
      one(trace, `${name} callee span`, (s) => s.kind === SERVER && s.parentSpanId === client.spanId && s.name === name);
    }
  }, 30_000);
});

/** True once the spans hold a span named `root` and three descendants, each the child of the last. */
function chainFrom(root: string) {
  return (spans: ReceivedSpan[]): boolean => {
    let level = spans.filter((s) => s.name === root);
    for (let depth = 0; depth < 3 && level.length > 0; depth++) {
      const ids = new Set(level.map((s) => s.spanId));
      level = spans.filter((s) => ids.has(s.parentSpanId));
    }
    return level.length > 0;
  };
}

async function waitFor<T>(get: () => T | undefined, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}
