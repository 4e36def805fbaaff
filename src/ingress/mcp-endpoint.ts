// One request to an MCP endpoint (<prefix>/mcp), in the order the checks must run: method, Accept,
// Content-Type, body size, JSON, JSON-RPC shape and protocol version, then session affinity, then
// the replica. Host/Origin and auth ran before (proxy.ts). Every rejection is a JSON-RPC error
// answered here, without a replica hop, so a bad request can neither reach nor hurt a replica.
//
// Sessions (opt-in per app): an initialize answered with Mcp-Session-Id binds that id to the
// replica that answered (and the caller's identity); later POST/GET/DELETE with the id are pinned
// there. Unknown ids, ids of another identity and ids whose replica died get 404 (-32001), which
// makes the client initialize again; a successful DELETE forgets the id. A new session is placed
// on a replica with session room (the router's placement hook, fed by the session table); an
// initialize that made the replica evict its least recently used idle session names that id in an
// internal header, which is removed here after the table forgets the id.
//
// Long-lived streams — a legacy standalone GET stream and a 2026-07-28 `subscriptions/listen` —
// are dispatched as such: they take a replica's maxOngoingStreams slot instead of a request slot
// (idle listeners must not starve calls) and have no request deadline.

import type { IncomingMessage, ServerResponse } from "node:http";
import { ErrorCode } from "../errors.ts";
import { principalOf, type AuthIdentity, type SerializedHttpRequest } from "../runtime/http-message.ts";
import type { ReplicaId } from "../runtime/ids.ts";
import { readBody } from "./body.ts";
import { sessionOwner } from "./session-id.ts";
import { answerForError } from "./error-response.ts";
import { forward, type RequestRecord } from "./forward.ts";
import {
  checkBody,
  checkContentType,
  checkGetAccept,
  checkPostAccept,
  checkProtocolVersionHeader,
  isRejection,
  type Rejection,
} from "./hygiene.ts";
import { JsonRpcCode, jsonRpcError, requestIdOf } from "./jsonrpc.ts";
import { targetsOf } from "./permissions.ts";
import { sendJsonRpcError } from "./respond.ts";
import type { CompiledRoute } from "./route-table.ts";
import { EVICTED_SESSION_HEADER, type SessionTable } from "./sessions.ts";
import type { DispatchResult, HttpDispatcher } from "./types.ts";

const SESSION_HEADER = "mcp-session-id";
/** Long-lived by design (2026-07-28 change notifications): a stream slot, no request deadline. */
const STREAMING_METHODS = new Set(["subscriptions/listen"]);

export interface McpRequestContext {
  dispatcher: HttpDispatcher;
  sessions: SessionTable;
  compiled: CompiledRoute;
  identity?: AuthIdentity;
  /** The RFC 9728 metadata URL for challenges (the app has auth). */
  resourceMetadataUrl?: string;
  /** Builds the message for the replica from the request and the buffered body. */
  serialize: (body: Buffer | null) => SerializedHttpRequest;
  record: RequestRecord & { mcpMethod?: string; tool?: string };
  /** Tells the proxy this exchange is a long-lived stream (shutdown ends it instead of waiting). */
  markLongLived?: (res: ServerResponse) => void;
}

export async function serveMcp(ctx: McpRequestContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const mcp = ctx.compiled.mcp!;
  const method = req.method ?? "GET";
  const sessionsOn = mcp.sessions.enabled;
  const reject = (r: Rejection): void => {
    ctx.record.status = r.status;
    sendJsonRpcError(res, r.status, r.code, r.message, { id: r.id ?? null, data: r.data, headers: r.headers });
  };

  if (method !== "POST" && !(sessionsOn && (method === "GET" || method === "DELETE"))) {
    // 2026-07-28 has no GET/DELETE, and a stateless 2025 server offers neither.
    const allow = sessionsOn ? "GET, POST, DELETE" : "POST";
    return reject({ status: 405, code: JsonRpcCode.SERVER_ERROR, message: "Method not allowed.", headers: { allow } });
  }
  const versionHeader = header(req, "mcp-protocol-version");
  const sessionId = header(req, SESSION_HEADER);
  if (method !== "POST") {
    const versionRejection = checkProtocolVersionHeader(versionHeader);
    if (versionRejection) return reject(versionRejection);
    if (method === "GET") {
      const acceptRejection = checkGetAccept(header(req, "accept"));
      if (acceptRejection) return reject(acceptRejection);
    }
    if (sessionId === undefined) {
      return reject({ status: 400, code: JsonRpcCode.SERVER_ERROR, message: "Bad Request: Mcp-Session-Id header is required" });
    }
    const isDelete = method === "DELETE";
    return pinnedForward(ctx, req, res, sessionId, ctx.serialize(null), { isDelete, timeout: false, longLived: !isDelete });
  }

  const accept = checkPostAccept(header(req, "accept"));
  if (accept) return reject(accept);
  const contentType = checkContentType(header(req, "content-type"));
  if (contentType) return reject(contentType);
  const read = await readBody(req, ctx.compiled.maxBodyBytes);
  if (!read.ok) {
    if (read.reason === "aborted") {
      ctx.record.status = 499;
      return;
    }
    return reject({
      status: 413,
      code: JsonRpcCode.SERVER_ERROR,
      message: `Payload Too Large: Request body must not exceed ${ctx.compiled.maxBodyBytes} bytes`,
      headers: { connection: "close" },
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(read.body.toString("utf8"));
  } catch {
    return reject({ status: 400, code: JsonRpcCode.PARSE_ERROR, message: "Parse error: Invalid JSON" });
  }
  const info = checkBody(parsed, versionHeader);
  if (isRejection(info)) return reject(info);
  ctx.record.mcpMethod = info.method;
  ctx.record.span?.describeMcp(parsed, { sessionId, protocolVersion: versionHeader });
  if (info.method === "tools/call") ctx.record.tool = info.name;
  const forbidden = await checkPermissions(ctx, parsed);
  if (forbidden) return reject(forbidden);

  const message = ctx.serialize(read.body);
  const longLived = STREAMING_METHODS.has(info.method ?? "");
  if (longLived) ctx.markLongLived?.(res);
  const timeout = !longLived;
  const id = requestIdOf(parsed);
  const errorEvent = id === null ? undefined : (cause: unknown) => sseErrorFor(id, cause);
  if (sessionsOn && sessionId !== undefined) {
    return pinnedForward(ctx, req, res, sessionId, message, { isDelete: false, timeout, longLived, errorEvent, rpcId: id });
  }
  const bindsSession = sessionsOn && info.method === "initialize";
  // A new session goes to a replica with session room, and counts there until it is answered.
  const placement = bindsSession ? ctx.sessions.placeNewSession(ctx.compiled.route.appName, mcp.sessions.maxSessions) : undefined;
  try {
    await forward(
      ctx.dispatcher,
      req,
      res,
      {
        appName: ctx.compiled.route.appName,
        message,
        timeoutMs: timeout ? ctx.compiled.requestTimeoutMs : undefined,
        longLived,
        errorEvent,
        rpcId: id,
        placement: placement?.place,
        onHead: placement
          ? (result) => {
              placement.release();
              bindNewSession(ctx, result);
            }
          : undefined,
      },
      ctx.record,
    );
  } finally {
    placement?.release();
  }
}

/**
 * Binds the session an initialize minted to the replica that answered; a session the replica
 * evicted to make room is forgotten at once.
 */
function bindNewSession(ctx: McpRequestContext, result: DispatchResult): void {
  const sessions = ctx.compiled.mcp!.sessions;
  // Internal: it names another client's session, so it never reaches this client.
  const headers = result.head.headers;
  const i = headers.findIndex(([n]) => n.toLowerCase() === EVICTED_SESSION_HEADER);
  if (i !== -1) {
    ctx.sessions.forget(result.replicaId, [headers[i]![1]]);
    headers.splice(i, 1);
  }
  const minted = headers.find(([n]) => n.toLowerCase() === SESSION_HEADER)?.[1];
  if (minted === undefined || result.head.status >= 300) return;
  ctx.sessions.bind(minted, {
    appName: ctx.compiled.route.appName,
    replicaId: result.replicaId,
    principal: principalOf(ctx.identity),
    idleTimeoutMs: sessions.idleTimeoutMs,
    maxSessions: sessions.maxSessions,
  });
}

async function pinnedForward(
  ctx: McpRequestContext,
  req: IncomingMessage,
  res: ServerResponse,
  sessionId: string,
  message: SerializedHttpRequest,
  how: {
    isDelete: boolean;
    timeout: boolean;
    longLived: boolean;
    errorEvent?: (cause: unknown) => Uint8Array | undefined;
    rpcId?: string | number | null;
  },
): Promise<void> {
  const found = ctx.sessions.lookup(ctx.compiled.route.appName, sessionId, principalOf(ctx.identity), (id) =>
    ctx.dispatcher.isReplicaAlive(id),
  );
  // A session another cluster node's proxy opened: its id names the owning replica, which checks
  // the id and the identity itself. An owner that is gone (or never was) is 404 without a hop.
  const owner = found.ok || found.reason !== "unknown" ? undefined : sessionOwner(sessionId);
  const foreign = owner !== undefined && ctx.dispatcher.isReplicaAlive(owner);
  if (!found.ok && !foreign) {
    ctx.record.status = 404;
    return sendJsonRpcError(res, 404, JsonRpcCode.SESSION_NOT_FOUND, "Session not found", { id: how.rpcId ?? null });
  }
  const replicaId: ReplicaId = found.ok ? found.replicaId : owner!;
  // In flight until the exchange ends (an open GET stream too): the session is not idle meanwhile.
  const end = found.ok ? ctx.sessions.begin(sessionId) : () => {};
  try {
    await forward(
      ctx.dispatcher,
      req,
      res,
      {
        appName: ctx.compiled.route.appName,
        message,
        replicaId,
        pinnedSession: true,
        timeoutMs: how.timeout && req.method === "POST" ? ctx.compiled.requestTimeoutMs : undefined,
        longLived: how.longLived,
        errorEvent: how.errorEvent,
        rpcId: how.rpcId,
        onHead: (result) => {
          // The replica no longer knows the id (expired there), or the client ended it.
          if (result.head.status === 404 || (how.isDelete && result.head.status < 300)) ctx.sessions.remove(sessionId);
        },
        onDispatchError: (err) => {
          const code = (err as { code?: string } | null)?.code;
          if (code === ErrorCode.REPLICA_DIED || code === ErrorCode.REPLICA_STOPPED) ctx.sessions.remove(sessionId);
        },
      },
      ctx.record,
    );
  } finally {
    end();
  }
}

/**
 * Per-tool authorization: a call to a tool, prompt or resource the caller may not use is answered
 * 403 with an insufficient_scope challenge naming the scopes it needs, without a replica hop.
 */
async function checkPermissions(ctx: McpRequestContext, parsed: unknown): Promise<Rejection | undefined> {
  const auth = ctx.compiled.auth;
  if (!auth || !ctx.identity || !auth.permissions.active) return undefined;
  const decision = await auth.permissions.decideAll(ctx.identity, targetsOf(parsed));
  if (decision.ok) return undefined;
  const { kind, name } = decision.target;
  const description = `Not allowed to use ${kind} ${name}`;
  return {
    status: 403,
    code: JsonRpcCode.SERVER_ERROR,
    message: `Forbidden: ${description}`,
    id: requestIdOf(parsed),
    data: { requiredScopes: decision.requiredScopes },
    headers: auth.insufficientScopeHeaders(decision.requiredScopes, description, ctx.resourceMetadataUrl ?? ""),
  };
}

/** The JSON-RPC error that ends an SSE answer cut short by a deadline or a dead replica. */
function sseErrorFor(id: string | number, cause: unknown): Uint8Array {
  const timedOut = (cause as { code?: string } | null)?.code === ErrorCode.TIMEOUT;
  const answer = timedOut ? { code: JsonRpcCode.REQUEST_TIMEOUT, message: "Request timed out" } : answerForError(cause, { pinnedSession: false });
  const body = jsonRpcError(answer.code, answer.message, { id });
  return Buffer.from(`event: message\ndata: ${JSON.stringify(body)}\n\n`);
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
