// Adapts the serve layer's Runtime (src/runtime/runtime.ts) to the CLI's RuntimeBridge: starts it
// with the CLI's host/port/resources and admin actions, and turns a busy port into a message that
// names the option to change.

import { ingressOf } from "../deployments/ingress.ts";
import type { Application } from "../deployments/deployment.ts";
import { Runtime } from "../runtime/runtime.ts";
import { InvalidOptionsError } from "../errors.ts";
import { CliError } from "./errors.ts";
import type { RuntimeBridge, RuntimeStartOptions } from "./runtime-bridge.ts";

export async function startServeRuntime(options: RuntimeStartOptions): Promise<RuntimeBridge> {
  let runtime: Runtime;
  try {
    runtime = await Runtime.start({
      numCpus: options.numCpus,
      numGpus: options.numGpus,
      http: { ...options.http, host: options.host, port: options.port },
      admin: options.admin,
      adminToken: options.adminToken,
      logger: options.logger,
      cluster: options.cluster,
      tracing: options.tracing,
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") throw new CliError(`cannot listen on ${options.host}:${options.port}: the port is in use (choose another with --port)`, 1);
    if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND") throw new CliError(`cannot listen on ${options.host}:${options.port}: no such local address (--host)`, 1);
    if (code === "EACCES") throw new CliError(`cannot listen on ${options.host}:${options.port}: permission denied (--port)`, 1);
    if (options.cluster && !(err instanceof InvalidOptionsError)) {
      throw new CliError(`cannot join the cluster at ${options.cluster.servers.join(",")}: ${(err as Error)?.message ?? String(err)}`, 1);
    }
    throw err;
  }
  const cluster = runtime.cluster;
  return {
    get address() {
      return runtime.address!;
    },
    async deploy(app, { name, routePrefix, importPath, args, nodeSelector }) {
      if (!cluster) {
        await runtime.deploy(app, { name, routePrefix, wait: true });
        return;
      }
      // Cluster mode: write the desired state; the leader places it and every node imports it by path.
      if (!importPath) throw new InvalidOptionsError(`application "${name}": cluster mode deploys by import path ("module.ts:export")`);
      await cluster.deploy(app, { name, routePrefix, importPath, args, ...(nodeSelector ? { nodeSelector } : {}) });
      await cluster.waitForApplication(name);
    },
    delete: async (name) => {
      if (cluster && (await cluster.delete(name))) return;
      await runtime.delete(name);
    },
    status: async () => runtime.status(),
    mcpPath(app: Application) {
      const def = ingressOf(app.deployment.cls);
      if (def?.kind !== "mcp") return undefined;
      const path = (def.proxyOptions as { path?: unknown }).path;
      return typeof path === "string" ? path : "/mcp";
    },
    shutdown: () => runtime.shutdown(),
    closed: runtime.closed,
  };
}
