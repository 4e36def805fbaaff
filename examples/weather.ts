// The Ray Serve MCP tutorial's weather server on stingray: the MCP quickstart's get_alerts and
// get_forecast tools (US National Weather Service API) served over Streamable HTTP at /mcp, one
// replica per worker thread, autoscaled between 1 and 20 replicas at 5 ongoing requests each.
//
//   npx tsx examples/weather.ts                    # http://127.0.0.1:8000/mcp
//   PORT=9000 HOST=0.0.0.0 npx tsx examples/weather.ts
//   npx stingray run examples/weather.ts:app       # the same app through the CLI
//
// Environment: PORT (default 8000; 0 = any free port), HOST (default 127.0.0.1), NWS_API_BASE
// (default https://api.weather.gov), NWS_TIMEOUT_MS (default 10000).
//
// JWT auth (off unless WEATHER_JWT_ISSUER is set; lib/weather-auth.ts): the endpoint then takes
// only access tokens from that issuer for this resource, and both tools need `weather:read`:
//
//   WEATHER_JWT_ISSUER=https://auth.example.com \
//   WEATHER_JWT_AUDIENCE=http://127.0.0.1:8000/mcp \
//   WEATHER_JWKS_URI=https://auth.example.com/.well-known/jwks.json \
//   WEATHER_RATE_LIMIT_RPS=5 npx tsx examples/weather.ts
//
// In code that is `mcpApp(build, { auth: { jwt: { issuer, audience, jwksUri }, scopes: { tools:
// { get_alerts: ["weather:read"] } } }, rateLimit: { requestsPerS: 5 } })`; clients find the
// issuer in /.well-known/oauth-protected-resource/mcp and send `Authorization: Bearer <token>`.
//
// Tracing (OpenTelemetry, off unless asked for; README "Tracing"): point the standard variables
// at an OTLP/HTTP collector and each request becomes one trace, from the proxy's
// `tools/call get_forecast` span to the replica's `WeatherMCP/fetch` span:
//
//   OTEL_TRACES_EXPORTER=otlp OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 \
//   OTEL_SERVICE_NAME=weather npx tsx examples/weather.ts
//
// (In code: `serve.run(app, { tracing: { endpoint: "http://localhost:4318/v1/traces" } })`.) The
// access log's lines then carry each request's `traceId`.
//
// Every replica's worker thread, and the CLI, import this module to find the class; only running
// it as the program (`tsx examples/weather.ts`) starts a runtime.

import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { isMainThread } from "node:worker_threads";
import { bind, deployment, ingress, mcpApp, serve } from "stingray";
import { nwsOptionsFromEnv } from "./lib/nws.ts";
import { weatherAccessFromEnv } from "./lib/weather-auth.ts";
import { buildWeatherServer } from "./lib/weather-server.ts";

@deployment({
  autoscalingConfig: { minReplicas: 1, maxReplicas: 20, targetOngoingRequests: 5 },
  actorOptions: { numCpus: 0.2 },
})
@ingress(mcpApp(buildWeatherServer, weatherAccessFromEnv()))
export class WeatherMCP {}

export const app = bind(WeatherMCP);

if (isEntryPoint()) await main();

async function main(): Promise<void> {
  let port: number;
  try {
    // Fail at start-up, naming the variable, rather than on every tool call.
    nwsOptionsFromEnv();
    port = parsePort(process.env.PORT);
  } catch (err) {
    console.error(`weather: ${(err as Error).message}`);
    process.exit(2);
  }
  try {
    await serve.run(app, { name: "weather", host: process.env.HOST || "127.0.0.1", port });
  } catch (err) {
    console.error("weather: could not start:", err);
    await serve.shutdown().catch(() => {});
    process.exit(1);
  }
  // serve.run installed SIGINT/SIGTERM handlers: they drain in-flight requests, then exit.
  console.log(`weather MCP server listening on ${serve.address()}/mcp`);
}

function parsePort(raw: string | undefined): number {
  if (raw === undefined || raw === "") return 8000;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`PORT must be an integer from 0 to 65535, got ${JSON.stringify(raw)}`);
  }
  return port;
}

/** True when this file is the program node was asked to run, on the main thread. */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!isMainThread || !script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}
