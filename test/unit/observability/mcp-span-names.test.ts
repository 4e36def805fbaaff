import { describe, expect, it } from "vitest";
import { describeMcpMessage } from "../../../src/observability/mcp-span-names.ts";

describe("describeMcpMessage (OTel MCP semantic conventions)", () => {
  it("names a tool call `tools/call <tool>` with the GenAI tool attributes", () => {
    const d = describeMcpMessage(
      { jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "get_alerts", arguments: { state: "CA" } } },
      { sessionId: "s-1", protocolVersion: "2025-06-18" },
    );
    expect(d).toEqual({
      name: "tools/call get_alerts",
      attributes: {
        "mcp.method.name": "tools/call",
        "network.transport": "tcp",
        "jsonrpc.request.id": "7",
        "mcp.session.id": "s-1",
        "mcp.protocol.version": "2025-06-18",
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "get_alerts",
      },
    });
  });

  it("names prompts/get after the prompt", () => {
    const d = describeMcpMessage({ jsonrpc: "2.0", id: "a", method: "prompts/get", params: { name: "summarize" } });
    expect(d?.name).toBe("prompts/get summarize");
    expect(d?.attributes["gen_ai.prompt.name"]).toBe("summarize");
    expect(d?.attributes["jsonrpc.request.id"]).toBe("a");
  });

  it("keeps a resource URI out of the span name (cardinality) but records it", () => {
    const d = describeMcpMessage({ jsonrpc: "2.0", id: 1, method: "resources/read", params: { uri: "file:///x" } });
    expect(d?.name).toBe("resources/read");
    expect(d?.attributes["mcp.resource.uri"]).toBe("file:///x");
  });

  it("uses the bare method without a target; notifications have no request id", () => {
    expect(describeMcpMessage({ jsonrpc: "2.0", id: 1, method: "tools/list" })?.name).toBe("tools/list");
    const n = describeMcpMessage({ jsonrpc: "2.0", method: "notifications/initialized" });
    expect(n?.name).toBe("notifications/initialized");
    expect(n?.attributes).not.toHaveProperty("jsonrpc.request.id");
    expect(describeMcpMessage({ jsonrpc: "2.0", id: 1, method: "tools/call", params: {} })?.name).toBe("tools/call");
  });

  it("returns undefined for batches, responses and non-objects", () => {
    expect(describeMcpMessage([{ jsonrpc: "2.0", id: 1, method: "tools/list" }])).toBeUndefined();
    expect(describeMcpMessage({ jsonrpc: "2.0", id: 1, result: {} })).toBeUndefined();
    expect(describeMcpMessage("tools/list")).toBeUndefined();
    expect(describeMcpMessage(null)).toBeUndefined();
  });
});
