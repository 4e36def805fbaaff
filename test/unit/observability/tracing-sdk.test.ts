import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SpanKind, trace } from "@opentelemetry/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTracingSdk } from "../../../src/observability/tracing-sdk.ts";
import { resolveTracingOptions } from "../../../src/observability/tracing-options.ts";

// A real OTLP/HTTP receiver on loopback: decodes the exporter's JSON bodies.
let server: Server;
let url = "";
const bodies: any[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      bodies.push({ path: req.url, contentType: req.headers["content-type"], json: JSON.parse(Buffer.concat(chunks).toString("utf8")) });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe("createTracingSdk", () => {
  it("exports spans as OTLP/HTTP JSON, continuing the incoming traceparent", async () => {
    const options = resolveTracingOptions(undefined, { OTEL_TRACES_EXPORTER: "otlp", OTEL_EXPORTER_OTLP_ENDPOINT: url, OTEL_SERVICE_NAME: "svc-test" })!;
    const sdk = createTracingSdk(options);
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const parentSpanId = "00f067aa0ba902b7";
    const parent = sdk.extract({ traceparent: `00-${traceId}-${parentSpanId}-01` });
    expect(trace.getSpanContext(parent)?.traceId).toBe(traceId);

    const span = sdk.tracer.startSpan("tools/call get_alerts", { kind: SpanKind.SERVER, attributes: { "mcp.method.name": "tools/call" } }, parent);
    span.end();
    await sdk.forceFlush();
    await sdk.shutdown();

    expect(bodies.length).toBeGreaterThan(0);
    expect(bodies[0].path).toBe("/v1/traces");
    expect(bodies[0].contentType).toMatch(/application\/json/);
    const rs = bodies[0].json.resourceSpans[0];
    expect(rs.resource.attributes).toContainEqual({ key: "service.name", value: { stringValue: "svc-test" } });
    const exported = rs.scopeSpans[0].spans[0];
    expect(exported.name).toBe("tools/call get_alerts");
    expect(exported.traceId).toBe(traceId);
    expect(exported.parentSpanId).toBe(parentSpanId);
    expect(exported.kind).toBe(2); // SPAN_KIND_SERVER in OTLP
    expect(exported.attributes).toContainEqual({ key: "mcp.method.name", value: { stringValue: "tools/call" } });
  });

  it("starts a new trace when there is no (or a malformed) traceparent", () => {
    const sdk = createTracingSdk(resolveTracingOptions(true, {})!);
    expect(trace.getSpanContext(sdk.extract({}))).toBeUndefined();
    expect(trace.getSpanContext(sdk.extract({ traceparent: "garbage" }))).toBeUndefined();
    void sdk.shutdown();
  });
});
