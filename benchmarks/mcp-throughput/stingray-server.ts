// The stingray side of the mcp-throughput benchmark: the same tool (./tool.ts) as an
// @ingress(mcpApp(...)) deployment with BENCH_REPLICAS replicas (default 1), served by serve.run
// at the root, so the endpoint is http://127.0.0.1:PORT/mcp like the SDK baseline's. Prints
// "ready on <url>". A worker thread importing this file only gets the class. With BENCH_JWT_JWKS
// (set by the benchmark's JWT variant, ./jwt.ts) the endpoint takes only JWT access tokens from
// BENCH_JWT_ISSUER for BENCH_JWT_AUDIENCE, and the tool needs the weather:read scope.

import { isMainThread } from "node:worker_threads";
import { bind, deployment } from "../../src/deployments/decorator.ts";
import { ingress } from "../../src/deployments/ingress.ts";
import { mcpApp } from "../../src/deployments/mcp-app.ts";
import { serve } from "../../src/serve.ts";
import type { McpAppOptions } from "../../src/deployments/mcp-app.ts";
import { buildEchoWeatherServer, TOOL_NAME } from "./tool.ts";

const replicas = Number(process.env.BENCH_REPLICAS ?? 1);
const jwks = process.env.BENCH_JWT_JWKS;
const options: McpAppOptions = jwks
  ? {
      auth: {
        jwt: { issuer: process.env.BENCH_JWT_ISSUER!, audience: process.env.BENCH_JWT_AUDIENCE!, jwks: JSON.parse(jwks) },
        scopes: { tools: { [TOOL_NAME]: ["weather:read"] } },
      },
    }
  : {};

@deployment({
  name: "EchoWeather",
  numReplicas: replicas,
  maxOngoingRequests: Number(process.env.BENCH_MAX_ONGOING ?? 16),
  actorOptions: { numCpus: 0.1 },
})
@ingress(mcpApp(buildEchoWeatherServer, options))
export class EchoWeatherMcp {}

export const app = bind(EchoWeatherMcp);

// BENCH_NO_SERVE=1: import the class and app only (profiling scripts that start serve themselves).
if (isMainThread && !process.env.BENCH_NO_SERVE) {
  const port = Number(process.env.PORT ?? 8000);
  await serve.run(app, { name: "bench", routePrefix: "/", host: "127.0.0.1", port });
  console.log(`ready on http://127.0.0.1:${port}/mcp`);
}
