// The stateless 2025-era leg of an MCP replica (no sessions): what the SDK's own fallback inside
// `createMcpHandler` does — a fresh server and a WebStandardStreamableHTTPServerTransport per POST,
// torn down once the answer is out — minus the SDK's second ReadableStream and Response, which it
// wraps around the transport's SSE stream only to notice when the stream ends. In a replica the
// HTTP bridge is the one reader of that stream and says when it is done (`onBodyDone`), so the
// transport's own Response goes out as it is. On Node 20 each ReadableStream and stream-bodied
// Response costs tens of µs (transferable streams), per 2025-era tool call.
//
// `routeLegacy` decides with the SDK's own predicate (`isLegacyRequest`, the classification the
// handler itself runs), and only for a well-formed JSON POST: everything else — modern traffic,
// GET/DELETE, bad content types, unparseable bodies — stays with the SDK handler, which answers
// it exactly as before.

import {
  SUPPORTED_PROTOCOL_VERSIONS,
  WebStandardStreamableHTTPServerTransport,
  isJsonContentType,
  isLegacyRequest,
  type AuthInfo,
  type McpServer,
  type Server,
} from "@modelcontextprotocol/server";
import { onBodyDone } from "../http-bridge.ts";

export interface LegacyStatelessOptions {
  /** Builds the per-request server (the app's factory, era "legacy"). */
  createServer: (request: Request, authInfo: AuthInfo | undefined) => McpServer | Server | Promise<McpServer | Server>;
  keepAliveMs?: number;
  maxBodyBytes?: number;
  /** Where a failure of the factory or transport is reported (the answer is a JSON-RPC 500). */
  onError: (err: unknown) => void;
}

export type LegacyStatelessHandler = (request: Request, authInfo: AuthInfo | undefined, parsedBody: unknown) => Promise<Response>;

/**
 * Whether `request` (with its body already parsed) takes the lean legacy leg: a JSON POST with a
 * parsed body that the SDK classifies as 2025-era. A request whose MCP-Protocol-Version header
 * names no 2025-era revision (the modern one, say) goes straight to the SDK handler, so modern
 * traffic skips the second classification.
 */
export async function routeLegacy(request: Request, parsedBody: unknown, maxBodyBytes: number | undefined): Promise<boolean> {
  if (parsedBody === undefined || request.method !== "POST") return false;
  const version = request.headers.get("mcp-protocol-version");
  if (version !== null && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) return false;
  if (!isJsonContentType(request.headers.get("content-type"))) return false;
  return isLegacyRequest(request, parsedBody, { maxRequestBodySize: maxBodyBytes });
}

export function legacyStatelessHandler(options: LegacyStatelessOptions): LegacyStatelessHandler {
  return async (request, authInfo, parsedBody) => {
    try {
      const server = await options.createServer(request, authInfo);
      const transport = new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: undefined,
        ...(options.keepAliveMs !== undefined ? { keepAliveMs: options.keepAliveMs } : {}),
        ...(options.maxBodyBytes !== undefined ? { maxRequestBodySize: options.maxBodyBytes } : {}),
      });
      await server.connect(transport);
      let tornDown = false;
      const teardown = (): void => {
        if (tornDown) return;
        tornDown = true;
        request.signal.removeEventListener("abort", teardown);
        transport.close().catch(() => {});
        server.close().catch(() => {});
      };
      request.signal.addEventListener("abort", teardown, { once: true });
      const response = await transport.handleRequest(request, {
        ...(authInfo !== undefined ? { authInfo } : {}),
        parsedBody,
      });
      if (response.body === null || !isEventStream(response.headers.get("content-type"))) {
        teardown();
        return response;
      }
      // The stream ends when the transport sent every answer; the bridge reads it to the end (or
      // cancels it when the client leaves) and then tears the exchange down.
      onBodyDone(response, teardown);
      return response;
    } catch (err) {
      options.onError(err);
      return Response.json(
        { jsonrpc: "2.0", error: { code: -32603, message: "Internal server error" }, id: requestIdOf(parsedBody) },
        { status: 500 },
      );
    }
  };
}

function isEventStream(contentType: string | null): boolean {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase() === "text/event-stream";
}

/** The id to echo: a single request's string or number id, else null (as the SDK does). */
function requestIdOf(body: unknown): string | number | null {
  if (body === null || typeof body !== "object" || Array.isArray(body)) return null;
  const msg = body as { id?: unknown; method?: unknown };
  return typeof msg.method === "string" && (typeof msg.id === "string" || typeof msg.id === "number") ? msg.id : null;
}
