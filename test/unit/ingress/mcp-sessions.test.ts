// Legacy MCP sessions through the proxy, with two replicas: the SDK's own client, sticky routing by
// Mcp-Session-Id, server→client requests, notifications, the GET stream, Last-Event-ID resumption,
// 404 for unknown/dead sessions, DELETE.

import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ACCEPT_BOTH, legacyInitialize, startProxy, until, type Harness } from "../../fixtures/ingress/harness.ts";
import { SessionMcp } from "../../fixtures/ingress/mcp-apps.ts";

const APP = { appName: "sess", routePrefix: "/s", cls: SessionMcp, replicas: 2 };
let h: Harness;
let endpoint: URL;
const clients: Client[] = [];

beforeEach(async () => {
  h = await startProxy([APP]);
  endpoint = new URL(`${h.url}/s/mcp`);
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  await h.close();
});

async function connect(): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const client = new Client(
    { name: "session-test", version: "1.0.0" },
    { versionNegotiation: { mode: "legacy" }, capabilities: { sampling: {}, elicitation: {} } },
  );
  const transport = new StreamableHTTPClientTransport(endpoint);
  await client.connect(transport);
  clients.push(client);
  return { client, transport };
}

const textOf = (r: unknown) => (r as { content: Array<{ text: string }> }).content[0]!.text;

function sessionOf(headers: Array<[string, string]>): string | undefined {
  return headers.find(([n]) => n === "mcp-session-id")?.[1];
}

describe("legacy sessions with replica affinity", () => {
  it("pins every request of a session to the replica that minted it", async () => {
    const sessions = await Promise.all([connect(), connect(), connect(), connect()]);
    for (const { client } of sessions) {
      const tags = new Set<string>();
      for (let i = 0; i < 3; i++) tags.add(textOf(await client.callTool({ name: "echo", arguments: { text: "x" } })).split("|")[4]!);
      expect(tags.size).toBe(1);
    }
    const bySession = new Map<string, Set<string>>();
    for (const entry of h.dispatcher.log) {
      const sid = sessionOf(entry.request.headers);
      if (sid === undefined) continue;
      if (!bySession.has(sid)) bySession.set(sid, new Set());
      bySession.get(sid)!.add(entry.replicaId);
    }
    expect(bySession.size).toBe(4);
    for (const replicas of bySession.values()) expect(replicas.size).toBe(1);
    // Both replicas hold sessions: placement is by the router, affinity only afterwards.
    expect(new Set([...bySession.values()].map((s) => [...s][0])).size).toBe(2);
  });

  it("carries server→client sampling and elicitation, progress and logging", async () => {
    const { client } = await connect();
    client.setRequestHandler("sampling/createMessage", async () => ({
      role: "assistant",
      model: "m",
      content: { type: "text", text: "forty-two" },
    }));
    client.setRequestHandler("elicitation/create", async () => ({ action: "accept", content: { name: "Grace" } }));
    const logs: string[] = [];
    client.setNotificationHandler("notifications/message", (n) => {
      logs.push(String(n.params.data));
    });
    expect(textOf(await client.callTool({ name: "sample", arguments: { prompt: "?" } }))).toBe("sampled: forty-two");
    expect(textOf(await client.callTool({ name: "elicit", arguments: {} }))).toBe("accept: Grace");
    const progress: number[] = [];
    await client.callTool({ name: "progress", arguments: { steps: 3, pauseMs: 5 } }, { onprogress: (p) => progress.push(p.progress) });
    expect(progress).toEqual([1, 2, 3]);
    await client.setLoggingLevel("info");
    await client.callTool({ name: "log", arguments: { message: "hello log" } });
    await until(() => logs.includes("hello log"), "log notification");
  });

  it("opens the GET stream on the session's replica", async () => {
    const { transport } = await connect();
    await until(
      () => h.dispatcher.log.some((e) => e.request.method === "GET" && sessionOf(e.request.headers) === transport.sessionId),
      "GET stream dispatched",
    );
    const replicas = new Set(h.dispatcher.log.filter((e) => sessionOf(e.request.headers) === transport.sessionId).map((e) => e.replicaId));
    expect(replicas.size).toBe(1);
  });

  it("resumes a broken SSE stream with Last-Event-ID on the same replica", async () => {
    const init = legacyInitialize();
    const initRes = await fetch(endpoint, { method: "POST", headers: init.headers, body: init.body });
    const sid = initRes.headers.get("mcp-session-id")!;
    await initRes.text();
    const headers = { "content-type": "application/json", accept: ACCEPT_BOTH, "mcp-protocol-version": "2025-11-25", "mcp-session-id": sid };
    await (await fetch(endpoint, { method: "POST", headers, body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) })).text();

    const aborter = new AbortController();
    const call = await fetch(endpoint, {
      method: "POST",
      headers,
      signal: aborter.signal,
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 9,
        method: "tools/call",
        params: { name: "progress", arguments: { steps: 3, pauseMs: 200 }, _meta: { progressToken: "p" } },
      }),
    });
    // Read until the first progress event, remember its id, then drop the connection.
    const reader = call.body!.getReader();
    let buffer = "";
    let lastEventId: string | undefined;
    while (lastEventId === undefined) {
      const { value, done } = await reader.read();
      if (done) throw new Error("stream ended early");
      buffer += new TextDecoder().decode(value);
      for (const event of buffer.split("\n\n")) {
        if (event.includes('"notifications/progress"')) lastEventId = /^id: (.+)$/m.exec(event)?.[1];
      }
    }
    aborter.abort();
    await new Promise((r) => setTimeout(r, 800)); // the tool finishes while nobody listens

    const resumed = await fetch(endpoint, { headers: { ...headers, accept: "text/event-stream", "last-event-id": lastEventId } });
    expect(resumed.status).toBe(200);
    const replay = resumed.body!.getReader();
    let text = "";
    while (!text.includes('"id":9')) {
      const { value, done } = await replay.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    await replay.cancel();
    expect(text).toContain('"progress":2');
    expect(text).toContain('"progress":3');
    expect(text).toContain("done 3");
    expect(text).not.toContain('"progress":1,');
    const served = new Set(h.dispatcher.log.filter((e) => sessionOf(e.request.headers) === sid).map((e) => e.replicaId));
    expect(served.size).toBe(1);
  });

  it("answers 404 for unknown ids without reaching a replica", async () => {
    const before = h.dispatcher.log.length;
    const res = await fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json", accept: ACCEPT_BOTH, "mcp-session-id": "made-up", "mcp-protocol-version": "2025-11-25" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe(-32001);
    expect(h.dispatcher.log.length).toBe(before);
  });

  it("answers 404 when the session's replica died, and the client can initialize again", async () => {
    const { client, transport } = await connect();
    const owner = h.dispatcher.log.find((e) => sessionOf(e.request.headers) === transport.sessionId)!.replicaId;
    h.dispatcher.kill(owner, APP);
    const res = await fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json", accept: ACCEPT_BOTH, "mcp-session-id": transport.sessionId!, "mcp-protocol-version": "2025-11-25" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe(-32001);
    await client.close().catch(() => {});
    const again = await connect();
    expect(textOf(await again.client.callTool({ name: "echo", arguments: { text: "back" } }))).toMatch(/^back\|legacy/);
  });

  it("DELETE ends the session", async () => {
    const { transport } = await connect();
    const sid = transport.sessionId!;
    await transport.terminateSession();
    expect(h.dispatcher.log.some((e) => e.request.method === "DELETE" && sessionOf(e.request.headers) === sid)).toBe(true);
    const res = await fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json", accept: ACCEPT_BOTH, "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect(res.status).toBe(404);
  });

  it("serves 2026-07-28 clients statelessly next to the sessions", async () => {
    const client = new Client({ name: "modern", version: "1" }, { versionNegotiation: { mode: "auto" } });
    clients.push(client);
    const transport = new StreamableHTTPClientTransport(endpoint);
    await client.connect(transport);
    expect(client.getNegotiatedProtocolVersion()).toBe("2026-07-28");
    expect(transport.sessionId).toBeUndefined();
    expect(textOf(await client.callTool({ name: "echo", arguments: { text: "new" } }))).toMatch(/^new\|modern/);
    const get = await fetch(endpoint, { headers: { accept: "text/event-stream" } });
    expect(get.status).toBe(400);
  });
});
