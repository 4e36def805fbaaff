import { describe, expect, it } from "vitest";
import { parseMcpBody, toolCallRequest, toolResultText } from "../../../benchmarks/lib/mcp.ts";
import { parseVmRssMiB } from "../../../benchmarks/lib/process.ts";

describe("toolCallRequest", () => {
  it("builds a 2025-11-25 stateless tools/call", () => {
    const req = toolCallRequest("echo", { text: "hi" }, { id: 3 });
    expect(req.headers).toEqual({
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "mcp-protocol-version": "2025-11-25",
    });
    expect(JSON.parse(req.body)).toEqual({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "echo", arguments: { text: "hi" } } });
  });

  it("builds a 2026-07-28 tools/call whose Mcp-Method/Mcp-Name headers match the body and carries _meta", () => {
    const req = toolCallRequest("get_alerts", { state: "CA" }, { era: "modern" });
    const body = JSON.parse(req.body);
    expect(req.headers["mcp-method"]).toBe(body.method);
    expect(req.headers["mcp-name"]).toBe(body.params.name);
    expect(req.headers["mcp-protocol-version"]).toBe("2026-07-28");
    expect(body.params._meta["io.modelcontextprotocol/protocolVersion"]).toBe("2026-07-28");
    expect(body.params._meta["io.modelcontextprotocol/clientInfo"]).toEqual({ name: "stingray-bench", version: "1.0.0" });
  });
});

describe("parseMcpBody", () => {
  const result = { jsonrpc: "2.0", id: 1, result: { content: [{ type: "text", text: "ok" }] } };

  it("reads a JSON response", () => {
    expect(parseMcpBody(JSON.stringify(result), "application/json")).toEqual(result);
  });

  it("reads the response out of an SSE stream after notifications", () => {
    const note = { jsonrpc: "2.0", method: "notifications/progress", params: { progress: 1 } };
    const sse = `event: message\ndata: ${JSON.stringify(note)}\n\nevent: message\nid: 2\ndata: ${JSON.stringify(result)}\n\n`;
    expect(parseMcpBody(sse, "text/event-stream")).toEqual(result);
  });

  it("returns undefined for an empty body, HTML, or an SSE stream without a response", () => {
    expect(parseMcpBody("", "application/json")).toBeUndefined();
    expect(parseMcpBody("<html>", "text/html")).toBeUndefined();
    expect(parseMcpBody('data: {"jsonrpc":"2.0","method":"x"}\n\n', "text/event-stream")).toBeUndefined();
  });

  it("toolResultText takes only a 200 with a non-error text result", () => {
    const headers = new Headers();
    expect(toolResultText({ status: 200, headers, message: result })).toBe("ok");
    expect(toolResultText({ status: 503, headers, message: result })).toBeUndefined();
    expect(toolResultText({ status: 200, headers, message: { result: { isError: true, content: [{ type: "text", text: "bad" }] } } })).toBeUndefined();
    expect(toolResultText({ status: 200, headers, message: { error: { code: -32602, message: "x" } } })).toBeUndefined();
  });
});

describe("parseVmRssMiB", () => {
  it("reads VmRSS in MiB from /proc/<pid>/status text", () => {
    expect(parseVmRssMiB("Name:\tnode\nVmPeak:\t 999 kB\nVmRSS:\t   51200 kB\nThreads: 7\n")).toBe(50);
    expect(parseVmRssMiB("Name:\tzombie\n")).toBeNull();
  });
});
