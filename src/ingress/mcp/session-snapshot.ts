// What a hibernated legacy MCP session keeps, and how its SDK objects are rebuilt from it.
//
// An idle session's McpServer and transport cost 12–40 KiB of replica heap (its handlers, the
// tools' schemas, the transport's maps); what the session *is* fits in a few hundred bytes: its id,
// who opened it, and the initialize request that shaped it (the client's capabilities, info and
// protocol version, plus the headers a factory may read). A hibernated session keeps only that
// snapshot. Waking it builds a fresh server with the app's factory and a fresh sessionful transport
// that mints the stored id, then replays the stored `initialize` and `notifications/initialized`
// through the transport's public request path, so the SDK's own state (initialized flag, session
// id, negotiated version, client capabilities) is exactly what the original handshake produced.
// The replayed answers are read and dropped: the client never sees them.
//
// Credentials are not kept: the Authorization, Cookie and Proxy-Authorization headers are dropped
// (the identity travels separately, as the request's authInfo without its token).

import type { AuthInfo, WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/server";

/** The initialize exchange of a session, enough to rebuild its server and transport. */
export interface SessionSnapshot {
  /** The `initialize` JSON-RPC message as the client sent it. */
  initialize: unknown;
  url: string;
  /** The initialize request's headers, minus credentials and per-message framing. */
  headers: Array<[string, string]>;
}

/** Headers never kept: credentials, and framing that would be wrong on a rebuilt request. */
const DROPPED_HEADERS = new Set([
  "authorization",
  "proxy-authorization",
  "cookie",
  "content-length",
  "transfer-encoding",
  "connection",
  "mcp-session-id",
  "last-event-id",
]);

const ACCEPT_BOTH = "application/json, text/event-stream";
const INITIALIZED = { jsonrpc: "2.0", method: "notifications/initialized" } as const;

export function snapshotOf(request: Request, initialize: unknown): SessionSnapshot {
  const headers: Array<[string, string]> = [];
  request.headers.forEach((value, name) => {
    if (!DROPPED_HEADERS.has(name)) headers.push([name, value]);
  });
  return { initialize, url: request.url, headers };
}

/** The initialize request as the factory saw it at the session's start (body included). */
export function initializeRequestOf(snapshot: SessionSnapshot): Request {
  const headers = new Headers(snapshot.headers);
  headers.set("accept", ACCEPT_BOTH);
  headers.set("content-type", "application/json");
  return new Request(snapshot.url, { method: "POST", headers, body: JSON.stringify(snapshot.initialize) });
}

/**
 * Replays the handshake into a fresh transport (already connected to its server, its
 * sessionIdGenerator returning the stored id). Throws when the server does not accept it again
 * (e.g. the factory now builds a server that refuses the stored protocol version).
 */
export async function replayHandshake(
  transport: WebStandardStreamableHTTPServerTransport,
  snapshot: SessionSnapshot,
  sessionId: string,
  authInfo: AuthInfo | undefined,
): Promise<void> {
  const initialized = await transport.handleRequest(initializeRequestOf(snapshot), {
    parsedBody: snapshot.initialize,
    authInfo,
  });
  // Read to the end: with SSE answers the stream closes once the initialize result is written.
  await initialized.text();
  if (!initialized.ok || transport.sessionId !== sessionId) {
    throw new Error(`the stored initialize was refused on wake (HTTP ${initialized.status})`);
  }
  const headers = new Headers(snapshot.headers);
  headers.set("accept", ACCEPT_BOTH);
  headers.set("content-type", "application/json");
  headers.set("mcp-session-id", sessionId);
  // The transport checks a present MCP-Protocol-Version header; the stored one (if any) is the
  // version the client announced, which the original handshake accepted.
  const notified = await transport.handleRequest(
    new Request(snapshot.url, { method: "POST", headers, body: JSON.stringify(INITIALIZED) }),
    { parsedBody: INITIALIZED, authInfo },
  );
  await notified.text();
  if (!notified.ok) throw new Error(`notifications/initialized was refused on wake (HTTP ${notified.status})`);
}
