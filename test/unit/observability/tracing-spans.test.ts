// The spans of tracing-spans.ts on the real SDK, exported to a loopback OTLP/HTTP receiver: names,
// kinds, parents and attributes of the proxy's request span (plain HTTP and MCP), a replica call's
// span and a handle call's CLIENT span, and how failures are marked.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTracingSdk, type TracingSdk } from "../../../src/observability/tracing-sdk.ts";
import { createReplicaTracer, createRequestTracer } from "../../../src/observability/tracing-spans.ts";
import { resolveTracingOptions } from "../../../src/observability/tracing-options.ts";
import { HTTP_HANDLER_METHOD } from "../../../src/runtime/http-message.ts";
import { TimeoutError } from "../../../src/errors.ts";
import { startOtlpReceiver, type OtlpReceiver } from "../../fixtures/otlp-receiver.ts";

const SERVER = 2;
const CLIENT = 3;
const ERROR = 2;
let receiver: OtlpReceiver;
let sdk: TracingSdk;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  sdk = createTracingSdk(resolveTracingOptions({ endpoint: `${receiver.url}/v1/traces`, serviceName: "unit" }, {})!);
});
afterAll(async () => {
  await sdk.shutdown();
  await receiver.close();
});

const info = { method: "POST", path: "/shop/mcp", app: "shop", deployment: "Front", route: "/shop" };

describe("tracing spans", () => {
  it("names a plain request `{method} {route}` and marks a 5xx as an error", async () => {
    const span = createRequestTracer(sdk).startRequest({}, { ...info, path: "/shop/items" });
    expect(span.traceparent).toBe(`00-${span.traceId}-${span.spanId}-01`);
    span.end(503, "ReplicaDiedError: gone");
    await sdk.forceFlush();
    const [s] = await receiver.waitForTrace(span.traceId, (x) => x.length === 1);
    expect(s).toMatchObject({ name: "POST /shop", kind: SERVER, parentSpanId: "", status: { code: ERROR, message: "ReplicaDiedError: gone" } });
    expect(s!.attributes).toMatchObject({ "http.request.method": "POST", "http.route": "/shop", "url.path": "/shop/items", "http.response.status_code": 503, "error.type": "503" });
  });

  it("renames an MCP request after its method and target, and a 4xx is no error", async () => {
    const span = createRequestTracer(sdk).startRequest({ traceparent: `00-${"1".repeat(32)}-${"2".repeat(16)}-01` }, info);
    span.describeMcp({ jsonrpc: "2.0", id: 3, method: "prompts/get", params: { name: "haiku" } }, { sessionId: "s1", protocolVersion: "2025-11-25" });
    span.end(404);
    await sdk.forceFlush();
    const [s] = await receiver.waitForTrace("1".repeat(32), (x) => x.length === 1);
    expect(s).toMatchObject({ name: "prompts/get haiku", parentSpanId: "2".repeat(16) });
    expect(s!.status.code ?? 0).not.toBe(ERROR);
    expect(s!.attributes).toMatchObject({ "mcp.method.name": "prompts/get", "gen_ai.prompt.name": "haiku", "mcp.session.id": "s1", "jsonrpc.request.id": "3" });
  });

  it("carries the incoming tracestate from the proxy span through replica and handle call spans", async () => {
    const traceId = "3".repeat(32);
    const tracestate = "vendor=opaque-value,other=7";
    const proxy = createRequestTracer(sdk).startRequest({ traceparent: `00-${traceId}-${"4".repeat(16)}-01`, tracestate }, info);
    expect(proxy.tracestate).toBe(tracestate);
    const ingress = createReplicaTracer(sdk, { appName: "shop", deploymentName: "Front", replicaId: "Front#a1" }).startCall(proxy.traceparent, HTTP_HANDLER_METHOD, proxy.tracestate);
    const client = ingress.startHandleCall({ app: "shop", deployment: "Cart" }, "add");
    expect(client.tracestate).toBe(tracestate);
    const callee = createReplicaTracer(sdk, { appName: "shop", deploymentName: "Cart", replicaId: "Cart#b2" }).startCall(client.traceparent, "add", client.tracestate);
    for (const s of [callee, client, ingress]) s.end();
    proxy.end(200);
    await sdk.forceFlush();
    const spans = await receiver.waitForTrace(traceId, (x) => x.length === 4);
    expect(spans.map((s) => s.traceState)).toEqual([tracestate, tracestate, tracestate, tracestate]);
    // Without one, none is made up.
    const plain = createReplicaTracer(sdk, { appName: "shop", deploymentName: "Cart", replicaId: "Cart#b2" }).startCall(undefined, "add");
    expect(plain.tracestate).toBeUndefined();
    plain.end();
  });

  it("links replica call spans and handle CLIENT spans through their traceparents", async () => {
    const replica = createReplicaTracer(sdk, { appName: "shop", deploymentName: "Front", replicaId: "Front#a1" });
    const root = replica.startCall(undefined, HTTP_HANDLER_METHOD);
    const client = root.startHandleCall({ app: "shop", deployment: "Cart" }, "add");
    const callee = createReplicaTracer(sdk, { appName: "shop", deploymentName: "Cart", replicaId: "Cart#b2" }).startCall(client.traceparent, "add");
    callee.end(new TimeoutError("slow"));
    client.end(new TimeoutError("slow"));
    root.end();
    await sdk.forceFlush();
    const traceId = root.traceparent.split("-")[1]!;
    const spans = await receiver.waitForTrace(traceId, (x) => x.length === 3);
    const byName = (n: string, kind: number) => spans.find((s) => s.name === n && s.kind === kind)!;
    const front = byName("Front/fetch", SERVER);
    const call = byName("Cart/add", CLIENT);
    const cart = byName("Cart/add", SERVER);
    expect(front.parentSpanId).toBe("");
    expect(front.attributes).toMatchObject({ "rpc.system": "stingray", "rpc.method": "fetch", "stingray.replica": "Front#a1" });
    expect(call).toMatchObject({ parentSpanId: front.spanId, status: { code: ERROR } });
    expect(call.attributes).toMatchObject({ "rpc.service": "Cart", "rpc.method": "add", "error.type": new TimeoutError("x").code });
    expect(cart).toMatchObject({ parentSpanId: call.spanId, status: { code: ERROR, message: "slow" } });
    expect(cart.attributes).toMatchObject({ "stingray.deployment": "Cart", "stingray.replica": "Cart#b2" });
  });
});
