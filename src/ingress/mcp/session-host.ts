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
//
// Idle sessions hibernate: after hibernateAfterMs without use, or when more than maxLiveSessions
// hold SDK objects (the least recently used idle one first), a session drops its McpServer,
// transport and event store and keeps only a snapshot of its initialize exchange
// (session-snapshot.ts), about 1 KiB instead of 12–40 KiB. Its next request wakes it: the factory
// builds a new server (told `restored: true`), the stored handshake is replayed, and the request is
// served under the same id. A busy session (a request in flight, an open stream, so also a pending
// sampling or elicitation request) never hibernates. What does not survive: state the factory kept
// in its closure, the logging level a client set, and SSE events older than the hibernation (a
// client resuming with Last-Event-ID after it gets a fresh stream instead of a replay).

import { principalOfAuthInfo } from "./auth-info.ts";
import {
  WebStandardStreamableHTTPServerTransport,
  isInitializeRequest,
  type AuthInfo,
  type McpServer,
  type Server,
} from "@modelcontextprotocol/server";
import { getReplicaContext } from "../../runtime/replica-context.ts";
import { mintSessionId } from "../session-id.ts";
import { BoundedEventStore } from "./event-store.ts";
import { initializeRequestOf, replayHandshake, snapshotOf, type SessionSnapshot } from "./session-snapshot.ts";
import { SessionLru } from "../session-lru.ts";
import { EVICTED_SESSION_HEADER } from "../sessions.ts";
import { JsonRpcCode, jsonRpcError, requestIdOf, type JsonRpcCode as Code } from "../jsonrpc.ts";

/** Which session a server is built for, and whether it is being woken from hibernation. */
export interface SessionIdentity {
  id: string;
  restored: boolean;
}

export interface SessionHostOptions {
  /** Builds the session's server; called at initialize and again each time the session wakes. */
  createServer: (
    request: Request,
    authInfo: AuthInfo | undefined,
    session: SessionIdentity,
  ) => McpServer | Server | Promise<McpServer | Server>;
  idleTimeoutMs: number;
  maxSessions: number;
  /** An idle session drops its SDK objects after this long (false, the default here: never by time). */
  hibernateAfterMs?: number | false;
  /** Sessions holding SDK objects at most (default here: no bound); past it the least recently used idle one hibernates. */
  maxLiveSessions?: number;
  resumable: boolean;
  maxEventsPerSession: number;
  retryIntervalMs?: number;
  keepAliveMs: number;
  jsonResponse: boolean;
  maxBodyBytes: number;
  /** Injected clock (tests). */
  now?: () => number;
}

/** A session's SDK objects, present while it is awake. */
interface LiveParts {
  server: McpServer | Server;
  transport: WebStandardStreamableHTTPServerTransport;
}

interface Session {
  /** Undefined while hibernated. */
  live: LiveParts | undefined;
  /** Set once the initialize succeeded: what waking the session replays. */
  snapshot: SessionSnapshot | undefined;
  /** Who initialized it; later requests must come from the same principal (null: no auth). */
  principal: string | null;
  /** Requests inside handle() now, waking included (before the transport has registered them). */
  handling: number;
  /** The wake under way, shared by requests that arrive while it runs. */
  waking: Promise<LiveParts> | undefined;
}

export const SESSION_HEADER = "mcp-session-id";

/** 128+ bits from the CSPRNG, URL-safe: unguessable, and valid as a visible-ASCII header value. */
/** A new session id naming this replica as its owner (see src/ingress/session-id.ts). */
function mintOwnedSessionId(): string {
  return mintSessionId(currentReplicaId());
}

function currentReplicaId(): string | undefined {
  try {
    return getReplicaContext().replicaId;
  } catch {
    return undefined; // Outside a replica thread (unit tests): an id without an owner.
  }
}

export class SessionHost {
  readonly #options: SessionHostOptions;
  readonly #sessions: SessionLru<Session>;
  /** The awake subset of #sessions, in the same use order: who hibernates first. */
  readonly #live: SessionLru<Session>;
  /** Initializes holding a reserved slot whose session is not registered yet. */
  #opening = 0;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(options: SessionHostOptions) {
    this.#options = options;
    this.#sessions = new SessionLru({ now: options.now });
    this.#live = new SessionLru({ now: options.now });
  }

  /** Sessions holding SDK objects now (the rest are hibernated). */
  get liveSize(): number {
    return this.#live.size;
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
    const principal = principalOfAuthInfo(authInfo);
    if (sessionId !== null) {
      const session = this.#sessions.get(sessionId);
      // A session bound to another identity looks exactly like an unknown one: no oracle for ids.
      if (!session || session.principal !== principal) {
        return errorResponse(404, JsonRpcCode.SESSION_NOT_FOUND, "Session not found", requestIdOf(parsedBody));
      }
      this.#sessions.touch(sessionId);
      this.#live.touch(sessionId);
      // Ending a hibernated session needs no server: forget it, as the transport would answer.
      if (!session.live && !session.waking && request.method === "DELETE") {
        void this.#drop(sessionId);
        return new Response(null, { status: 200 });
      }
      session.handling++;
      try {
        const live = session.live ?? (await this.#wake(sessionId, session, authInfo));
        return await live.transport.handleRequest(request, { parsedBody, authInfo });
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
    // Minted before the server is built, so the factory knows which session it serves.
    const sessionId = mintOwnedSessionId();
    let session: Session | undefined;
    // Taken now so that the transport's callback (kept as long as the session) holds the small
    // snapshot, not the request (an undici Request with its headers, body and signal: kilobytes).
    const snapshot = snapshotOf(request, parsedBody);
    const transport = this.#transport(sessionId, () => {
      if (!session || this.#closed) return;
      // The reservation becomes the session: from here on it counts in #sessions.
      releaseReservation();
      session.snapshot = snapshot;
      this.#sessions.set(sessionId, session);
      this.#live.set(sessionId, session);
    });
    let server: McpServer | Server;
    try {
      server = await o.createServer(request, authInfo, { id: sessionId, restored: false });
    } catch (err) {
      await transport.close().catch(() => {});
      throw err;
    }
    session = { live: { server, transport }, snapshot: undefined, principal, handling: 1, waking: undefined };
    try {
      await server.connect(transport);
      const response = await transport.handleRequest(request, { parsedBody, authInfo });
      if (transport.sessionId !== sessionId || this.#sessions.get(sessionId) !== session) {
        // initialize was refused (bad params, version), or the host closed meanwhile: nothing to keep.
        await closeQuietly(session.live!);
      } else {
        this.#startSweeper();
        this.#hibernateOverLiveLimit();
      }
      return response;
    } finally {
      session.handling--;
    }
  }

  /** A sessionful SDK transport that mints `sessionId` (a new session's, or a woken one's own). */
  #transport(sessionId: string, onInitialized: () => void): WebStandardStreamableHTTPServerTransport {
    const o = this.#options;
    return new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => sessionId,
      onsessioninitialized: onInitialized,
      onsessionclosed: (id) => {
        void this.#drop(id);
      },
      eventStore: o.resumable ? new BoundedEventStore(o.maxEventsPerSession) : undefined,
      retryInterval: o.retryIntervalMs,
      keepAliveMs: o.keepAliveMs,
      enableJsonResponse: o.jsonResponse,
      maxRequestBodySize: o.maxBodyBytes,
    });
  }

  /**
   * Rebuilds a hibernated session's server and transport and replays its handshake. Requests that
   * arrive during the wake share it. If the factory or the replay fails, the session stays
   * hibernated (the error reaches this request; a later one tries again).
   */
  #wake(sessionId: string, session: Session, authInfo: AuthInfo | undefined): Promise<LiveParts> {
    session.waking ??= (async () => {
      const snapshot = session.snapshot!;
      const transport = this.#transport(sessionId, () => {});
      let server: McpServer | Server | undefined;
      try {
        server = await this.#options.createServer(initializeRequestOf(snapshot), authInfo, { id: sessionId, restored: true });
        await server.connect(transport);
        await replayHandshake(transport, snapshot, sessionId, authInfo);
      } catch (err) {
        await closeQuietly({ server, transport });
        throw err;
      }
      const live = { server, transport };
      if (this.#closed || this.#sessions.get(sessionId) !== session) {
        // Ended (DELETE, expiry, eviction, shutdown) while waking: do not resurrect it.
        await closeQuietly(live);
        throw new Error("the session ended while it was waking");
      }
      session.live = live;
      this.#live.set(sessionId, session);
      this.#hibernateOverLiveLimit();
      return live;
    })().finally(() => {
      session.waking = undefined;
    });
    return session.waking;
  }

  /** Drops an idle session's SDK objects, keeping its snapshot; no-op when busy or asleep. */
  async #hibernate(sessionId: string, session: Session): Promise<void> {
    const live = session.live;
    if (!live || !session.snapshot || isBusy(session)) return;
    session.live = undefined;
    this.#live.delete(sessionId);
    // transport.close() does not call onsessionclosed (only a DELETE does): the session lives on.
    await closeQuietly(live);
  }

  /** Keeps at most maxLiveSessions awake: the least recently used idle ones hibernate first. */
  #hibernateOverLiveLimit(): void {
    while (this.#live.size > (this.#options.maxLiveSessions ?? Infinity)) {
      const victim = this.#live.oldestIdle(isBusy);
      if (!victim) return;
      void this.#hibernate(victim[0], victim[1]);
    }
  }

  /**
   * Cancels in-flight requests of a session as if its client had sent notifications/cancelled:
   * the tool's `ctx.mcpReq.signal` aborts. Used when a request passes its deadline; a mere
   * disconnect does not cancel (2025 clients resume the stream with Last-Event-ID).
   */
  cancel(sessionId: string, requestIds: Array<string | number>, reason: string): void {
    const transport = this.#sessions.get(sessionId)?.live?.transport;
    if (!transport) return;
    for (const requestId of requestIds) {
      transport.onmessage?.({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId, reason } });
    }
  }

  /**
   * Closes sessions idle for longer than idleTimeoutMs; returns how many were closed. A session
   * with an open stream or a request in flight is not idle, however long ago it began.
   */
  async sweep(): Promise<number> {
    const stale = this.#sessions.takeExpired(this.#options.idleTimeoutMs, isBusy);
    for (const [id] of stale) this.#live.delete(id);
    const hibernateAfterMs = this.#options.hibernateAfterMs ?? false;
    const sleepy = hibernateAfterMs === false ? [] : this.#live.takeExpired(hibernateAfterMs, isBusy);
    await Promise.all([
      ...stale.map(([, session]) => (session.live ? closeQuietly(session.live) : undefined)),
      ...sleepy.map(([id, session]) => this.#hibernate(id, session)),
    ]);
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
    this.#live.delete(sessionId);
    this.#stopSweeperIfEmpty();
    if (session.live) await closeQuietly(session.live);
  }

  #stopSweeperIfEmpty(): void {
    if (this.#sessions.size === 0 && this.#sweeper) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }

  #startSweeper(): void {
    if (this.#sweeper || this.#closed) return;
    const { idleTimeoutMs } = this.#options;
    const hibernateAfterMs = this.#options.hibernateAfterMs ?? false;
    const shortest = hibernateAfterMs === false ? idleTimeoutMs : Math.min(idleTimeoutMs, hibernateAfterMs);
    const period = Math.max(250, Math.min(60_000, Math.floor(shortest / 2)));
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
  if (session.handling > 0 || session.waking) return true;
  if (!session.live) return false;
  const t = session.live.transport as unknown as { _streamMapping?: Map<unknown, unknown>; _requestToStreamMapping?: Map<unknown, unknown> };
  return (t._streamMapping?.size ?? 0) > 0 || (t._requestToStreamMapping?.size ?? 0) > 0;
}

async function closeQuietly(parts: { server?: McpServer | Server | undefined; transport: WebStandardStreamableHTTPServerTransport }): Promise<void> {
  await parts.transport.close().catch(() => {});
  await parts.server?.close().catch(() => {});
}

function errorResponse(status: number, code: Code, message: string, id: string | number | null = null): Response {
  return new Response(JSON.stringify(jsonRpcError(code, message, { id })), {
    status,
    headers: { "content-type": "application/json" },
  });
}
