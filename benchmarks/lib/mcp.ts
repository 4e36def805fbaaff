// Raw MCP Streamable HTTP requests for load generators (autocannon needs fixed bytes, not an SDK
// client): a stateless tools/call in either protocol era, and a fetch-based call that reads the
// result from a JSON or SSE response. Shapes follow the wire rules: 2025-11-25 needs only the
// protocol-version header; 2026-07-28 needs `_meta` in params plus Mcp-Method/Mcp-Name headers
// that match the body.

import { waitFor } from "./process.ts";

export type McpEra = "legacy" | "modern";

export const LEGACY_VERSION = "2025-11-25";
export const MODERN_VERSION = "2026-07-28";

export interface RawHttpRequest {
  method: "POST";
  headers: Record<string, string>;
  body: string;
}

/** A stateless `tools/call` for `name` with `args`, as one HTTP request. */
export function toolCallRequest(
  name: string,
  args: Record<string, unknown>,
  options: { era?: McpEra; id?: number; headers?: Record<string, string> } = {},
): RawHttpRequest {
  const era = options.era ?? "legacy";
  const id = options.id ?? 1;
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    ...options.headers,
  };
  const params: Record<string, unknown> = { name, arguments: args };
  if (era === "modern") {
    headers["mcp-protocol-version"] = MODERN_VERSION;
    headers["mcp-method"] = "tools/call";
    headers["mcp-name"] = name;
    params._meta = {
      "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
      "io.modelcontextprotocol/clientCapabilities": {},
      "io.modelcontextprotocol/clientInfo": { name: "stingray-bench", version: "1.0.0" },
    };
  } else {
    headers["mcp-protocol-version"] = LEGACY_VERSION;
  }
  return { method: "POST", headers, body: JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params }) };
}

export interface ToolCallOutcome {
  status: number;
  /** The JSON-RPC message that answered the call (from JSON or the SSE stream), if any. */
  message?: { result?: { content?: Array<{ type: string; text?: string }>; isError?: boolean }; error?: { code: number; message: string } };
  headers: Headers;
}

/** Sends one tools/call with fetch and parses the answer; throws only on network errors. */
export async function callToolRaw(
  url: string | URL,
  name: string,
  args: Record<string, unknown>,
  options: { era?: McpEra; signal?: AbortSignal; headers?: Record<string, string> } = {},
): Promise<ToolCallOutcome> {
  const req = toolCallRequest(name, args, { era: options.era, headers: options.headers });
  const res = await fetch(url, { method: req.method, headers: req.headers, body: req.body, signal: options.signal });
  const text = await res.text();
  return { status: res.status, headers: res.headers, message: parseMcpBody(text, res.headers.get("content-type") ?? "") };
}

/** The JSON-RPC response in a body that is plain JSON or an SSE stream of `data:` events. */
export function parseMcpBody(text: string, contentType: string): ToolCallOutcome["message"] {
  const candidates: string[] = [];
  if (contentType.includes("text/event-stream")) {
    for (const block of text.split(/\r?\n\r?\n/)) {
      const data = block
        .split(/\r?\n/)
        .filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).replace(/^ /, ""))
        .join("\n");
      if (data) candidates.push(data);
    }
  } else if (text.trim() !== "") {
    candidates.push(text);
  }
  // The response is the message with a result or an error (notifications come before it).
  for (const c of candidates.reverse()) {
    try {
      const msg = JSON.parse(c) as Record<string, unknown>;
      if ("result" in msg || "error" in msg) return msg as ToolCallOutcome["message"];
    } catch {
      // Not JSON: keep looking.
    }
  }
  return undefined;
}

/** The text of the first content block of a successful, non-error tool result, else undefined. */
export function toolResultText(outcome: ToolCallOutcome): string | undefined {
  if (outcome.status !== 200) return undefined;
  const result = outcome.message?.result;
  if (!result || result.isError) return undefined;
  const block = result.content?.[0];
  return block?.type === "text" ? block.text : undefined;
}

/**
 * Polls until `url` answers a tools/call of `call.tool` with a text `call.accept` takes (ready
 * means a real answer, not just a listening socket); connection errors count as "not yet".
 */
export function waitForToolAnswer(
  what: string,
  url: string,
  call: {
    tool: string;
    args: Record<string, unknown>;
    accept: (text: string) => boolean;
    era?: McpEra;
    callTimeoutMs?: number;
    /** Extra request headers (e.g. Authorization). */
    headers?: Record<string, string>;
  },
  options: { timeoutMs: number; intervalMs?: number; abortIf?: () => string | undefined },
): Promise<true> {
  return waitFor(
    what,
    async () => {
      try {
        const signal = call.callTimeoutMs === undefined ? undefined : AbortSignal.timeout(call.callTimeoutMs);
        const text = toolResultText(await callToolRaw(url, call.tool, call.args, { era: call.era, signal, headers: call.headers }));
        return text !== undefined && call.accept(text);
      } catch {
        return false;
      }
    },
    options,
  );
}
