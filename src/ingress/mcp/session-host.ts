// Legacy (2025-era) MCP sessions inside one replica. Each session owns one McpServer and one
// sessionful web-standard Streamable HTTP transport from the SDK (with a bounded event store for
// `Last-Event-ID` resumption), so server→client requests (sampling, elicitation), progress and
// logging notifications and the GET stream all work as in a single-process server. The proxy pins
// every request carrying the session id to this replica; this host answers 404 for ids it does not
// hold (expired, ended, evicted, or minted elsewhere), which tells the client to initialize again.
//
// The sessions form a bounded cache (maxSessions): an initialize at the limit evicts the least
// recently used idle session (one with no open stream and no request in flight) instead of being
// refused, so a flood of initializes can never lock a new client out; only when every session is
// busy is the initialize answered 503. The slot is reserved synchronously, before the factory and
// the SDK's initialize run (both async), so concurrent initializes cannot overshoot the limit.
// The ids of evicted sessions go back to the proxy in an internal response header, which the
// proxy strips and uses to forget them at once.

import {
  WebStandardStreamableHTTPServerTransport,
  isInitializeRequest,
  type AuthInfo,
  type McpServer,
  type Server,
} from "@modelcontextprotocol/server";
import { randomBytes } from "node:crypto";
import { BoundedEventStore } from "./event-store.ts";
import { SessionLru } from "../session-lru.ts";
import { EVICTED_SESSION_HEADER } from "../sessions.ts";
import { JsonRpcCode, jsonRpcError, requestIdOf, type JsonRpcCode as Code } from "../jsonrpc.ts";

export interface SessionHostOptions {
  /** Builds the session's server; called once per initialize. */
  createServer: (request: Request, authInfo: AuthInfo | undefined) => McpServer | Server | Promise<McpServer | Server>;
  idleTimeoutMs: number;
  maxSessions: number;
  resumable: boolean;
  maxEventsPerSession: number;
  retryIntervalMs?: number;
  keepAliveMs: number;
  jsonResponse: boolean;
  maxBodyBytes: number;
  /** Injected clock (tests). */
  now?: () => number;
}

interface Session {
  server: McpServer | Server;
  transport: WebStandardStreamableHTTPServerTransport;
  /** Who initialized it; later requests must come from the same principal (null: no auth). */
  principal: string | null;
  /** Requests inside handleRequest now (before the transport has registered them). */
  handling: number;
}

export const SESSION_HEADER = "mcp-session-id";

/** 128+ bits from the CSPRNG, URL-safe: unguessable, and valid as a visible-ASCII header value. */
export function mintSessionId(): string {
  return randomBytes(24).toString("base64url");
}

export class SessionHost {
  readonly #options: SessionHostOptions;
  readonly #sessions: SessionLru<Session>;
  /** Initializes holding a reserved slot whose session is not registered yet. */
  #opening = 0;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(options: SessionHostOptions) {
    this.#options = options;
    this.#sessions = new SessionLru({ now: options.now });
  }

  get size(): number {
    return this.#sessions.size;
  }

  has(sessionId: string): boolean {
    return this.#sessions.has(sessionId);
  }

  async handle(request: Request, parsedBody: unknown, authInfo: AuthInfo | undefined): Promise<Response> {
    if (this.#closed) return errorResponse(503, JsonRpcCode.SERVER_ERROR, "Service Unavailable: the replica is stopping");
    const sessionId = request.headers.get(SESSION_HEADER);
    const principal = authInfo?.clientId ?? null;
    if (sessionId !== null) {
      const session = this.#sessions.get(sessionId);
      // A session bound to another identity looks exactly like an unknown one: no oracle for ids.
      if (!session || session.principal !== principal) {
        return errorResponse(404, JsonRpcCode.SESSION_NOT_FOUND, "Session not found", requestIdOf(parsedBody));
      }
      this.#sessions.touch(sessionId);
      session.handling++;
      try {
        return await session.transport.handleRequest(request, { parsedBody, authInfo });
      } finally {
        session.handling--;
      }
    }
    if (request.method !== "POST" || !isInitializeRequest(parsedBody)) {
      return errorResponse(
        400,
        JsonRpcCode.SERVER_ERROR,
        "Bad Request: Mcp-Session-Id header is required",
        requestIdOf(parsedBody),
      );
    }
    // Reserve the slot now, synchronously: the factory and the SDK's initialize are async, and
    // every initialize arriving meanwhile must see this one counted.
    let evicted: string | undefined;
    if (this.#sessions.size + this.#opening >= this.#options.maxSessions) {
      const victim = this.#sessions.oldestIdle(isBusy);
      if (!victim) {
        return errorResponse(503, JsonRpcCode.SERVER_ERROR, "Service Unavailable: too many sessions", requestIdOf(parsedBody));
      }
      evicted = victim[0];
      void this.#drop(evicted);
    }
    this.#opening++;
    let reserved = true;
    const release = (): void => {
      if (!reserved) return;
      reserved = false;
      this.#opening--;
    };
    try {
      const response = await this.#initialize(request, parsedBody, authInfo, principal, release);
      if (evicted !== undefined) response.headers.set(EVICTED_SESSION_HEADER, evicted);
      return response;
    } finally {
      release();
    }
  }

  async #initialize(
    request: Request,
    parsedBody: unknown,
    authInfo: AuthInfo | undefined,
    principal: string | null,
    releaseReservation: () => void,
  ): Promise<Response> {
    const o = this.#options;
    let session: Session | undefined;
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: mintSessionId,
      onsessioninitialized: (id) => {
        if (!session || this.#closed) return;
        // The reservation becomes the session: from here on it counts in #sessions.
        releaseReservation();
        this.#sessions.set(id, session);
      },
      onsessionclosed: (id) => {
        void this.#drop(id);
      },
      eventStore: o.resumable ? new BoundedEventStore(o.maxEventsPerSession) : undefined,
      retryInterval: o.retryIntervalMs,
      keepAliveMs: o.keepAliveMs,
      enableJsonResponse: o.jsonResponse,
      maxRequestBodySize: o.maxBodyBytes,
    });
    let server: McpServer | Server;
    try {
      server = await o.createServer(request, authInfo);
    } catch (err) {
      await transport.close().catch(() => {});
      throw err;
    }
    session = { server, transport, principal, handling: 1 };
    try {
      await server.connect(transport);
      const response = await transport.handleRequest(request, { parsedBody, authInfo });
      const id = transport.sessionId;
      if (id === undefined || this.#sessions.get(id) !== session) {
        // initialize was refused (bad params, version), or the host closed meanwhile: nothing to keep.
        await closeQuietly(session);
      } else {
        this.#startSweeper();
      }
      return response;
    } finally {
      session.handling--;
    }
  }

  /**
   * Cancels in-flight requests of a session as if its client had sent notifications/cancelled:
   * the tool's `ctx.mcpReq.signal` aborts. Used when a request passes its deadline; a mere
   * disconnect does not cancel (2025 clients resume the stream with Last-Event-ID).
   */
  cancel(sessionId: string, requestIds: Array<string | number>, reason: string): void {
    const session = this.#sessions.get(sessionId);
    if (!session) return;
    for (const requestId of requestIds) {
      session.transport.onmessage?.({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId, reason } });
    }
  }

  /**
   * Closes sessions idle for longer than idleTimeoutMs; returns how many were closed. A session
   * with an open stream or a request in flight is not idle, however long ago it began.
   */
  async sweep(): Promise<number> {
    const stale = this.#sessions.takeExpired(this.#options.idleTimeoutMs, isBusy);
    await Promise.all(stale.map(([, session]) => closeQuietly(session)));
    this.#stopSweeperIfEmpty();
    return stale.length;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#sweeper) clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    await Promise.all([...this.#sessions.keys()].map((id) => this.#drop(id)));
  }

  async #drop(sessionId: string): Promise<void> {
    const session = this.#sessions.get(sessionId);
    if (!session) return;
    this.#sessions.delete(sessionId);
    this.#stopSweeperIfEmpty();
    await closeQuietly(session);
  }

  #stopSweeperIfEmpty(): void {
    if (this.#sessions.size === 0 && this.#sweeper) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }

  #startSweeper(): void {
    if (this.#sweeper || this.#closed) return;
    const period = Math.max(250, Math.min(60_000, Math.floor(this.#options.idleTimeoutMs / 2)));
    this.#sweeper = setInterval(() => void this.sweep(), period);
    // Idle sessions must not keep a stopping replica's thread alive.
    this.#sweeper.unref?.();
  }
}

/**
 * A session is busy while a request of it is being handled, a request waits for its answer, or an
 * SSE stream of it (a POST's, the GET stream, a resumed one) is open. The last two are read from
 * the SDK transport's own bookkeeping (`_streamMapping`, `_requestToStreamMapping` in SDK 2.4; not
 * in its typed API): watching every response body for its end would cost every request. The unit
 * tests (test/unit/ingress/session-eviction.test.ts) fail if an SDK upgrade renames them.
 */
function isBusy(session: Session): boolean {
  if (session.handling > 0) return true;
  const t = session.transport as unknown as { _streamMapping?: Map<unknown, unknown>; _requestToStreamMapping?: Map<unknown, unknown> };
  return (t._streamMapping?.size ?? 0) > 0 || (t._requestToStreamMapping?.size ?? 0) > 0;
}

async function closeQuietly(session: Session): Promise<void> {
  await session.transport.close().catch(() => {});
  await session.server.close().catch(() => {});
}

function errorResponse(status: number, code: Code, message: string, id: string | number | null = null): Response {
  return new Response(JSON.stringify(jsonRpcError(code, message, { id })), {
    status,
    headers: { "content-type": "application/json" },
  });
}
