// The replica side of `mcpApp(...)` (src/deployments/mcp-app.ts): builds the fetch handler that
// serves MCP Streamable HTTP from the app's per-request server factory with the MCP SDK — the
// 2026-07-28 path through `createMcpHandler`, 2025-era POSTs through the lean stateless leg
// (legacy-stateless.ts) or, with sessions, through the session host. Loaded only when a replica
// creates an MCP handler, so a module that imports "stingray" does not load the SDK by itself.

import {
  InMemoryServerEventBus,
  createMcpHandler,
  isLegacyRequest,
  type AuthInfo,
  type McpHttpHandler,
} from "@modelcontextprotocol/server";
import { REQUEST_ID_HEADER, type McpFactory } from "../../deployments/mcp-app.ts";
import type { FetchHandler } from "../../deployments/ingress-definition.ts";
import { ErrorCode } from "../../errors.ts";
import { getReplicaContext, type ReplicaContext } from "../../runtime/replica-context.ts";
import { rawBodyOf } from "../http-bridge.ts";
import { realRequest } from "../lazy-request.ts";
import { installLightResponse } from "../light-response.ts";
import type { McpProxyOptions } from "../options.ts";
import { Permissions } from "../permissions.ts";
import { authInfoOf, identityOf, principalOfAuthInfo } from "./auth-info.ts";
import { legacyStatelessHandler, routeLegacy } from "./legacy-stateless.ts";
import { hideForbidden } from "./list-filter.ts";
import { linkAcrossReplicas } from "./replica-events.ts";
import { SESSION_HEADER, SessionHost, type SessionIdentity } from "./session-host.ts";
import { attachTasks } from "./tasks-extension.ts";
import { taskRunnerFor } from "./task-runner-host.ts";

export function createMcpFetchHandler(factory: McpFactory, instance: object, o: McpProxyOptions): FetchHandler {
  const events = o.events ?? new InMemoryServerEventBus();
  const replica = replicaContextIfAny();
  if (replica) {
    // Events published in one replica reach the listen streams of all of the deployment's.
    linkAcrossReplicas(events, `stingray:mcp-events:${replica.appName}/${replica.deploymentName}`);
    // The SDK answers with Response.json(...): keep those bodies as text (light-response.ts).
    installLightResponse();
  }
  // Task tools (registerTaskTool) run here; their records live in the node's shared task store.
  const tasks = taskRunnerFor(replica);
  // auth.scopes / auth.authorize: list results leave out what the caller may not use.
  const permissions = o.auth ? new Permissions(o.auth) : undefined;
  const filterLists = permissions?.hidesForbidden === true;
  const build = async (
    era: "legacy" | "modern",
    request: Request | undefined,
    authInfo: AuthInfo | undefined,
    session?: SessionIdentity,
  ) => {
    const server = await factory({
      instance,
      era,
      auth: identityOf(authInfo),
      requestId: request?.headers.get(REQUEST_ID_HEADER) ?? undefined,
      // The replica builds requests on demand (lazy-request.ts); the factory is user code and may
      // hand the request to fetch or new Request, so it gets the full one, built when first read.
      get request() {
        return request && realRequest(request);
      },
      events,
      ...(session ? { session } : {}),
    });
    if (filterLists) hideForbidden(server, permissions!, authInfo);
    return attachTasks(server, { era, runner: tasks, principal: principalOfAuthInfo(authInfo) });
  };
  const handlerOptions = {
    responseMode: o.responseMode,
    keepAliveMs: o.keepAliveMs,
    maxRequestBodySize: o.maxBodyBytes,
    bus: events,
  };

  if (!o.sessions.enabled) {
    const handler = createMcpHandler((ctx) => build(ctx.era, ctx.requestInfo, ctx.authInfo), {
      ...handlerOptions,
      legacy: "stateless",
    });
    if (!replica) {
      return async (request, context) =>
        handler.fetch(request, { authInfo: authInfoOf(context), parsedBody: await parsedBodyOf(request) });
    }
    // In a replica the bridge reads every answer, so 2025-era POSTs take the lean leg (one SSE
    // stream instead of the SDK's two); everything else goes to the SDK handler as before.
    const legacy = legacyStatelessHandler({
      createServer: (request, authInfo) => build("legacy", request, authInfo),
      keepAliveMs: o.keepAliveMs,
      maxBodyBytes: o.maxBodyBytes,
      onError: reportLegacyError,
    });
    return async (request, context) => {
      const authInfo = authInfoOf(context);
      const parsedBody = await parsedBodyOf(request);
      if (await routeLegacy(request, parsedBody, o.maxBodyBytes)) return legacy(request, authInfo, parsedBody);
      return handler.fetch(request, { authInfo, parsedBody });
    };
  }

  const modern: McpHttpHandler = createMcpHandler((ctx) => build(ctx.era, ctx.requestInfo, ctx.authInfo), {
    ...handlerOptions,
    legacy: "reject",
  });
  const sessions = new SessionHost({
    createServer: (request, authInfo, session) => build("legacy", request, authInfo, session),
    idleTimeoutMs: o.sessions.idleTimeoutMs,
    hibernateAfterMs: o.sessions.hibernateAfterMs,
    maxLiveSessions: o.sessions.maxLiveSessions,
    maxSessions: o.sessions.maxSessions,
    resumable: o.sessions.resumable,
    maxEventsPerSession: o.sessions.maxEventsPerSession,
    retryIntervalMs: o.sessions.retryIntervalMs,
    keepAliveMs: o.keepAliveMs,
    jsonResponse: o.legacyJsonResponse,
    maxBodyBytes: o.maxBodyBytes,
  });
  return async (request, context) => {
    const authInfo = authInfoOf(context);
    const parsedBody = await parsedBodyOf(request);
    // Session operations and everything 2025-shaped go to the session host; the rest is modern.
    const sessionId = request.headers.get(SESSION_HEADER);
    if (sessionId !== null) {
      cancelOnTimeout(context.signal, parsedBody, (ids) => sessions.cancel(sessionId, ids, "request timed out"));
      return sessions.handle(request, parsedBody, authInfo);
    }
    if (request.method !== "POST") return sessions.handle(request, parsedBody, authInfo);
    if (await isLegacyRequest(request, parsedBody, { maxRequestBodySize: o.maxBodyBytes })) {
      return sessions.handle(request, parsedBody, authInfo);
    }
    return modern.fetch(request, { authInfo, parsedBody });
  };
}

/**
 * A session's requests outlive their HTTP exchange (the client may resume the stream), so only a
 * deadline — not a disconnect — cancels them in the session's server.
 */
function cancelOnTimeout(signal: AbortSignal, body: unknown, cancel: (ids: Array<string | number>) => void): void {
  const ids = (Array.isArray(body) ? body : [body])
    .filter((m): m is { id: string | number; method: string } => {
      const msg = m as { id?: unknown; method?: unknown } | null;
      return typeof msg?.method === "string" && (typeof msg.id === "string" || typeof msg.id === "number");
    })
    .map((m) => m.id);
  if (ids.length === 0) return;
  signal.addEventListener(
    "abort",
    () => {
      if ((signal.reason as { code?: string } | undefined)?.code === ErrorCode.TIMEOUT) cancel(ids);
    },
    { once: true },
  );
}

function reportLegacyError(err: unknown): void {
  // The client gets a JSON-RPC 500; the cause goes to the replica's stderr for its operator.
  const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`stingray mcp: a 2025-era request failed: ${text}\n`);
}

/** This thread's replica context; undefined outside a replica (e.g. tests run the handler in-process). */
function replicaContextIfAny(): ReplicaContext | undefined {
  try {
    return getReplicaContext();
  } catch {
    return undefined;
  }
}

/** Parses the body once from the bytes the proxy sent; undefined lets the SDK read (and judge) it. */
async function parsedBodyOf(request: Request): Promise<unknown> {
  if (request.method !== "POST") return undefined;
  const raw = rawBodyOf(request);
  const text = raw ? Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("utf8") : await request.clone().text();
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
