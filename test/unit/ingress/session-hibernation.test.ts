// Session hibernation in the replica's session host (issue 11, part 3): idle sessions drop their
// SDK objects after hibernateAfterMs or past maxLiveSessions, keep their id, and wake on the next
// request with the handshake replayed; busy sessions never hibernate. Injected clock, real SDK.

import { McpServer } from "@modelcontextprotocol/server";
import { afterEach, describe, expect, it } from "vitest";
import { SessionHost, type SessionHostOptions, type SessionIdentity } from "../../../src/ingress/mcp/session-host.ts";
import { ACCEPT_BOTH, messagesOf } from "../../fixtures/ingress/harness.ts";

const URL_ = "http://127.0.0.1/mcp";

interface Built {
  session: SessionIdentity;
  server: McpServer;
  closed: boolean;
}

function fixture(overrides: Partial<SessionHostOptions> = {}) {
  let now = 0;
  const built: Built[] = [];
  const host = new SessionHost({
    createServer: (request, _auth, session) => {
      const server = new McpServer({ name: "t", version: "1" });
      const entry: Built = { session, server, closed: false };
      built.push(entry);
      server.server.onclose = () => {
        entry.closed = true;
      };
      const tenant = request.headers.get("x-tenant") ?? "none";
      server.registerTool("whoami", { description: "the client and tenant this server was built for" }, async () => ({
        content: [{ type: "text", text: `${server.server.getClientVersion()?.name}/${tenant}` }],
      }));
      return server;
    },
    idleTimeoutMs: 3_600_000,
    maxSessions: 100,
    resumable: true,
    maxEventsPerSession: 10,
    keepAliveMs: 0,
    jsonResponse: false,
    maxBodyBytes: 1024 * 1024,
    hibernateAfterMs: 1_000,
    maxLiveSessions: 100,
    now: () => now,
    ...overrides,
  });
  return {
    host,
    built,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

async function open(host: SessionHost, options: { clientId?: string; clientName?: string } = {}): Promise<string> {
  const body = {
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion: "2025-11-25", capabilities: { sampling: {} }, clientInfo: { name: options.clientName ?? "raw", version: "1" } },
  };
  const headers = { "content-type": "application/json", accept: ACCEPT_BOTH, "x-tenant": "acme", authorization: "Bearer secret-token" };
  const res = await host.handle(new Request(URL_, { method: "POST", headers, body: JSON.stringify(body) }), body, authOf(options.clientId));
  expect(res.status).toBe(200);
  await res.text();
  return res.headers.get("mcp-session-id")!;
}

function authOf(clientId: string | undefined) {
  return clientId ? { token: "", clientId, scopes: [] } : undefined;
}

async function post(host: SessionHost, sid: string, body: Record<string, unknown>, clientId?: string): Promise<Response> {
  const headers = { "content-type": "application/json", accept: ACCEPT_BOTH, "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25" };
  return host.handle(new Request(URL_, { method: "POST", headers, body: JSON.stringify(body) }), body, authOf(clientId));
}

let nextId = 10;
async function whoami(host: SessionHost, sid: string, clientId?: string): Promise<string> {
  // Distinct JSON-RPC ids: one session's concurrent requests are told apart by them.
  const res = await post(host, sid, { jsonrpc: "2.0", id: nextId++, method: "tools/call", params: { name: "whoami", arguments: {} } }, clientId);
  expect(res.status).toBe(200);
  const [message] = (await messagesOf(res)) as Array<{ result: { content: Array<{ text: string }> } }>;
  return message!.result.content[0]!.text;
}

const hosts: SessionHost[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.close()));
});

describe("SessionHost hibernation", () => {
  it("drops an idle session's server after hibernateAfterMs and wakes it under the same id, handshake intact", async () => {
    const { host, built, advance } = fixture();
    hosts.push(host);
    const sid = await open(host, { clientName: "claude-desktop" });
    expect(await whoami(host, sid)).toBe("claude-desktop/acme");
    expect(built).toHaveLength(1);
    expect(built[0]!.session).toEqual({ id: sid, restored: false });

    advance(500);
    await host.sweep();
    expect(host.liveSize).toBe(1); // not idle long enough
    advance(600);
    await host.sweep();
    expect(host.size).toBe(1);
    expect(host.liveSize).toBe(0);
    expect(built[0]!.closed).toBe(true);

    // The next call wakes it: a new server, told it is a restore, sees the same client info (the
    // replayed initialize) and the initialize request's headers (minus credentials).
    expect(await whoami(host, sid)).toBe("claude-desktop/acme");
    expect(built).toHaveLength(2);
    expect(built[1]!.session).toEqual({ id: sid, restored: true });
    expect(host.liveSize).toBe(1);
  });

  it("keeps no credentials in the snapshot the factory sees on wake", async () => {
    const seen: Array<string | null> = [];
    const { host, advance } = fixture({
      createServer: (request) => {
        seen.push(request.headers.get("authorization"));
        return new McpServer({ name: "t", version: "1" });
      },
    });
    hosts.push(host);
    const sid = await open(host);
    advance(2_000);
    await host.sweep();
    const res = await post(host, sid, { jsonrpc: "2.0", id: 2, method: "ping" });
    expect(res.status).toBe(200);
    await res.text();
    expect(seen).toEqual(["Bearer secret-token", null]);
  });

  it("keeps at most maxLiveSessions awake: the least recently used idle ones hibernate, and all still answer", async () => {
    const { host, built } = fixture({ maxLiveSessions: 2, hibernateAfterMs: false });
    hosts.push(host);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await open(host, { clientName: `c${i}` }));
    expect(host.size).toBe(5);
    expect(host.liveSize).toBe(2);
    // The three oldest were closed, the two newest kept.
    expect(built.map((b) => b.closed)).toEqual([true, true, true, false, false]);
    for (let i = 0; i < 5; i++) expect(await whoami(host, ids[i]!)).toBe(`c${i}/acme`);
    expect(host.liveSize).toBe(2);
  });

  it("never hibernates a session with an open GET stream", async () => {
    const { host, advance } = fixture();
    hosts.push(host);
    const sid = await open(host);
    const stream = await host.handle(
      new Request(URL_, { method: "GET", headers: { accept: "text/event-stream", "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25" } }),
      undefined,
      undefined,
    );
    expect(stream.status).toBe(200);
    advance(10_000);
    await host.sweep();
    expect(host.liveSize).toBe(1);
    // Once the stream ends the session is idle again and hibernates after its own idle time.
    await stream.body!.cancel();
    advance(10_000);
    await host.sweep();
    expect(host.liveSize).toBe(0);
  });

  it("wakes once for concurrent requests", async () => {
    const { host, built, advance } = fixture();
    hosts.push(host);
    const sid = await open(host);
    advance(2_000);
    await host.sweep();
    const answers = await Promise.all([1, 2, 3, 4].map(() => whoami(host, sid)));
    expect(answers).toEqual(Array(4).fill("raw/acme"));
    expect(built).toHaveLength(2);
  });

  it("ends a hibernated session on DELETE without waking it, and refuses another identity without waking it", async () => {
    const { host, built, advance } = fixture();
    hosts.push(host);
    const sid = await open(host, { clientId: "alice" });
    advance(2_000);
    await host.sweep();
    const asBob = await post(host, sid, { jsonrpc: "2.0", id: 2, method: "ping" }, "bob");
    expect(asBob.status).toBe(404);
    const del = await host.handle(
      new Request(URL_, { method: "DELETE", headers: { "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25" } }),
      undefined,
      authOf("alice"),
    );
    expect(del.status).toBe(200);
    expect(built).toHaveLength(1);
    expect(host.size).toBe(0);
    const after = await post(host, sid, { jsonrpc: "2.0", id: 3, method: "ping" }, "alice");
    expect(after.status).toBe(404);
  });

  it("a hibernated session still expires after idleTimeoutMs", async () => {
    const { host, advance } = fixture({ idleTimeoutMs: 5_000 });
    hosts.push(host);
    const sid = await open(host);
    advance(2_000);
    await host.sweep();
    expect(host.liveSize).toBe(0);
    advance(4_000);
    expect(await host.sweep()).toBe(1);
    expect(host.size).toBe(0);
    const res = await post(host, sid, { jsonrpc: "2.0", id: 2, method: "ping" });
    expect(res.status).toBe(404);
  });

  it("a failed wake answers with the error and leaves the session asleep for a later try", async () => {
    let fail = false;
    const { host, advance } = fixture({
      createServer: () => {
        if (fail) throw new Error("model not loaded yet");
        return new McpServer({ name: "t", version: "1" });
      },
    });
    hosts.push(host);
    const sid = await open(host);
    advance(2_000);
    await host.sweep();
    fail = true;
    await expect(post(host, sid, { jsonrpc: "2.0", id: 2, method: "ping" })).rejects.toThrow("model not loaded yet");
    expect(host.size).toBe(1);
    fail = false;
    const res = await post(host, sid, { jsonrpc: "2.0", id: 3, method: "ping" });
    expect(res.status).toBe(200);
    await res.text();
  });
});
