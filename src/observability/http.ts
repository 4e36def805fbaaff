// The runtime's own HTTP surface, as one express Router the proxy mounts at the root (before the
// application routes): Prometheus `/metrics`, the live dashboard `/-/dashboard`, the JSON APIs it
// polls (`/-/api/status`, `/-/api/timeseries`), and the admin API the CLI drives
// (`POST /-/api/deploy`, `POST /-/api/shutdown`). `/metrics` is open; the dashboard and its APIs
// go through `readGuard` (loopback clients or the admin token, unless `publicDashboard`); admin
// routes through `adminGuard` (loopback only, or a bearer token when one is configured — see
// admin-guard.ts). Every response carries X-Request-ID.

import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { dashboardAssets } from "../dashboard/assets.ts";
import { ErrorCode } from "../errors.ts";
import { adminGuard, readGuard } from "./admin-guard.ts";
import type { Logger } from "./logger.ts";
import type { RuntimeMetrics } from "./metrics.ts";
import { requestIdMiddleware } from "./request-id.ts";
import type { StatusProvider } from "./status.ts";

/** What the admin API can ask of the runtime. */
export interface AdminActions {
  /**
   * Applies a deploy request (the body the CLI posted: a config file, resolved). Resolves with a
   * JSON-safe summary; throws InvalidOptionsError (→ 400) for bad input.
   */
  deploy(body: unknown): Promise<unknown>;
  /** Starts a graceful shutdown. Called after the 202 answer has been sent. */
  shutdown(): Promise<void> | void;
}

export interface ObservabilityRouterOptions {
  metrics: RuntimeMetrics;
  status: StatusProvider;
  /** What /metrics reports: this process's own replicas (cluster mode); default `status`. */
  metricsStatus?: StatusProvider;
  /** Without it the admin routes answer 501. */
  admin?: AdminActions;
  /** When set, admin requests need `Authorization: Bearer <adminToken>` from any address. */
  adminToken?: string;
  /** Serve the dashboard and its APIs to non-loopback clients without the token (default false). */
  publicDashboard?: boolean;
  logger?: Logger;
  /** Largest deploy body accepted. Default 1 MiB. */
  adminBodyLimitBytes?: number;
}

// The dashboard loads only its own files and talks only to this origin.
const DASHBOARD_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'";

export function createObservabilityRouter(options: ObservabilityRouterOptions): Router {
  const { metrics, status, logger } = options;
  const router = express.Router();
  router.use(["/metrics", "/-/dashboard", "/-/api"], requestIdMiddleware());
  const reads = readGuard(options.adminToken, options.publicDashboard ?? false);

  router.get("/metrics", async (_req, res) => {
    try {
      metrics.observeStatus(await (options.metricsStatus ?? status)());
    } catch (err) {
      // Stale gauges beat no metrics: still answer with what the registry has.
      logger?.warn({ err }, "metrics: status snapshot failed");
    }
    res.setHeader("Content-Type", metrics.contentType);
    res.setHeader("Cache-Control", "no-store");
    res.send(await metrics.metricsText());
  });

  // The page links its assets by absolute path, so "/-/dashboard" and "/-/dashboard/" both work.
  router.get(["/-/dashboard", "/-/dashboard/"], reads, (_req, res) => sendAsset(res, "index.html"));
  router.get("/-/dashboard/:file", reads, (req, res, next) => {
    const file = String(req.params.file);
    if (!dashboardAssets().has(file)) return next();
    sendAsset(res, file);
  });

  router.get("/-/api/status", reads, async (_req, res, next) => {
    try {
      res.setHeader("Cache-Control", "no-store");
      res.json(await status());
    } catch (err) {
      next(err);
    }
  });

  router.get("/-/api/timeseries", reads, (_req, res) => {
    res.setHeader("Cache-Control", "no-store");
    res.json({ now: Date.now(), ...metrics.timeseries(), recentErrors: metrics.recentErrors() });
  });

  const admin = express.Router();
  admin.use(adminGuard(options.adminToken));
  admin.use(express.json({ limit: options.adminBodyLimitBytes ?? 1024 * 1024, type: () => true }));
  admin.post("/deploy", async (req, res, next) => {
    if (!options.admin) return notImplemented(res);
    try {
      const result = await options.admin.deploy(req.body);
      logger?.info({ type: "admin", action: "deploy", requestId: res.locals.requestId }, "admin: deploy applied");
      res.json({ ok: true, result });
    } catch (err) {
      next(err);
    }
  });
  admin.post("/shutdown", (_req, res) => {
    if (!options.admin) return notImplemented(res);
    const actions = options.admin;
    logger?.info({ type: "admin", action: "shutdown", requestId: res.locals.requestId }, "admin: shutdown requested");
    res.status(202).json({ ok: true, message: "shutting down" });
    // Answer first: the shutdown closes this very server.
    res.on("finish", () => {
      Promise.resolve()
        .then(() => actions.shutdown())
        .catch((err: unknown) => logger?.error({ err }, "admin: shutdown failed"));
    });
  });
  router.use("/-/api", admin);

  router.use(["/metrics", "/-/dashboard", "/-/api"], (err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const { status: code, body } = adminErrorAnswer(err);
    if (code >= 500) logger?.error({ err, requestId: res.locals.requestId }, "observability route failed");
    res.status(code).json(body);
  });
  return router;
}

function sendAsset(res: Response, file: string): void {
  const asset = dashboardAssets().get(file)!;
  res.setHeader("Content-Type", asset.contentType);
  res.setHeader("Cache-Control", "no-cache");
  res.setHeader("Content-Security-Policy", DASHBOARD_CSP);
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.send(asset.body);
}

function notImplemented(res: Response): void {
  res.status(501).json({ error: { code: "STINGRAY_ERR_ADMIN_UNAVAILABLE", message: "this runtime has no admin actions" } });
}

/**
 * Error answers for the observability and admin routes. Unlike the MCP routes (which hide
 * details), the admin API's callers are trusted operators: the message is the error's own, so
 * `stingray deploy` can show exactly which field was wrong.
 */
export function adminErrorAnswer(err: unknown): { status: number; body: { error: { code: string; message: string } } } {
  const e = err as { code?: unknown; message?: unknown; status?: unknown; type?: unknown } | null;
  const message = typeof e?.message === "string" ? e.message : "internal error";
  // express.json() errors carry an HTTP status (400 bad JSON, 413 too large).
  if (typeof e?.status === "number" && e.status >= 400 && e.status < 500) {
    return { status: e.status, body: { error: { code: ErrorCode.INVALID_OPTIONS, message: `request body: ${message}` } } };
  }
  const code = typeof e?.code === "string" ? e.code : "STINGRAY_ERR_INTERNAL";
  switch (code) {
    case ErrorCode.INVALID_OPTIONS:
      return { status: 400, body: { error: { code, message } } };
    case ErrorCode.APP_NOT_FOUND:
    case ErrorCode.DEPLOYMENT_NOT_FOUND:
      return { status: 404, body: { error: { code, message } } };
    case ErrorCode.SHUTTING_DOWN:
      return { status: 503, body: { error: { code, message } } };
    default:
      return { status: 500, body: { error: { code, message } } };
  }
}
