// Small writers for the answers the proxy produces itself. Every one is JSON (a JSON-RPC error on
// MCP endpoints), with an explicit Content-Length, so no client ever gets an HTML error page.

import type { ServerResponse } from "node:http";
import { jsonRpcError, type JsonRpcCode } from "./jsonrpc.ts";

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const payload = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { ...headers, "content-type": "application/json", "content-length": String(payload.length) });
  res.end(payload);
}

export function sendJsonRpcError(
  res: ServerResponse,
  status: number,
  code: JsonRpcCode,
  message: string,
  options: { id?: string | number | null; data?: unknown; headers?: Record<string, string> } = {},
): void {
  sendJson(res, status, jsonRpcError(code, message, options), options.headers);
}
