// The CPU cost of tracing one request, without the noise of a load test: the spans stingray makes
// for an MCP tools/call — the proxy's SERVER span (MCP attributes from the parsed body), the
// ingress replica's call span, and for a tool that calls another deployment the handle's CLIENT span
// and the callee's span — started, ended, batched and exported as OTLP/HTTP JSON to a no-op
// collector (lib/otlp-sink.ts), the main thread's and a replica thread's providers each with its
// own exporter as in the runtime. CPU is process.cpuUsage() over all threads, per request, median
// of the rounds (the no-op collector runs in this process too, so its few µs of reading are
// counted); compare it with a server's CPU per request (benchmarks/lib/thread-cpu.ts, ~500 µs
// for the 1-replica mcp-throughput server on a 2-core machine) to read the throughput cost when CPU
// bound. Not part of `npm run bench`; mcp-throughput measures tracing end to end.
//
//   npx tsx benchmarks/tracing-cost.ts      TRACING_COST_N=20000 requests per round, TRACING_COST_ROUNDS=5

import { startOtlpSink } from "./lib/otlp-sink.ts";
import { median } from "./lib/stats.ts";
import { resolveTracingOptions } from "../src/observability/tracing-options.ts";
import { createTracingSdk } from "../src/observability/tracing-sdk.ts";
import { createReplicaTracer, createRequestTracer } from "../src/observability/tracing-spans.ts";
import { HTTP_HANDLER_METHOD } from "../src/runtime/http-message.ts";

const N = Number(process.env.TRACING_COST_N ?? 20_000);
const ROUNDS = Number(process.env.TRACING_COST_ROUNDS ?? 5);

const sink = await startOtlpSink();
const options = resolveTracingOptions({ endpoint: `${sink.url}/v1/traces`, sampler: "always_on" }, {})!;
const mainSdk = createTracingSdk(options);
const ingressSdk = createTracingSdk(options);
const calleeSdk = createTracingSdk(options);
const requests = createRequestTracer(mainSdk);
const ingress = createReplicaTracer(ingressSdk, { appName: "bench", deploymentName: "EchoWeather", replicaId: "r-1" });
const callee = createReplicaTracer(calleeSdk, { appName: "bench", deploymentName: "Forecast", replicaId: "r-2" });

const headers = { host: "127.0.0.1:8000", "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2026-07-28" };
const body = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "get_forecast", arguments: { latitude: 1, longitude: 2 } } };
const info = { method: "POST", path: "/mcp", app: "bench", deployment: "EchoWeather", route: "/" };

async function round(n: number, handleCall: boolean): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const span = requests.startRequest(headers, info);
    span.describeMcp(body, { sessionId: undefined, protocolVersion: "2026-07-28" });
    const call = ingress.startCall(span.traceparent, HTTP_HANDLER_METHOD);
    if (handleCall) {
      const client = call.startHandleCall({ app: "bench", deployment: "Forecast" }, "forecast");
      callee.startCall(client.traceparent, "forecast").end();
      client.end();
    }
    call.end();
    span.end(200);
    // Let the batch processors export as a server's event loop would between requests.
    if (i % 256 === 255) await new Promise((r) => setImmediate(r));
  }
  await Promise.all([mainSdk.forceFlush(), ingressSdk.forceFlush(), calleeSdk.forceFlush()]);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
}

const results: Record<string, number[]> = { "2 spans (proxy, ingress replica)": [], "4 spans (+ handle call, callee replica)": [] };
await round(5_000, true); // warm-up: JIT, sockets
for (let r = 0; r < ROUNDS; r++) {
  results["2 spans (proxy, ingress replica)"]!.push(await round(N, false));
  results["4 spans (+ handle call, callee replica)"]!.push(await round(N, true));
}
for (const [what, list] of Object.entries(results)) {
  console.log(`tracing cost per request, ${what}: ${median(list).toFixed(1)} µs CPU (rounds: ${list.map((x) => x.toFixed(1)).join(", ")})`);
}
console.log(`collector received ${sink.requests()} export requests, ${(sink.bytes() / 1e6).toFixed(1)} MB (${(sink.bytes() / (5_000 + ROUNDS * 2 * N) / 1024).toFixed(2)} KiB per request on average)`);
await Promise.all([mainSdk.shutdown(), ingressSdk.shutdown(), calleeSdk.shutdown()]);
await sink.close();
