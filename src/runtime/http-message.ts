// How an HTTP request crosses into a replica and its response streams back. The proxy buffers the
// request body (it is bounded by the body limit and must be read to classify MCP traffic), the
// replica rebuilds a web-standard Request, runs the ingress's fetch handler, and streams the
// Response back as items of one stream call: first an HttpResponseHead, then Uint8Array chunks.

/** The replica method an `@ingress` class exposes; it is an async generator of HttpStreamItem. */
export const HTTP_HANDLER_METHOD = "__stingray_http__";

export interface AuthIdentity {
  /** The verified token's subject or client id; never the token itself. */
  clientId: string;
  scopes: string[];
  extra?: Record<string, unknown>;
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
