// Legacy (2025-era) MCP sessions inside one replica. Each session owns one McpServer and one
// sessionful web-standard Streamable HTTP transport from the SDK (with a bounded event store for
// `Last-Event-ID` resumption), so server→client requests (sampling, elicitation), progress and
// logging notifications and the GET stream all work as in a single-process server. The proxy pins
// every request carrying the session id to this replica; this host answers 404 for ids it does not
// hold (expired, ended, or minted elsewhere), which tells the client to initialize again.

import {
  WebStandardStreamableHTTPServerTransport,
  isInitializeRequest,
  type AuthInfo,
  type McpServer,
  type Server,
} from "@modelcontextprotocol/server";
import { randomBytes } from "node:crypto";
import { BoundedEventStore } from "./event-store.ts";
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
  lastSeenMs: number;
}

export const SESSION_HEADER = "mcp-session-id";

/** 128+ bits from the CSPRNG, URL-safe: unguessable, and valid as a visible-ASCII header value. */
export function mintSessionId(): string {
  return randomBytes(24).toString("base64url");
}

export class SessionHost {
  readonly #options: SessionHostOptions;
  readonly #sessions = new Map<string, Session>();
  readonly #now: () => number;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(options: SessionHostOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
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
      session.lastSeenMs = this.#now();
      return session.transport.handleRequest(request, { parsedBody, authInfo });
    }
    if (request.method !== "POST" || !isInitializeRequest(parsedBody)) {
      return errorResponse(
        400,
        JsonRpcCode.SERVER_ERROR,
        "Bad Request: Mcp-Session-Id header is required",
        requestIdOf(parsedBody),
      );
    }
    if (this.#sessions.size >= this.#options.maxSessions) {
      return errorResponse(503, JsonRpcCode.SERVER_ERROR, "Service Unavailable: too many sessions", requestIdOf(parsedBody));
    }
    return this.#initialize(request, parsedBody, authInfo, principal);
  }

  async #initialize(request: Request, parsedBody: unknown, authInfo: AuthInfo | undefined, principal: string | null): Promise<Response> {
    const o = this.#options;
    let session: Session | undefined;
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: mintSessionId,
      onsessioninitialized: (id) => {
        if (session) this.#sessions.set(id, session);
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
    const server = await o.createServer(request, authInfo);
    session = { server, transport, principal, lastSeenMs: this.#now() };
    await server.connect(transport);
    const response = await transport.handleRequest(request, { parsedBody, authInfo });
    const id = transport.sessionId;
    if (id === undefined || !this.#sessions.has(id)) {
      // initialize was refused (bad params, version): nothing to keep.
      await closeQuietly(session);
    } else {
      this.#startSweeper();
    }
    return response;
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

  /** Closes sessions idle for longer than idleTimeoutMs; returns how many were closed. */
  async sweep(): Promise<number> {
    const deadline = this.#now() - this.#options.idleTimeoutMs;
    const stale = [...this.#sessions].filter(([, s]) => s.lastSeenMs <= deadline).map(([id]) => id);
    await Promise.all(stale.map((id) => this.#drop(id)));
    return stale.length;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#sweeper) clearInterval(this.#sweeper);
    await Promise.all([...this.#sessions.keys()].map((id) => this.#drop(id)));
  }

  async #drop(sessionId: string): Promise<void> {
    const session = this.#sessions.get(sessionId);
    if (!session) return;
    this.#sessions.delete(sessionId);
    await closeQuietly(session);
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
