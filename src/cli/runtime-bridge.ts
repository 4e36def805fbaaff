// What the CLI needs from a runtime, as a small interface: start one with the CLI's options, deploy
// and delete applications, read its status, shut it down, and learn when it has stopped. The real
// implementation adapts the serve layer (serve-bridge.ts); unit tests use a fake.

import type { Application } from "../deployments/deployment.ts";
import type { HttpServerOptions } from "../ingress/options.ts";
import type { AdminActions } from "../observability/http.ts";
import type { Logger } from "../observability/logger.ts";
import type { StatusSnapshot } from "../observability/status.ts";
import type { TracingOptions } from "../observability/tracing-options.ts";
import type { ClusterOptions } from "../cluster/options.ts";

export interface RuntimeStartOptions {
  host: string;
  port: number;
  /** The HTTP server's timeouts, connection cap and dashboard access (defaults when unset). */
  http?: HttpServerOptions;
  /** Logical resources the node offers; undefined = detect. */
  numCpus?: number;
  numGpus?: number;
  /** The admin API's actions (deploy, shutdown), served by the runtime's HTTP proxy. */
  admin: AdminActions;
  adminToken?: string;
  logger?: Logger;
  /** Join a cluster on NATS as one node; deploys then go to the cluster's desired state. */
  cluster?: ClusterOptions;
  /** OpenTelemetry tracing (the config file's `tracing`); OTEL_* turn it on too. */
  tracing?: TracingOptions;
}

export interface BridgeDeployOptions {
  name: string;
  routePrefix: string;
  /** "/abs/module.ts:export" the app was loaded from: required in cluster mode (every node imports it). */
  importPath?: string;
  /** Builder-function arguments it was loaded with. */
  args?: Record<string, unknown>;
  /** Cluster mode: only nodes whose labels include all of these get its replicas. */
  nodeSelector?: Record<string, string>;
}

export interface RuntimeBridge {
  /** Base URL the proxy listens on, e.g. http://127.0.0.1:8000 (the real port when 0 was asked). */
  readonly address: string;
  /** Deploys (or redeploys) an application; resolves once it runs, rejects when it failed. */
  deploy(app: Application, options: BridgeDeployOptions): Promise<void>;
  delete(name: string): Promise<void>;
  status(): Promise<StatusSnapshot>;
  /** The MCP endpoint path under the route prefix when the app's ingress is MCP (e.g. "/mcp"). */
  mcpPath(app: Application): string | undefined;
  /** Drains and stops everything; idempotent. */
  shutdown(): Promise<void>;
  /** Settles when the runtime has stopped, whoever stopped it. */
  readonly closed: Promise<void>;
}

export type RuntimeStarter = (options: RuntimeStartOptions) => Promise<RuntimeBridge>;
