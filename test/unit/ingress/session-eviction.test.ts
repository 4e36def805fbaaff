// Legacy MCP sessions as a bounded cache, with an injected clock: the LRU order itself, the
// replica's session host (evicts the least recently used idle session, never a busy one, and holds
// maxSessions exactly under concurrent initializes) and the proxy's table (placement by room,
// per-replica counts, forgetting evicted ids).

import { McpServer } from "@modelcontextprotocol/server";
import { describe, expect, it } from "vitest";
import { SessionHost } from "../../../src/ingress/mcp/session-host.ts";
import { SessionLru } from "../../../src/ingress/session-lru.ts";
import { EVICTED_SESSION_HEADER, SessionTable } from "../../../src/ingress/sessions.ts";
import { replicaId, type ReplicaId } from "../../../src/runtime/ids.ts";
import type { ReplicaCandidate } from "../../../src/runtime/replica-picker.ts";
import { ACCEPT_BOTH, legacyInitialize } from "../../fixtures/ingress/harness.ts";

describe("SessionLru", () => {
  it("keeps least recently used first; touch moves an entry to the end", () => {
    let now = 0;
    const lru = new SessionLru<string>({ now: () => now });
    for (const id of ["a", "b", "c"]) {
      lru.set(id, id.toUpperCase());
      now += 10;
    }
    expect([...lru.keys()]).toEqual(["a", "b", "c"]);
    lru.touch("a");
    expect([...lru.keys()]).toEqual(["b", "c", "a"]);
    expect(lru.lastSeenMs("a")).toBe(30);
    expect(lru.oldestIdle(() => false)).toEqual(["b", "B"]);
    lru.delete("b");
    expect(lru.size).toBe(2);
    expect(lru.get("b")).toBeUndefined();
  });

  it("passes over busy entries when choosing what to evict", () => {
    const lru = new SessionLru<{ busy: boolean }>({ now: () => 0 });
    lru.set("a", { busy: true });
    lru.set("b", { busy: true });
    lru.set("c", { busy: false });
    expect(lru.oldestIdle((v) => v.busy)?.[0]).toBe("c");
    lru.get("c")!.busy = true;
    expect(lru.oldestIdle((v) => v.busy)).toBeUndefined();
  });

  it("expires entries idle past the timeout, oldest first; a busy one is treated as used instead", () => {
    let now = 0;
    const lru = new SessionLru<{ busy: boolean }>({ now: () => now });
    lru.set("a", { busy: false });
    now = 5;
    lru.set("b", { busy: true });
    now = 10;
    lru.set("c", { busy: false });
    now = 108;
    expect(lru.isExpired("a", 100)).toBe(true);
    expect(lru.isExpired("c", 100)).toBe(false);
    expect(lru.takeExpired(100, (v) => v.busy).map(([id]) => id)).toEqual(["a"]);
    // b was due too, but it is busy: it stays, as used now.
    expect([...lru.keys()]).toEqual(["c", "b"]);
    expect(lru.lastSeenMs("b")).toBe(108);
    now = 111;
    expect(lru.takeExpired(100, (v) => v.busy).map(([id]) => id)).toEqual(["c"]);
  });
});

describe("SessionHost at maxSessions", () => {
  const options = (maxSessions: number, createServer: () => McpServer | Promise<McpServer> = () => new McpServer({ name: "t", version: "1" })) => ({
    createServer,
    idleTimeoutMs: 60_000,
    maxSessions,
    resumable: true,
    maxEventsPerSession: 10,
    keepAliveMs: 0,
    jsonResponse: false,
    maxBodyBytes: 1024 * 1024,
  });

  async function initialize(host: SessionHost): Promise<Response> {
    const init = legacyInitialize();
    return host.handle(new Request("http://127.0.0.1/mcp", { method: "POST", headers: init.headers, body: init.body }), JSON.parse(init.body), undefined);
  }

  async function open(host: SessionHost): Promise<string> {
    const res = await initialize(host);
    expect(res.status).toBe(200);
    await res.text();
    return res.headers.get("mcp-session-id")!;
  }

  const sessionHeaders = (sid: string) => ({ accept: ACCEPT_BOTH, "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25" });

  async function ping(host: SessionHost, sid: string): Promise<number> {
    const body = { jsonrpc: "2.0", id: 7, method: "ping" };
    const res = await host.handle(
      new Request("http://127.0.0.1/mcp", { method: "POST", headers: { ...sessionHeaders(sid), "content-type": "application/json" }, body: JSON.stringify(body) }),
      body,
      undefined,
    );
    await res.text();
    return res.status;
  }

  it("evicts the least recently used idle session; the evicted id answers 404", async () => {
    const host = new SessionHost(options(2));
    const a = await open(host);
    const b = await open(host);
    expect(await ping(host, a)).toBe(200); // a is now more recently used than b
    const res = await initialize(host);
    expect(res.status).toBe(200);
    await res.text();
    expect(res.headers.get(EVICTED_SESSION_HEADER)).toBe(b);
    expect(host.size).toBe(2);
    expect(await ping(host, b)).toBe(404);
    expect(await ping(host, a)).toBe(200);
    await host.close();
  });

  it("never evicts a session with an open stream; 503 only when every session is busy", async () => {
    const host = new SessionHost(options(2));
    const a = await open(host);
    const b = await open(host);
    // a holds its GET stream open: a is older than b but busy.
    const stream = await host.handle(new Request("http://127.0.0.1/mcp", { method: "GET", headers: sessionHeaders(a) }), undefined, undefined);
    expect(stream.status).toBe(200);
    const res = await initialize(host);
    expect(res.status).toBe(200);
    await res.text();
    expect(res.headers.get(EVICTED_SESSION_HEADER)).toBe(b);
    const c = res.headers.get("mcp-session-id")!;
    // c gets a stream too: now both sessions are busy, and there is nothing to evict.
    const streamC = await host.handle(new Request("http://127.0.0.1/mcp", { method: "GET", headers: sessionHeaders(c) }), undefined, undefined);
    expect(streamC.status).toBe(200);
    const refused = await initialize(host);
    expect(refused.status).toBe(503);
    expect((await refused.json()).error.message).toMatch(/too many sessions/);
    // The stream ends: a is idle again, and the next initialize may evict it.
    await stream.body!.cancel();
    const again = await initialize(host);
    expect(again.status).toBe(200);
    await again.text();
    expect(again.headers.get(EVICTED_SESSION_HEADER)).toBe(a);
    await streamC.body!.cancel();
    await host.close();
  });

  it("a sweep leaves a session with an open stream alone, however long ago it was used", async () => {
    let now = 0;
    const host = new SessionHost({ ...options(5), idleTimeoutMs: 1_000, now: () => now });
    const a = await open(host);
    const b = await open(host);
    const stream = await host.handle(new Request("http://127.0.0.1/mcp", { method: "GET", headers: sessionHeaders(a) }), undefined, undefined);
    now = 5_000;
    expect(await host.sweep()).toBe(1);
    expect(host.has(a)).toBe(true);
    expect(host.has(b)).toBe(false);
    await stream.body!.cancel();
    now = 10_000;
    expect(await host.sweep()).toBe(1);
    expect(host.size).toBe(0);
    await host.close();
  });

  it("holds maxSessions exactly under concurrent initializes (slots are reserved before the async factory)", async () => {
    let peak = 0;
    let host: SessionHost;
    // A factory that takes a while, as one loading per-session state would: every initialize
    // below is in flight at once.
    const slowFactory = async () => {
      await new Promise((r) => setTimeout(r, 20));
      peak = Math.max(peak, host.size);
      return new McpServer({ name: "t", version: "1" });
    };
    host = new SessionHost(options(3, slowFactory));
    const answers = await Promise.all(Array.from({ length: 12 }, () => initialize(host)));
    const statuses = answers.map((r) => r.status);
    await Promise.all(answers.map((r) => r.text()));
    peak = Math.max(peak, host.size);
    expect(host.size).toBe(3);
    expect(peak).toBeLessThanOrEqual(3);
    // Three got the slots; the others found every slot taken by a session still initializing
    // (busy, so not evictable).
    expect(statuses.filter((s) => s === 200)).toHaveLength(3);
    expect(statuses.filter((s) => s === 503)).toHaveLength(9);
    // Once they are idle, a new client always gets in.
    expect((await initialize(host)).status).toBe(200);
    expect(host.size).toBe(3);
    await host.close();
  });
});

describe("SessionTable placement and counts", () => {
  const r1 = replicaId("app#r1");
  const r2 = replicaId("app#r2");
  const candidates: ReplicaCandidate[] = [
    { id: r1, ongoing: 0 },
    { id: r2, ongoing: 5 },
  ];
  const first = (c: readonly ReplicaCandidate[]): ReplicaId | undefined => c[0]?.id;
  const bind = (table: SessionTable, sid: string, replica: ReplicaId, maxSessions = 2) =>
    table.bind(sid, { appName: "app", replicaId: replica, principal: null, idleTimeoutMs: 1_000, maxSessions });

  it("sends a new session to a replica with room, counting initializes under way", () => {
    const table = new SessionTable({ now: () => 0 });
    bind(table, "a", r1);
    // r1 has room for one more: the picker may still choose it.
    const one = table.placeNewSession("app", 2);
    expect(one.place(candidates, first)).toBe(r1);
    // That initialize holds r1's last slot until it is answered: the next goes to r2.
    const two = table.placeNewSession("app", 2);
    expect(two.place(candidates, first)).toBe(r2);
    one.release();
    bind(table, "b", r1);
    two.release();
    // r1 full (a, b), r2 empty: r2, though the picker prefers r1.
    expect(table.placeNewSession("app", 2).place(candidates, first)).toBe(r2);
    expect(table.countsByReplica()).toEqual([{ appName: "app", replicaId: r1, sessions: 2 }]);
  });

  it("with no room anywhere, prefers a replica with an idle session to evict", () => {
    const table = new SessionTable({ now: () => 0 });
    bind(table, "a", r1, 1);
    bind(table, "b", r2, 1);
    const endA = table.begin("a"); // a has an open stream
    expect(table.placeNewSession("app", 1).place(candidates, first)).toBe(r2);
    endA();
    expect(table.placeNewSession("app", 1).place(candidates, first)).toBe(r1);
  });

  it("a busy retry places again without keeping the first slot", () => {
    const table = new SessionTable({ now: () => 0 });
    const placement = table.placeNewSession("app", 1);
    expect(placement.place(candidates, first)).toBe(r1);
    // Refused as busy, the router calls the hook again, now without r1.
    expect(placement.place([candidates[1]!], first)).toBe(r2);
    // r1 holds no reservation any more.
    expect(table.placeNewSession("app", 1).place(candidates, first)).toBe(r1);
  });

  it("forgets evicted ids, drops expired idle entries, and never keeps more than maxSessions per replica", () => {
    let now = 0;
    const table = new SessionTable({ now: () => now });
    const alive = () => true;
    bind(table, "a", r1);
    now = 500;
    bind(table, "b", r1);
    table.forget(r2, ["a"]); // another replica's word does not count
    expect(table.lookup("app", "a", null, alive).ok).toBe(true);
    table.forget(r1, ["a"]);
    expect(table.lookup("app", "a", null, alive)).toEqual({ ok: false, reason: "unknown" });
    // An in-flight exchange keeps b from expiring; its idle time starts when the exchange ends.
    const end = table.begin("b");
    now = 5_000;
    expect(table.lookup("app", "b", null, alive).ok).toBe(true);
    end();
    now = 5_900;
    expect(table.lookup("app", "b", null, alive).ok).toBe(true);
    now = 7_000;
    expect(table.lookup("app", "b", null, alive)).toEqual({ ok: false, reason: "expired" });
    // Bounded: a replica that (by the table's view) is full loses its least recently used entry.
    bind(table, "c", r1);
    bind(table, "d", r1);
    bind(table, "e", r1);
    expect(table.size).toBe(2);
    expect(table.lookup("app", "c", null, alive).ok).toBe(false);
    expect(table.countsByReplica()).toEqual([{ appName: "app", replicaId: r1, sessions: 2 }]);
  });
});
