// Request deadlines on MCP endpoints whose answer is already streaming (2025-era SSE): the client
// gets a JSON-RPC error event for its request instead of a silently cut stream, and the tool in
// the replica is cancelled — also inside a legacy session, where a mere disconnect would not
// cancel it (the client may resume the stream).

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACCEPT_BOTH, legacyInitialize, messagesOf, startProxy, until, type Harness } from "../../fixtures/ingress/harness.ts";
import { TimeoutMcp, TimeoutSessionMcp, type ToolState } from "../../fixtures/ingress/mcp-apps.ts";

let h: Harness;
beforeAll(async () => {
  h = await startProxy([
    { appName: "stateless", routePrefix: "/a", cls: TimeoutMcp },
    { appName: "sessions", routePrefix: "/b", cls: TimeoutSessionMcp },
  ]);
});
afterAll(async () => {
  await h.close();
});

const slowCall = (id: number) =>
  JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "slow", arguments: { ms: 20_000 } } });

describe("deadlines on streamed MCP answers", () => {
  it("ends a stateless 2025 SSE answer with a timeout error and stops the tool", async () => {
    const replica = h.dispatcher.instance(h.dispatcher.replicaIds("stateless")[0]!) as ToolState;
    const started = Date.now();
    const res = await fetch(`${h.url}/a/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: ACCEPT_BOTH, "mcp-protocol-version": "2025-11-25" },
      body: slowCall(41),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const messages = (await messagesOf(res)) as Array<{ id?: number; error?: { code: number; message: string } }>;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(messages.at(-1)).toEqual({ jsonrpc: "2.0", id: 41, error: { code: -32001, message: "Request timed out" } });
    await until(() => replica.slowAborted === 1, "tool cancelled");
  });

  it("cancels a session's request in its replica when it passes the deadline", async () => {
    const replica = h.dispatcher.instance(h.dispatcher.replicaIds("sessions")[0]!) as ToolState;
    const init = legacyInitialize();
    const opened = await fetch(`${h.url}/b/mcp`, { method: "POST", headers: init.headers, body: init.body });
    const sid = opened.headers.get("mcp-session-id")!;
    await opened.text();
    const headers = { "content-type": "application/json", accept: ACCEPT_BOTH, "mcp-protocol-version": "2025-11-25", "mcp-session-id": sid };
    await (await fetch(`${h.url}/b/mcp`, { method: "POST", headers, body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) })).text();
    const res = await fetch(`${h.url}/b/mcp`, { method: "POST", headers, body: slowCall(42) });
    const messages = (await messagesOf(res)) as Array<{ id?: number; error?: { code: number } }>;
    expect(messages.at(-1)).toMatchObject({ id: 42, error: { code: -32001 } });
    await until(() => replica.slowAborted === 1, "session tool cancelled");
    expect(replica.slowFinished).toBe(0);
    // The session itself lives on.
    const list = await fetch(`${h.url}/b/mcp`, { method: "POST", headers, body: JSON.stringify({ jsonrpc: "2.0", id: 43, method: "tools/list" }) });
    expect(list.status).toBe(200);
    expect(JSON.stringify(await messagesOf(list))).toContain('"slow"');
  });
});
