// The HTTP proxy (main thread, express 5): mounts every application at its route prefix and sends
// each request through the HttpDispatcher to a replica of the app's ingress deployment, streaming
// the response back. Built-in endpoints: GET /-/healthz (liveness), GET /-/ready (readiness),
// GET /-/routes (prefix → app, as Ray's proxy answers), and the RFC 9728 protected-resource
// metadata of apps with auth. Extra routers (metrics, dashboard, admin API) mount at the root; the
// runtime's own paths (/-/*, /metrics, /.well-known/*) are reserved for them, and application
// traffic bypasses express entirely.
//
// Per request, in order: route match (404), Host check (403, DNS rebinding), Origin check on MCP
// endpoints (403), bearer auth (401/403) and the rate limit (429) (access.ts), then the MCP rules
// (mcp-endpoint.ts, per-tool scopes among them) or, for plain fetch apps, the body limit; then the
// replica. Anything the proxy answers itself is JSON, never HTML.

import express, { type NextFunction, type Request, type Response } from "express";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { resolveRequestId } from "../observability/request-id.ts";
import type { SerializedHttpRequest } from "../runtime/http-message.ts";
import { checkAccess } from "./access.ts";
import { PROTECTED_RESOURCE_WELL_KNOWN } from "./auth.ts";
import { readBody } from "./body.ts";
import { defaultConnectionLimits, enforceConnectionLimits, serverTimeouts } from "./connection-limits.ts";
import { forward, type RequestRecord } from "./forward.ts";
import { checkHost, checkOrigin } from "./hygiene.ts";
import { exactBytes, forwardedHeaders } from "./replica-request.ts";
import { JsonRpcCode } from "./jsonrpc.ts";
import { serveMcp } from "./mcp-endpoint.ts";
import { sendJson, sendJsonRpcError } from "./respond.ts";
import { RouteTable, type CompiledRoute } from "./route-table.ts";
import { SessionTable } from "./sessions.ts";
import type { Proxy, ProxyOptions, ProxyRequestEvent } from "./types.ts";

export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_PORT = 8000;
/** Default time shutdown gives in-flight HTTP exchanges (the deployments' default graceful timeout). */
const DEFAULT_CLOSE_GRACE_MS = 20_000;

export function createProxy(options: ProxyOptions): Proxy {
  return new HttpProxy(options);
}

class HttpProxy implements Proxy {
  readonly #options: ProxyOptions;
  readonly #app: express.Express;
  readonly #server: Server;
  readonly #routes: RouteTable;
  readonly #sessions = new SessionTable();
  readonly #sockets = new Set<Socket>();
  /** Exchanges that carry work (every method but GET); shutdown lets them finish. */
  readonly #inflight = new Set<ServerResponse>();
  /**
   * Long-lived streams (standalone GET streams, 2026-07-28 `subscriptions/listen` POSTs): no work
   * to finish, and they may never end; shutdown ends them at once.
   */
  readonly #streams = new Set<ServerResponse>();
  /** The MCP endpoint found a POST to be a long-lived stream: shutdown must not wait for it. */
  readonly #markLongLived = (res: ServerResponse): void => {
    if (!this.#inflight.delete(res)) return;
    this.#streams.add(res);
    res.once("close", () => this.#streams.delete(res));
  };
  #closing = false;
  #sweeper: ReturnType<typeof setInterval> | undefined;

  constructor(options: ProxyOptions) {
    this.#options = { ...options, host: options.host ?? DEFAULT_HOST, port: options.port ?? DEFAULT_PORT };
    this.#routes = new RouteTable({
      bindHost: this.#options.host,
      allowedHosts: options.allowedHosts,
      allowedOrigins: options.allowedOrigins,
    });
    this.#app = this.#buildApp();
    const limits = options.connectionLimits ?? defaultConnectionLimits();
    // noDelay: SSE events are small writes that must leave at once, not wait for Nagle.
    this.#server = createServer({ noDelay: true, ...serverTimeouts(limits) }, (req, res) => this.#onRequest(req, res));
    enforceConnectionLimits(this.#server, limits, options.logger);
    this.#server.on("connection", (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once("close", () => this.#sockets.delete(socket));
    });
  }

  #buildApp(): express.Express {
    const app = express();
    app.disable("x-powered-by");
    app.set("etag", false);
    app.get("/-/healthz", (_req, res) => {
      sendJson(res, 200, { status: "ok" });
    });
    // Readiness, for a supervisor: fails while shutting down or while the runtime reports a
    // replica thread that would not exit (only a process restart frees it).
    app.get("/-/ready", (_req, res) => {
      const r = this.#closing ? { ready: false, reasons: ["shutting down"] } : (this.#options.readiness?.() ?? { ready: true, reasons: [] });
      res.setHeader("Cache-Control", "no-store");
      if (r.ready) sendJson(res, 200, { status: "ready" });
      else sendJson(res, 503, { status: "not ready", reasons: r.reasons });
    });
    app.get("/-/routes", (_req, res) => {
      const table: Record<string, string> = {};
      for (const r of this.#options.dispatcher.routes()) table[r.routePrefix] = r.appName;
      sendJson(res, 200, table);
    });
    for (const router of this.#options.routers ?? []) app.use(router);
    app.use((req, res, next) => {
      this.#handle(req, res).catch(next);
    });
    // Express's defaults answer HTML; these keep every answer JSON.
    app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => this.#fail(res, err));
    return app;
  }

  sessionsByReplica(): Array<{ app: string; deployment: string; replica: string; sessions: number }> {
    const counts = this.#sessions.countsByReplica();
    if (counts.length === 0) return [];
    const deployments = new Map(this.#options.dispatcher.routes().map((r) => [r.appName, r.deploymentName ?? r.appName]));
    return counts.map((c) => ({
      app: c.appName,
      deployment: deployments.get(c.appName) ?? "",
      replica: c.replicaId,
      sessions: c.sessions,
    }));
  }

  async listen(): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.#server.once("error", onError);
      this.#server.listen(this.#options.port, this.#options.host, () => {
        this.#server.off("error", onError);
        resolve();
      });
    });
    this.#sweeper = setInterval(() => this.#sessions.sweep((id) => this.#options.dispatcher.isReplicaAlive(id)), 30_000);
    this.#sweeper.unref();
    const address = this.#server.address() as AddressInfo;
    return { host: address.address, port: address.port };
  }

  /**
   * Stops accepting connections, lets in-flight exchanges (POSTs, including SSE responses to them)
   * finish for up to `graceMs`, then ends every remaining socket. Standalone GET streams hold no
   * work to finish and would keep the server open forever, so they end at once.
   */
  async close(options: { graceMs?: number } = {}): Promise<void> {
    if (this.#sweeper) clearInterval(this.#sweeper);
    if (!this.#server.listening) return;
    this.#closing = true;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const res of this.#streams) res.socket?.destroy();
    const deadline = performance.now() + (options.graceMs ?? DEFAULT_CLOSE_GRACE_MS);
    for (;;) {
      // Kept-alive sockets go idle as their exchanges end; close them as they do.
      this.#server.closeIdleConnections();
      if (this.#inflight.size === 0 || performance.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }

  /**
   * Application traffic skips express (its router costs more than the rest of the proxy's own
   * work per request); the runtime's paths — /-/*, /metrics, /.well-known/* — and anything no
   * application serves go through express, so extra routers own those.
   */
  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    if (this.#closing) {
      // Draining: a request that arrives on a kept-alive connection is not started.
      res.setHeader("connection", "close");
      res.setHeader("retry-after", "1");
      return sendJsonRpcError(res, 503, JsonRpcCode.SERVER_ERROR, "Service Unavailable: the server is shutting down");
    }
    const tracked = req.method === "GET" ? this.#streams : this.#inflight;
    tracked.add(res);
    res.once("close", () => tracked.delete(res));
    const url = req.url ?? "/";
    if (!isRuntimePath(url)) {
      const path = pathOf(url);
      const compiled = this.#routes.match(this.#options.dispatcher.routes(), path);
      if (compiled) {
        this.#serveApp(req, res, path, compiled).catch((err: unknown) => this.#fail(res, err));
        return;
      }
    }
    this.#app(req, res);
  }

  #fail(res: ServerResponse, err: unknown): void {
    this.#options.logger?.error({ err: errorSummary(err) }, "proxy request failed");
    sendJsonRpcError(res, 500, JsonRpcCode.INTERNAL_ERROR, "Internal error");
  }

  /** Express's last middleware: metadata documents, then 404 for paths no application serves. */
  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = pathOf(req.url ?? "/");
    if (path.startsWith(PROTECTED_RESOURCE_WELL_KNOWN)) return this.#serveResourceMetadata(req, res, path);
    const compiled = this.#routes.match(this.#options.dispatcher.routes(), path);
    if (!compiled) {
      return sendJsonRpcError(res, 404, JsonRpcCode.SERVER_ERROR, `Not Found: no application serves ${path}`);
    }
    return this.#serveApp(req, res, path, compiled);
  }

  async #serveApp(req: IncomingMessage, res: ServerResponse, path: string, compiled: CompiledRoute): Promise<void> {
    const startedAt = performance.now();
    const requestId = resolveRequestId(req.headers["x-request-id"]);
    res.setHeader("x-request-id", requestId);
    const record: ProxyRecord = { status: 0 };
    const route = compiled.route;
    if (this.#options.tracer !== undefined) {
      record.span = this.#options.tracer.startRequest(req.headers, {
        method: req.method ?? "GET", path, app: route.appName, deployment: route.deploymentName ?? route.appName, route: route.routePrefix,
      });
    }
    res.once("close", () => this.#report(compiled, record, requestId, startedAt, req.method, path, res));

    const host = checkHost(req.headers.host, compiled.allowedHosts);
    if (host) return this.#reject(res, record, host.status, host.message);
    const isMcp = compiled.kind === "mcp" && path === compiled.mcpPath;
    if (compiled.kind === "mcp" && !isMcp) {
      return this.#reject(res, record, 404, `Not Found: the MCP endpoint is ${compiled.mcpPath}`);
    }
    if (isMcp) {
      const origin = checkOrigin(header(req, "origin"), compiled.allowedOrigins);
      if (origin) return this.#reject(res, record, origin.status, origin.message);
    }
    const access = await checkAccess(compiled, req, originOf(req));
    if (!access.ok) {
      record.status = access.status;
      if (access.rateLimited) record.rateLimited = true;
      if (access.authFailure) {
        // What failed and where, for the operator; the path without its query (a query can carry
        // a credential), and never a header.
        this.#options.logger?.warn(
          { requestId, app: compiled.route.appName, path, status: access.status, ...access.authFailure },
          "authentication failed",
        );
      }
      return sendJson(res, access.status, access.body, access.headers);
    }
    const { identity, resourceMetadataUrl } = access;
    const serialize = (body: Buffer | null): SerializedHttpRequest => ({
      method: req.method ?? "GET",
      url: `${originOf(req)}${req.url ?? "/"}`,
      headers: forwardedHeaders(req, requestId, compiled.auth !== undefined),
      body: body === null ? null : exactBytes(body),
      ...(identity ? { auth: identity } : {}),
      requestId,
    });
    if (isMcp) {
      return serveMcp(
        {
          dispatcher: this.#options.dispatcher,
          sessions: this.#sessions,
          compiled,
          identity,
          resourceMetadataUrl,
          serialize,
          record,
          markLongLived: this.#markLongLived,
        },
        req,
        res,
      );
    }
    return this.#serveFetch(compiled, req, res, serialize, record);
  }

  async #serveFetch(
    compiled: CompiledRoute,
    req: IncomingMessage,
    res: ServerResponse,
    serialize: (body: Buffer | null) => SerializedHttpRequest,
    record: RequestRecord,
  ): Promise<void> {
    let body: Buffer | null = null;
    if (req.method !== "GET" && req.method !== "HEAD") {
      const read = await readBody(req, compiled.maxBodyBytes);
      if (!read.ok) {
        if (read.reason === "aborted") return;
        record.status = 413;
        return sendJsonRpcError(res, 413, JsonRpcCode.SERVER_ERROR, `Payload Too Large: Request body must not exceed ${compiled.maxBodyBytes} bytes`, {
          headers: { connection: "close" },
        });
      }
      body = read.body;
    }
    await forward(
      this.#options.dispatcher,
      req,
      res,
      { appName: compiled.route.appName, message: serialize(body), timeoutMs: compiled.requestTimeoutMs },
      record,
    );
  }

  #serveResourceMetadata(req: IncomingMessage, res: ServerResponse, path: string): void {
    const resourcePath = path.slice(PROTECTED_RESOURCE_WELL_KNOWN.length) || "/";
    const compiled = this.#routes
      .update(this.#options.dispatcher.routes())
      .find((c) => c.auth && (c.mcpPath ?? c.route.routePrefix) === resourcePath);
    if (!compiled?.auth) {
      return sendJsonRpcError(res, 404, JsonRpcCode.SERVER_ERROR, "Not Found: no protected resource at this path");
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      return sendJsonRpcError(res, 405, JsonRpcCode.SERVER_ERROR, "Method not allowed.", { headers: { allow: "GET" } });
    }
    sendJson(res, 200, compiled.auth.metadata(`${originOf(req)}${resourcePath}`), {
      "access-control-allow-origin": "*",
      "cache-control": "max-age=300",
    });
  }

  #reject(res: ServerResponse, record: RequestRecord, status: number, message: string): void {
    record.status = status;
    sendJsonRpcError(res, status, JsonRpcCode.SERVER_ERROR, message);
  }

  #report(
    compiled: CompiledRoute,
    record: ProxyRecord,
    requestId: string,
    startedAt: number,
    method: string | undefined,
    path: string,
    res: ServerResponse,
  ): void {
    const status = record.status || (res.writableFinished ? res.statusCode : 499);
    const span = record.span;
    span?.end(res.writableFinished ? status : 499, record.error);
    const event: ProxyRequestEvent = {
      app: compiled.route.appName,
      deployment: compiled.route.deploymentName ?? compiled.route.appName,
      route: compiled.route.routePrefix,
      ...(method ? { method } : {}),
      path,
      status: res.writableFinished ? status : 499,
      latencyMs: performance.now() - startedAt,
      requestId,
      ...(record.mcpMethod ? { mcpMethod: record.mcpMethod } : {}),
      ...(record.tool ? { tool: record.tool } : {}),
      ...(record.replica ? { replica: record.replica } : {}),
      ...(record.error ? { error: record.error } : {}),
      ...(record.rateLimited ? { rateLimited: true } : {}),
      ...(span ? { traceId: span.traceId, spanId: span.spanId } : {}),
    };
    try {
      this.#options.onRequest?.(event);
    } catch (err) {
      this.#options.logger?.warn({ err: errorSummary(err) }, "onRequest hook failed");
    }
  }
}

/** What the proxy learns about one request, for its onRequest event. */
type ProxyRecord = RequestRecord & { mcpMethod?: string; tool?: string; rateLimited?: boolean };

/** Paths the runtime itself serves (Ray reserves "/-/"); applications never shadow them. */
function isRuntimePath(url: string): boolean {
  return (
    url.startsWith("/-/") ||
    url.startsWith("/.well-known/") ||
    url === "/metrics" ||
    url.startsWith("/metrics?")
  );
}

function pathOf(url: string): string {
  const q = url.indexOf("?");
  return q === -1 ? url : url.slice(0, q);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function originOf(req: IncomingMessage): string {
  const scheme = (req.socket as { encrypted?: boolean }).encrypted ? "https" : "http";
  return `${scheme}://${req.headers.host ?? "localhost"}`;
}

function errorSummary(err: unknown): { name: string; message: string } {
  return err instanceof Error ? { name: err.name, message: err.message } : { name: "Error", message: String(err) };
}
