// The contract between the HTTP proxy (src/ingress) and the serve layer that owns applications.
// The proxy never sees replicas or threads: it asks an HttpDispatcher to run a request on some
// replica of an application's ingress deployment (or on a given one, for sticky MCP sessions).

import type { ReplicaId } from "../runtime/ids.ts";
import type { ReplicaPlacement } from "../runtime/replica-picker.ts";
import type { HttpResponseHead, SerializedHttpRequest } from "../runtime/http-message.ts";
import type { IngressDefinition } from "../deployments/ingress-definition.ts";
import type { RequestHandler } from "express";
import type { ConnectionLimits } from "./options.ts";
import type { RequestTracer } from "../observability/tracing.ts";

export interface AppRoute {
  appName: string;
  /** "/" or "/something" without a trailing slash. */
  routePrefix: string;
  /** What `@ingress(...)` declared on the app's ingress deployment (main-thread options). */
  ingress: IngressDefinition;
  /** Name of the ingress deployment (for metrics labels). */
  deploymentName?: string;
}

export interface DispatchOptions {
  signal: AbortSignal;
  /** Pin to this replica (sticky sessions); if it is gone the dispatch rejects with ReplicaDiedError. */
  replicaId?: ReplicaId;
  timeoutMs?: number;
  /** Where a new request may go (an initialize that binds a new session: a replica with session room). */
  placement?: ReplicaPlacement;
  /**
   * A long-lived stream (2026-07-28 `subscriptions/listen`, a legacy GET SSE stream): it takes a
   * `maxOngoingStreams` slot, not a request slot, and past that bound the dispatch rejects with
   * StreamLimitError.
   */
  longLived?: boolean;
  /** The proxy's request span (tracing on): parent of the ingress replica's call span. */
  traceparent?: string;
  /** The W3C tracestate going with it. */
  tracestate?: string;
}

export interface DispatchResult {
  replicaId: ReplicaId;
  head: HttpResponseHead;
  /** Body chunks as the replica produces them; ends when the Response body ends. */
  body: AsyncIterable<Uint8Array>;
}

export interface HttpDispatcher {
  routes(): AppRoute[];
  dispatch(appName: string, request: SerializedHttpRequest, options: DispatchOptions): Promise<DispatchResult>;
  /** Whether a replica is still alive (sessions on a dead replica answer 404). */
  isReplicaAlive(replicaId: ReplicaId): boolean;
}

export interface ProxyOptions {
  host: string;
  port: number;
  dispatcher: HttpDispatcher;
  /**
   * Host header names accepted on every app unless the app sets its own (DNS-rebinding guard).
   * Default: the localhost names when `host` is a loopback address, else no Host check.
   */
  allowedHosts?: string[];
  /** Origin hostnames accepted on MCP endpoints unless the app sets its own. Default: localhost names. */
  allowedOrigins?: string[];
  /** Request timeouts, keep-alive idle timeout and connection cap (default: the `http` options' defaults). */
  connectionLimits?: ConnectionLimits;
  /**
   * Extra express handlers/routers mounted at the root (metrics, dashboard, admin API). They own the
   * runtime's reserved paths (/-/*, /metrics) and any path no application serves.
   */
  routers?: RequestHandler[];
  /**
   * Whether this process should get traffic, for `GET /-/ready` (503 with the reasons when not);
   * `/-/healthz` stays a plain liveness answer. Default: always ready while not closing.
   */
  readiness?: () => Readiness;
  /** Called once per finished application request (metrics, access log). Never throws into the proxy. */
  onRequest?: (event: ProxyRequestEvent) => void;
  /** Structured logger (pino-compatible); the proxy never logs headers or tokens. */
  logger?: ProxyLogger;
  /** Traces each application request (tracing on); absent, the proxy makes no span. */
  tracer?: RequestTracer;
}

export interface Readiness {
  ready: boolean;
  /** Why not, one line each (e.g. a replica thread that would not exit). */
  reasons: string[];
}

export interface ProxyRequestEvent {
  app: string;
  deployment: string;
  /** The route prefix that matched. */
  route: string;
  /** HTTP method and request path (without the query, which can carry a credential). */
  method?: string;
  path?: string;
  status: number;
  latencyMs: number;
  mcpMethod?: string;
  tool?: string;
  requestId?: string;
  error?: string;
  replica?: string;
  /** Answered 429 by the app's rate limit. */
  rateLimited?: boolean;
  /** The request's trace (tracing on), for the access log. */
  traceId?: string;
  spanId?: string;
}

export interface ProxyLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface Proxy {
  /** Starts listening; resolves with the bound address (port 0 picks a free port). */
  listen(): Promise<{ host: string; port: number }>;
  /** Stops accepting, lets in-flight exchanges finish for up to `graceMs`, then closes the server. */
  close(options?: { graceMs?: number }): Promise<void>;
  /** Legacy MCP sessions per replica, from the proxy's session table (/metrics). */
  sessionsByReplica(): Array<{ app: string; deployment: string; replica: string; sessions: number }>;
}
