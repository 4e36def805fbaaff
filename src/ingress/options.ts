// User options of an ingress (`mcpApp(factory, options)`, `fetchApp(create, options)`), validated
// once at declaration time with zod so a typo fails where it was written, naming the option. The
// normalized result is the definition's `proxyOptions`: the proxy reads it in the main thread, and
// the replica side (sessions, response mode) reads the same object in the worker.

import type { ServerEventBus } from "@modelcontextprotocol/server";
import * as z from "zod";
import { InvalidOptionsError } from "../errors.ts";
import { authSchema, rateLimitSchema, type AuthOptions, type RateLimitOptions } from "./auth-options.ts";

export type { AuthOptions, RateLimitOptions, StaticToken, TokenVerifier } from "./auth-options.ts";

/** The SDK's own default body limit (4 MiB), so a request the SDK would take passes the proxy too. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
export const DEFAULT_SESSION_IDLE_TIMEOUT_MS = 30 * 60_000;
export const DEFAULT_MAX_SESSIONS = 10_000;
export const DEFAULT_MAX_EVENTS_PER_SESSION = 1_000;
export const DEFAULT_SESSION_HIBERNATE_AFTER_MS = 60_000;
export const DEFAULT_MAX_LIVE_SESSIONS = 1_000;

export interface SessionOptions {
  /**
   * A session unused for this long is closed in its replica (default 30 minutes); a session with
   * an open stream or a request in flight is in use.
   */
  idleTimeoutMs?: number;
  /**
   * Sessions one replica holds at most (default 10,000). At the limit an initialize evicts the
   * least recently used idle session (its next request gets 404 and its client re-initializes);
   * only when every session is busy is it answered 503.
   */
  maxSessions?: number;
  /** Keep each session's SSE events for `Last-Event-ID` resumption (default true). */
  resumable?: boolean;
  /** Events kept per session for resumption, oldest dropped first (default 1,000). */
  maxEventsPerSession?: number;
  /** SSE `retry:` hint sent to clients, in ms (SDK default when unset). */
  retryIntervalMs?: number;
  /**
   * An idle session hibernates after this long (default 60,000 ms; `false`: never by time): its
   * McpServer, transport and stored SSE events are dropped and only its initialize exchange is kept
   * (~1 KiB instead of 12–40 KiB); its next request rebuilds it with the factory (`ctx.session
   * .restored` is true) under the same session id. A session with a request in flight or an open
   * stream never hibernates.
   */
  hibernateAfterMs?: number | false;
  /**
   * Sessions one replica keeps awake at most (default 1,000); past it the least recently used idle
   * one hibernates at once. Bounds replica memory under a flood of initializes.
   */
  maxLiveSessions?: number;
}

export interface McpAppOptions {
  /** Path of the MCP endpoint under the application's route prefix (default "/mcp"). */
  path?: string;
  /**
   * Legacy (2025-era) sessions with replica affinity: `false` (default) serves 2025 clients
   * statelessly; `true` or an object mints an Mcp-Session-Id at initialize and pins the session to
   * its replica (needed for server→client sampling/elicitation, GET streams and resumption).
   */
  sessions?: boolean | SessionOptions;
  /** Response shaping for 2026-07-28 requests (default "auto": JSON unless the handler streams). */
  responseMode?: "auto" | "sse" | "json";
  /** Sessionful 2025 transport answers with JSON instead of SSE (drops notifications; default false). */
  legacyJsonResponse?: boolean;
  /** Largest accepted request body in bytes (default 4 MiB); larger → 413. */
  maxBodyBytes?: number;
  /** Deadline for one POST exchange in ms; past it the client gets an error and the replica stops. */
  requestTimeoutMs?: number;
  /** SSE keep-alive comment interval in ms (default 15,000; 0 disables). */
  keepAliveMs?: number;
  /** Host header names accepted (port-agnostic). Default: localhost names when bound to loopback. */
  allowedHosts?: string[];
  /** Origin hostnames accepted when a browser sends Origin. Default: localhost names. */
  allowedOrigins?: string[];
  auth?: AuthOptions;
  /** Token-bucket rate limit per identity (per client address without auth): 429 with Retry-After past it. */
  rateLimit?: RateLimitOptions;
  /**
   * The change-event bus of `subscriptions/listen` streams (2026-07-28). Default: one in-memory bus
   * per replica, handed to the factory as `ctx.events`. Either way, events published in one replica
   * reach the listen streams of every replica of the deployment.
   */
  events?: ServerEventBus;
}

export type FetchAppOptions = Pick<McpAppOptions, "maxBodyBytes" | "requestTimeoutMs" | "allowedHosts" | "allowedOrigins" | "auth" | "rateLimit">;

/** Normalized options: what `proxyOptions` holds. A `type` (not interface) so it fits Record<string, unknown>. */
export type McpProxyOptions = {
  path: string;
  sessions: Required<Omit<SessionOptions, "retryIntervalMs">> & { retryIntervalMs?: number; enabled: boolean };
  responseMode: "auto" | "sse" | "json";
  legacyJsonResponse: boolean;
  maxBodyBytes: number;
  requestTimeoutMs?: number;
  keepAliveMs: number;
  allowedHosts?: string[];
  allowedOrigins?: string[];
  auth?: AuthOptions;
  rateLimit?: RateLimitOptions;
  events?: ServerEventBus;
};

export type FetchProxyOptions = Pick<McpProxyOptions, "maxBodyBytes" | "requestTimeoutMs" | "allowedHosts" | "allowedOrigins" | "auth" | "rateLimit">;

const positiveInt = z.number().int().positive();

const sessionSchema = z
  .object({
    idleTimeoutMs: positiveInt.optional(),
    maxSessions: positiveInt.optional(),
    resumable: z.boolean().optional(),
    maxEventsPerSession: positiveInt.optional(),
    retryIntervalMs: positiveInt.optional(),
    hibernateAfterMs: z.union([z.literal(false), z.number().int().nonnegative()]).optional(),
    maxLiveSessions: positiveInt.optional(),
  })
  .strict();

const hostList = z.array(z.string().min(1));

const commonShape = {
  maxBodyBytes: positiveInt.optional(),
  requestTimeoutMs: positiveInt.optional(),
  allowedHosts: hostList.optional(),
  allowedOrigins: hostList.optional(),
  auth: authSchema.optional(),
  rateLimit: rateLimitSchema.optional(),
};

const mcpSchema = z
  .object({
    ...commonShape,
    path: z
      .string()
      .regex(/^\/[A-Za-z0-9._~\-/]*[A-Za-z0-9._~-]$/, { message: 'must start with "/" and not end with "/"' })
      .optional(),
    sessions: z.union([z.boolean(), sessionSchema]).optional(),
    responseMode: z.enum(["auto", "sse", "json"]).optional(),
    legacyJsonResponse: z.boolean().optional(),
    keepAliveMs: z.number().int().nonnegative().optional(),
    events: z
      .custom<ServerEventBus>(
        (v) => typeof (v as ServerEventBus | null)?.publish === "function" && typeof (v as ServerEventBus).subscribe === "function",
        { message: "must be a ServerEventBus (publish and subscribe)" },
      )
      .optional(),
  })
  .strict();

const fetchSchema = z.object(commonShape).strict();

function fail(where: string, error: z.ZodError): never {
  const issue = error.issues[0]!;
  const path = issue.path.map(String).join(".");
  const option = issue.code === "unrecognized_keys" ? [path, ...issue.keys].filter(Boolean).join(".") : path;
  const detail = issue.code === "unrecognized_keys" ? "is not a known option" : issue.message;
  throw new InvalidOptionsError(`${where}: option "${option || "(options)"}" ${detail}`, { cause: error });
}

export function parseMcpAppOptions(input: McpAppOptions | undefined): McpProxyOptions {
  const parsed = mcpSchema.safeParse(input ?? {});
  if (!parsed.success) fail("mcpApp()", parsed.error);
  const o = parsed.data;
  const s = typeof o.sessions === "object" ? o.sessions : {};
  return {
    path: o.path ?? "/mcp",
    sessions: {
      enabled: o.sessions !== undefined && o.sessions !== false,
      idleTimeoutMs: s.idleTimeoutMs ?? DEFAULT_SESSION_IDLE_TIMEOUT_MS,
      maxSessions: s.maxSessions ?? DEFAULT_MAX_SESSIONS,
      resumable: s.resumable ?? true,
      maxEventsPerSession: s.maxEventsPerSession ?? DEFAULT_MAX_EVENTS_PER_SESSION,
      hibernateAfterMs: s.hibernateAfterMs ?? DEFAULT_SESSION_HIBERNATE_AFTER_MS,
      maxLiveSessions: s.maxLiveSessions ?? DEFAULT_MAX_LIVE_SESSIONS,
      ...(s.retryIntervalMs !== undefined ? { retryIntervalMs: s.retryIntervalMs } : {}),
    },
    responseMode: o.responseMode ?? "auto",
    legacyJsonResponse: o.legacyJsonResponse ?? false,
    maxBodyBytes: o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    requestTimeoutMs: o.requestTimeoutMs,
    keepAliveMs: o.keepAliveMs ?? 15_000,
    allowedHosts: o.allowedHosts,
    allowedOrigins: o.allowedOrigins,
    auth: o.auth as AuthOptions | undefined,
    rateLimit: o.rateLimit,
    events: o.events,
  };
}

export function parseFetchAppOptions(input: FetchAppOptions | undefined): FetchProxyOptions {
  const parsed = fetchSchema.safeParse(input ?? {});
  if (!parsed.success) fail("fetchApp()", parsed.error);
  const o = parsed.data;
  return {
    maxBodyBytes: o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    requestTimeoutMs: o.requestTimeoutMs,
    allowedHosts: o.allowedHosts,
    allowedOrigins: o.allowedOrigins,
    auth: o.auth as AuthOptions | undefined,
    rateLimit: o.rateLimit,
  };
}

// ---------------------------------------------------------------------------------------------
// The HTTP server's own options (`serve.start({ http })`, the config file's `http`, `stingray run`
// flags): how long a client may take to send a request, how long an idle kept-alive connection
// stays open, how many connections are served at once, and who may read the dashboard.

/**
 * Headers must arrive within 10 s of a connection's first byte (Node's default is 60 s, checked
 * every 30 s: a silent connection lived ~70 s). A slowloris client sends a few bytes at a time.
 */
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
/**
 * The whole request (headers and body) must arrive within 20 s: with the 1 s check below, a
 * stalled body is answered 408 and closed within ~21 s (Node's default held it 300–330 s). A 4 MiB
 * body (the default limit) needs ~210 KB/s to make it; raise this for slow uploads.
 */
export const DEFAULT_BODY_TIMEOUT_MS = 20_000;
/**
 * An idle kept-alive connection closes after 65 s: longer than the 60 s idle timeout of common
 * load balancers (AWS ALB, GCP), so they close first and never send on a connection we just closed.
 */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 65_000;
/** Connections served at once; further ones are dropped at accept (one per session at the default session cap). */
export const DEFAULT_MAX_CONNECTIONS = 10_000;

export interface HttpServerOptions {
  /** Time to receive a request's headers, in ms (default 10,000); past it the client gets 408. */
  headersTimeoutMs?: number;
  /**
   * Time to receive a whole request, headers and body, in ms (default 20,000); past it the client
   * gets 408 and the connection closes. Only the request is timed: a response that takes longer
   * (a slow tool call, an SSE stream) is not cut. Must be at least `headersTimeoutMs`.
   */
  bodyTimeoutMs?: number;
  /** Idle time after which a kept-alive connection closes, in ms (default 65,000). */
  keepAliveTimeoutMs?: number;
  /** Connections served at once (default 10,000); further ones are closed as they are accepted. */
  maxConnections?: number;
  /**
   * Serve the dashboard, `/-/api/status` and `/-/api/timeseries` to anyone who can reach the port
   * (default false: on a non-loopback bind they need the admin token or a loopback client).
   */
  publicDashboard?: boolean;
}

/** The connection limits with their defaults filled in (what the proxy applies to its server). */
export type ConnectionLimits = Required<Omit<HttpServerOptions, "publicDashboard">>;

/** The fields of `HttpServerOptions` as a zod shape, so the config file validates them the same way. */
export const httpServerOptionsShape = {
  headersTimeoutMs: positiveInt.optional(),
  bodyTimeoutMs: positiveInt.optional(),
  keepAliveTimeoutMs: positiveInt.optional(),
  maxConnections: positiveInt.optional(),
  publicDashboard: z.boolean().optional(),
};

// Wrapped in `{ http }` so messages name the option as the user wrote it ("http.maxConnections").
const httpSchema = z.strictObject({
  http: z.strictObject({
    host: z.string().min(1).optional(),
    port: z.number().int().min(0).max(65535).optional(),
    ...httpServerOptionsShape,
  }),
});

/**
 * Validates an `http` options object (host, port and the server options above) and returns the
 * server options with their defaults filled in. `where` prefixes messages, e.g. "serve.start()".
 */
export function parseHttpOptions(
  input: (HttpServerOptions & { host?: string; port?: number }) | undefined,
  where: string,
): ConnectionLimits & { publicDashboard: boolean } {
  const parsed = httpSchema.safeParse({ http: input ?? {} });
  if (!parsed.success) fail(where, parsed.error);
  const o = parsed.data.http;
  const limits = {
    headersTimeoutMs: o.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS,
    bodyTimeoutMs: o.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS,
    keepAliveTimeoutMs: o.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
    maxConnections: o.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    publicDashboard: o.publicDashboard ?? false,
  };
  // Node refuses a headers timeout longer than the request timeout; say which option to change.
  if (limits.headersTimeoutMs > limits.bodyTimeoutMs) {
    const message =
      o.headersTimeoutMs !== undefined
        ? `option "http.headersTimeoutMs" must be at most http.bodyTimeoutMs (${limits.bodyTimeoutMs}), got ${limits.headersTimeoutMs}`
        : `option "http.bodyTimeoutMs" must be at least http.headersTimeoutMs (${limits.headersTimeoutMs}), got ${limits.bodyTimeoutMs}`;
    throw new InvalidOptionsError(`${where}: ${message}`);
  }
  return limits;
}
