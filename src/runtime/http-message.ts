// How an HTTP request crosses into a replica and its response streams back. The proxy buffers the
// request body (it is bounded by the body limit and must be read to classify MCP traffic), the
// replica rebuilds a web-standard Request, runs the ingress's fetch handler, and streams the
// Response back as items of one stream call: first an HttpResponseHead, then Uint8Array chunks.

/** The replica method an `@ingress` class exposes; it is an async generator of HttpStreamItem. */
export const HTTP_HANDLER_METHOD = "__stingray_http__";

export interface AuthIdentity {
  /** The verified token's client id (a JWT's `client_id` or `azp`, else its `sub`); never the token itself. */
  clientId: string;
  scopes: string[];
  /** The user (or service) the token was issued for: a JWT's `sub`. */
  subject?: string;
  /** When the token expires, in seconds since the epoch (a JWT's `exp`). */
  expiresAt?: number;
  /** More about the caller; for a JWT, `{ claims }` holds the whole verified payload. */
  extra?: Record<string, unknown>;
}

/**
 * Who a session or task belongs to: the client id, and the subject when the token names one, so
 * two users of the same OAuth client never share a session.
 */
export function principalOf(identity: { clientId: string; subject?: string } | undefined): string | null {
  if (!identity) return null;
  return identity.subject === undefined ? identity.clientId : `${identity.clientId}\u0000${identity.subject}`;
}

export interface SerializedHttpRequest {
  method: string;
  /** Absolute URL as the client asked for it (scheme, host, path under the route prefix, query). */
  url: string;
  headers: Array<[string, string]>;
  body: Uint8Array | null;
  /** Set by the proxy after authentication. */
  auth?: AuthIdentity;
  /** Proxy-assigned request id (echoes X-Request-ID). */
  requestId?: string;
}

export interface HttpResponseHead {
  status: number;
  headers: Array<[string, string]>;
  /**
   * Body bytes sent with the head, before any chunk items (optional). The ingress puts a whole
   * small JSON answer here so it crosses the thread boundary in one message; streamed bodies (SSE)
   * leave it unset and arrive as chunks.
   */
  body?: Uint8Array;
  /** True when `body` is the whole body: no chunk follows, the proxy may answer before the stream ends. */
  complete?: boolean;
}

export type HttpStreamItem = HttpResponseHead | Uint8Array;
