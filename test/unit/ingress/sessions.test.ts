// The proxy's session table and the replica's session host, with an injected clock.

import { McpServer } from "@modelcontextprotocol/server";
import { describe, expect, it } from "vitest";
import { SessionHost } from "../../../src/ingress/mcp/session-host.ts";
import { SessionTable } from "../../../src/ingress/sessions.ts";
import { replicaId } from "../../../src/runtime/ids.ts";
import { ACCEPT_BOTH, legacyInitialize } from "../../fixtures/ingress/harness.ts";

const r1 = replicaId("app#r1");
const r2 = replicaId("app#r2");

describe("SessionTable", () => {
  it("pins a session to its replica and principal; every failure reads as not found", () => {
    let now = 1_000;
    const table = new SessionTable({ now: () => now });
    const alive = new Set([r1, r2]);
    const isAlive = (id: typeof r1) => alive.has(id);
    table.bind("s1", { appName: "app", replicaId: r1, principal: "alice", idleTimeoutMs: 100 });
    expect(table.lookup("app", "s1", "alice", isAlive)).toEqual({ ok: true, replicaId: r1 });
    expect(table.lookup("other-app", "s1", "alice", isAlive)).toEqual({ ok: false, reason: "unknown" });
    expect(table.lookup("app", "s1", "bob", isAlive)).toEqual({ ok: false, reason: "forbidden" });
    expect(table.lookup("app", "s1", null, isAlive)).toEqual({ ok: false, reason: "forbidden" });
    expect(table.lookup("app", "nope", "alice", isAlive)).toEqual({ ok: false, reason: "unknown" });
    now += 90; // a use resets the idle clock
    expect(table.lookup("app", "s1", "alice", isAlive).ok).toBe(true);
    now += 90;
    expect(table.lookup("app", "s1", "alice", isAlive).ok).toBe(true);
    now += 101;
    expect(table.lookup("app", "s1", "alice", isAlive)).toEqual({ ok: false, reason: "expired" });
    expect(table.size).toBe(0);
  });

  it("forgets sessions whose replica died, on lookup and on sweep", () => {
    const now = 0;
    const table = new SessionTable({ now: () => now });
    const alive = new Set([r1, r2]);
    table.bind("a", { appName: "app", replicaId: r1, principal: null, idleTimeoutMs: 1_000 });
    table.bind("b", { appName: "app", replicaId: r2, principal: null, idleTimeoutMs: 1_000 });
    table.bind("c", { appName: "app", replicaId: r2, principal: null, idleTimeoutMs: 1_000 });
    alive.delete(r2);
    expect(table.lookup("app", "b", null, (id) => alive.has(id))).toEqual({ ok: false, reason: "replica-gone" });
    expect(table.sweep((id) => alive.has(id))).toBe(1);
    expect(table.size).toBe(1);
    table.remove("a");
    expect(table.size).toBe(0);
  });
});

describe("SessionHost", () => {
  async function open(host: SessionHost, clientId?: string): Promise<string> {
    const init = legacyInitialize();
    const request = new Request("http://127.0.0.1/mcp", { method: "POST", headers: init.headers, body: init.body });
    const authInfo = clientId ? { token: "", clientId, scopes: [] } : undefined;
    const res = await host.handle(request, JSON.parse(init.body), authInfo);
    expect(res.status).toBe(200);
    await res.body?.cancel();
    return res.headers.get("mcp-session-id")!;
  }

  const options = (now: () => number, maxSessions = 10) => ({
    createServer: () => new McpServer({ name: "t", version: "1" }),
    idleTimeoutMs: 1_000,
    maxSessions,
    resumable: true,
    maxEventsPerSession: 10,
    keepAliveMs: 0,
    jsonResponse: false,
    maxBodyBytes: 1024 * 1024,
    now,
  });

  it("mints unguessable ids, closes idle sessions on sweep, and evicts the least recently used past maxSessions", async () => {
    let now = 0;
    const host = new SessionHost(options(() => now, 2));
    const a = await open(host);
    const b = await open(host);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const init = legacyInitialize();
    const third = await host.handle(new Request("http://127.0.0.1/mcp", { method: "POST", headers: init.headers, body: init.body }), JSON.parse(init.body), undefined);
    expect(third.status).toBe(200);
    await third.body?.cancel();
    // The least recently used idle session made room, and the proxy is told which one.
    expect(third.headers.get("x-stingray-evicted-session")).toBe(a);
    expect(host.size).toBe(2);
    expect(host.has(a)).toBe(false);
    now = 2_000;
    expect(await host.sweep()).toBe(2);
    expect(host.size).toBe(0);
    await host.close();
  });

  it("answers 404 to a different identity using someone's session id", async () => {
    const host = new SessionHost(options(() => 0));
    const sid = await open(host, "alice");
    const headers = { "content-type": "application/json", accept: ACCEPT_BOTH, "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25" };
    const body = { jsonrpc: "2.0", id: 3, method: "tools/list" };
    const asBob = await host.handle(
      new Request("http://127.0.0.1/mcp", { method: "POST", headers, body: JSON.stringify(body) }),
      body,
      { token: "", clientId: "bob", scopes: [] },
    );
    expect(asBob.status).toBe(404);
    expect((await asBob.json()).error.code).toBe(-32001);
    await host.close();
  });
});
