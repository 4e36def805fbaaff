// The proxy server's connection-level limits, from the `http` options: how long a client may take
// to send its headers and its whole request (Node's headersTimeout / requestTimeout, answered 408
// and closed), how long a kept-alive connection may sit idle, and how many connections are served
// at once (further ones are closed as they are accepted). Also the JSON-RPC bodies of the errors
// Node answers on its own (408, 400, 431), so no client of the proxy gets a bare status line.
//
// Only the request is timed. Node tracks a connection's deadline while it parses a request and
// stops once the request is complete, so a long response (a slow tool call, an SSE stream) is
// never cut by these timeouts (test/integration/ingress/http-limits.test.ts checks it).

import type { Server, ServerOptions } from "node:http";
import type { Socket } from "node:net";
import { jsonRpcError, JsonRpcCode } from "./jsonrpc.ts";
import { parseHttpOptions, type ConnectionLimits } from "./options.ts";
import type { ProxyLogger } from "./types.ts";

/** The limits when none are given: the documented defaults of the `http` options. */
export function defaultConnectionLimits(): ConnectionLimits {
  const { publicDashboard: _public, ...limits } = parseHttpOptions(undefined, "http");
  return limits;
}

/** How often a dropped connection may be logged (a flood must not flood the log too). */
const DROP_LOG_INTERVAL_MS = 10_000;

/** `createServer` options for the timeouts. */
export function serverTimeouts(limits: ConnectionLimits): ServerOptions {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.bodyTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Node checks both request deadlines on this period; its 30 s default let a stalled body live
    // up to 30 s past its deadline. The check walks only connections mid-request: cheap.
    connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
  };
}

/** Caps the connections of `server` and answers Node's own client errors with JSON-RPC bodies. */
export function enforceConnectionLimits(server: Server, limits: ConnectionLimits, logger?: ProxyLogger): void {
  server.maxConnections = limits.maxConnections;
  let dropped = 0;
  let loggedAt = -Infinity;
  server.on("drop", () => {
    dropped++;
    const now = performance.now();
    if (now - loggedAt < DROP_LOG_INTERVAL_MS) return;
    loggedAt = now;
    logger?.warn({ maxConnections: limits.maxConnections, dropped }, "connection limit reached: new connections are closed (http.maxConnections)");
    dropped = 0;
  });
  server.on("clientError", answerClientError);
}

// What Node itself would answer, by error code; anything else is a malformed request.
const CLIENT_ERRORS: Record<string, { status: number; reason: string; message: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, reason: "Request Timeout", message: "Request Timeout: the request did not arrive in time" },
  HPE_HEADER_OVERFLOW: { status: 431, reason: "Request Header Fields Too Large", message: "Request Header Fields Too Large" },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { status: 413, reason: "Payload Too Large", message: "Payload Too Large: chunk extensions too large" },
};
const BAD_REQUEST = { status: 400, reason: "Bad Request", message: "Bad Request: malformed HTTP request" };

function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  // Like Node's default handler: answer only when no response has started on this socket, or the
  // peer would read our bytes in the middle of another answer. `_httpMessage` is the socket's
  // in-flight ServerResponse, the field Node's own handler checks.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (err.code === "ECONNRESET" || !socket.writable || inFlight?.headersSent) {
    socket.destroy(err);
    return;
  }
  const answer = (err.code && CLIENT_ERRORS[err.code]) || BAD_REQUEST;
  const body = JSON.stringify(jsonRpcError(JsonRpcCode.SERVER_ERROR, answer.message));
  const head = `HTTP/1.1 ${answer.status} ${answer.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`;
  // Destroy once written (the client may still be sending a body nobody will read); a peer that
  // never reads gets a second to take the answer.
  socket.end(head + body, () => socket.destroy());
  socket.setTimeout(1_000, () => socket.destroy());
}
