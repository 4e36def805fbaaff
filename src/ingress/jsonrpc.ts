// JSON-RPC error codes and error bodies: the ONE place where the proxy and the MCP ingress decide
// which code a failure carries. Everything the proxy answers on an MCP endpoint is a JSON-RPC error
// object (never an HTML page), so a client always gets a machine-readable reason.

export const JsonRpcCode = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  /** Transport-level failures (the SDK's convention for 4xx/5xx answers of the HTTP layer). */
  SERVER_ERROR: -32000,
  /** The session is unknown, ended, bound to someone else, or its replica died. */
  SESSION_NOT_FOUND: -32001,
  /** The request passed its deadline (the SDK's RequestTimeout code; same number, other context). */
  REQUEST_TIMEOUT: -32001,
  /** Mcp-Method / Mcp-Name headers disagree with the body (2026-07-28). */
  HEADER_MISMATCH: -32020,
  /** The requested protocol revision is not served here (2026-07-28 names this code). */
  UNSUPPORTED_VERSION: -32022,
} as const;
export type JsonRpcCode = (typeof JsonRpcCode)[keyof typeof JsonRpcCode];

export interface JsonRpcErrorBody {
  jsonrpc: "2.0";
  id: string | number | null;
  error: { code: number; message: string; data?: unknown };
}

export function jsonRpcError(
  code: JsonRpcCode,
  message: string,
  options: { id?: string | number | null; data?: unknown } = {},
): JsonRpcErrorBody {
  const error: JsonRpcErrorBody["error"] = { code, message };
  if (options.data !== undefined) error.data = options.data;
  return { jsonrpc: "2.0", id: options.id ?? null, error };
}

/** The id of a single JSON-RPC request, when the body has one (errors echo it back). */
export function requestIdOf(body: unknown): string | number | null {
  if (body && typeof body === "object" && !Array.isArray(body)) {
    const id = (body as { id?: unknown }).id;
    if (typeof id === "string" || typeof id === "number") return id;
  }
  return null;
}
