// One call that gives a runtime its observability: a metrics registry, a logger, the router the
// proxy mounts (metrics, dashboard, status and admin APIs) and the per-request hook the proxy
// calls (`ProxyOptions.routers` / `ProxyOptions.onRequest`). The runtime supplies the status
// snapshot and, optionally, the admin actions.

import type { RequestHandler } from "express";
import { exposureWarning } from "./admin-guard.ts";
import { createObservabilityRouter, type AdminActions } from "./http.ts";
import { createLogger, logAccess, type Logger } from "./logger.ts";
import { RuntimeMetrics, type RequestEvent, type RuntimeMetricsOptions } from "./metrics.ts";
import type { StatusProvider } from "./status.ts";

export { RuntimeMetrics, isErrorStatus } from "./metrics.ts";
export type { RequestEvent, ErrorRecord, RuntimeMetricsOptions, TimeseriesSnapshot } from "./metrics.ts";
export { createLogger, logAccess, scrubSecrets, REDACT_PATHS } from "./logger.ts";
export type { Logger, LoggerOptions, AccessLogEntry } from "./logger.ts";
export { createObservabilityRouter, adminErrorAnswer } from "./http.ts";
export type { AdminActions, ObservabilityRouterOptions } from "./http.ts";
export { requestIdMiddleware, resolveRequestId, requestIdOf, REQUEST_ID_HEADER } from "./request-id.ts";
export { checkAdminAccess, checkReadAccess, exposureWarning, isLoopbackAddress } from "./admin-guard.ts";
export type * from "./status.ts";

/** What the proxy reports per finished request (structurally ProxyRequestEvent). */
export interface ObservedRequest extends RequestEvent {
  status: number;
  /** HTTP method and path for the access log (the route prefix stands in for a missing path). */
  method?: string;
  path?: string;
  /** The request's trace and the proxy's span (tracing on), for the access log. */
  traceId?: string;
  spanId?: string;
}

export interface ObservabilityOptions {
  status: StatusProvider;
  /** What /metrics reports (cluster mode: this node's replicas only); default `status`. */
  metricsStatus?: StatusProvider;
  admin?: AdminActions;
  /** Admin API token; default STINGRAY_ADMIN_TOKEN. Without one the admin API is loopback-only. */
  adminToken?: string;
  /** Serve the dashboard and its APIs to non-loopback clients without the token (default false). */
  publicDashboard?: boolean;
  logger?: Logger;
  metrics?: RuntimeMetricsOptions;
  /** Write an access-log line per application request. Default true. */
  accessLog?: boolean;
}

export interface Observability {
  metrics: RuntimeMetrics;
  logger: Logger;
  /** Mount at the root, before the application routes. */
  router: RequestHandler;
  /** Give to the proxy as `onRequest`: records metrics and writes the access log. Never throws. */
  onRequest(event: ObservedRequest): void;
  /** The start-up warning for this bind address (what answers other hosts), if any. */
  exposureWarning(boundHost: string): string | undefined;
}

export function createObservability(options: ObservabilityOptions): Observability {
  const logger = options.logger ?? createLogger({ bindings: { component: "stingray" } });
  const metrics = new RuntimeMetrics(options.metrics);
  const adminToken = options.adminToken ?? (process.env.STINGRAY_ADMIN_TOKEN || undefined);
  const publicDashboard = options.publicDashboard ?? false;
  const router = createObservabilityRouter({ metrics, status: options.status, metricsStatus: options.metricsStatus, admin: options.admin, adminToken, publicDashboard, logger });
  const accessLog = options.accessLog ?? true;
  return {
    metrics,
    logger,
    router,
    exposureWarning: (boundHost) => exposureWarning({ boundHost, adminTokenSet: Boolean(adminToken), publicDashboard }),
    onRequest(event) {
      try {
        metrics.recordRequest(event);
        if (accessLog) {
          logAccess(logger, {
            method: event.method,
            path: event.path ?? event.route,
            status: event.status,
            latencyMs: event.latencyMs,
            requestId: event.requestId,
            app: event.app,
            deployment: event.deployment,
            replica: event.replica,
            mcpMethod: event.mcpMethod,
            tool: event.tool,
            traceId: event.traceId,
            spanId: event.spanId,
          });
        }
      } catch (err) {
        logger.warn({ err }, "observability: recording a request failed");
      }
    },
  };
}
