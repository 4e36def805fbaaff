// stingray from plain JavaScript: no decorators, no TypeScript, no tsx. A `greet(name)` MCP tool
// served over Streamable HTTP at /mcp by an ingress deployment that calls a second deployment
// through a handle. The decorator forms have call forms:
//   @deployment(options) class X {}   →  deploymentOf(X, options)
//   @ingress(definition) class X {}   →  ingress(definition)(X)   (before deploymentOf)
//
//   node app.mjs                                  # with the package installed (npm i stingray)
//   npm run build && node examples/greeter.mjs    # in this repository (or: npx tsx examples/greeter.mjs)
//   npx stingray run examples/greeter.mjs:app     # the same app through the CLI
//
// Environment: PORT (default 8000; 0 = any free port), HOST (default 127.0.0.1).
//
// Every replica's worker thread imports this module to find its class, so declaring the
// deployments must happen at top level; `serve.run` only starts a runtime in the main thread, and
// this file calls it only when run as the program.

import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { McpServer } from "@modelcontextprotocol/server";
import { bind, deploymentOf, getReplicaContext, ingress, mcpApp, serve } from "stingray";
import * as z from "zod";

/** A plain deployment: two replicas, a quarter CPU each. */
export class Greeter {
  greet(name) {
    return `Hello, ${name}! (from ${getReplicaContext().replicaId})`;
  }
}
deploymentOf(Greeter, { numReplicas: 2, actorOptions: { numCpus: 0.25 } });

/** The MCP ingress: one McpServer per replica, its tool calls the Greeter through a handle. */
export class GreeterMCP {
  constructor(greeter) {
    this.greeter = greeter;
  }
}
ingress(
  mcpApp((ctx) => {
    const server = new McpServer({ name: "greeter", version: "1.0.0" });
    server.registerTool(
      "greet",
      { description: "Greets someone by name", inputSchema: { name: z.string().min(1) } },
      async ({ name }) => ({
        content: [{ type: "text", text: await ctx.instance.greeter.greet.remote(name) }],
      }),
    );
    return server;
  }),
)(GreeterMCP);
deploymentOf(GreeterMCP, { numReplicas: 1, actorOptions: { numCpus: 0.25 } });

export const app = bind(GreeterMCP, bind(Greeter));

if (isEntryPoint()) {
  const port = process.env.PORT ? Number(process.env.PORT) : 8000;
  await serve.run(app, { name: "greeter", host: process.env.HOST || "127.0.0.1", port });
  // serve.run installed SIGINT/SIGTERM handlers: they drain in-flight requests, then exit.
  console.log(`greeter MCP server listening on ${serve.address()}/mcp`);
}

function isEntryPoint() {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}
