// Legacy MCP sessions as a bounded cache, through the whole runtime (serve.run, worker-thread
// replicas, the proxy on a real socket, raw HTTP and the SDK's own client): a flood of initializes
// beyond maxSessions never locks out a new client (the least recently used idle session gets 404
// and can initialize again), the limit holds exactly under concurrent initializes, new sessions
// go to the replica with room, /metrics counts sessions per replica, and idle sessions hibernate
// (SDK objects dropped) and wake under the same id for the SDK client, sampling included.

import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serve } from "../../../src/serve.ts";
import { ACCEPT_BOTH, legacyInitialize, messagesOf } from "../../fixtures/ingress/harness.ts";
import { concurrentApp, floodApp, hibernatingApp, twoReplicaApp } from "../../fixtures/ingress/session-limit-apps.ts";

process.env.STINGRAY_LOG_LEVEL ??= "warn";

let base: string;
const clients: Client[] = [];

beforeAll(async () => {
  await serve.start({ http: { host: "127.0.0.1", port: 0 }, numCpus: 4, handleSignals: false });
  await serve.run(floodApp, { name: "flood", routePrefix: "/flood" });
  await serve.run(concurrentApp, { name: "burst", routePrefix: "/burst" });
  await serve.run(twoReplicaApp, { name: "pair", routePrefix: "/pair" });
  await serve.run(hibernatingApp, { name: "sleepy", routePrefix: "/sleepy" });
  base = serve.address()!;
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  await serve.shutdown();
});

async function initialize(prefix: string): Promise<{ status: number; sid?: string; leaked: string | null }> {
  const init = legacyInitialize();
  const res = await fetch(`${base}${prefix}/mcp`, { method: "POST", headers: init.headers, body: init.body });
  await res.text();
  return { status: res.status, sid: res.headers.get("mcp-session-id") ?? undefined, leaked: res.headers.get("x-stingray-evicted-session") };
}

async function rpc(prefix: string, sid: string, method: string, params?: object): Promise<{ status: number; messages: unknown[] }> {
  const res = await fetch(`${base}${prefix}/mcp`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: ACCEPT_BOTH, "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 2, method, ...(params ? { params } : {}) }),
  });
  return { status: res.status, messages: await messagesOf(res) };
}

async function whoami(prefix: string, sid: string): Promise<string> {
  const { status, messages } = await rpc(prefix, sid, "tools/call", { name: "whoami", arguments: {} });
  expect(status).toBe(200);
  return (messages.at(-1) as { result: { content: Array<{ text: string }> } }).result.content[0]!.text;
}

/** `stingray_replica_sessions` of one app, by replica. */
async function sessionGauge(app: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^stingray_replica_sessions\{([^}]*)\} (\d+)/.exec(line);
    if (!m || !m[1]!.includes(`app="${app}"`)) continue;
    out.set(/replica="([^"]*)"/.exec(m[1]!)![1]!, Number(m[2]));
  }
  return out;
}

async function connect(prefix: string): Promise<Client> {
  const client = new Client({ name: "eviction-test", version: "1" }, { versionNegotiation: { mode: "legacy" } });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${base}${prefix}/mcp`)));
  clients.push(client);
  return client;
}

const textOf = (r: unknown) => (r as { content: Array<{ text: string }> }).content[0]!.text;

describe("legacy sessions as a bounded cache", () => {
  it("a flood of initializes never locks out a new client; the least recently used idle session gets 404 and re-initializes", async () => {
    const first = await initialize("/flood");
    expect(first.status).toBe(200);
    // 30 initializes (no auth needed) on a replica that holds 3 sessions.
    const flood: Array<{ status: number; leaked: string | null }> = [];
    for (let i = 0; i < 30; i++) flood.push(await initialize("/flood"));
    expect(flood.map((r) => r.status)).toEqual(Array(30).fill(200));
    // The proxy keeps the evicted ids to itself.
    expect(flood.every((r) => r.leaked === null)).toBe(true);

    // A new client (the SDK's own) still gets a session and is served.
    const client = await connect("/flood");
    expect(textOf(await client.callTool({ name: "whoami", arguments: {} }))).toMatch(/flood/);

    // The first session was the least recently used: evicted, it answers 404 (-32001)...
    const gone = await rpc("/flood", first.sid!, "ping");
    expect(gone.status).toBe(404);
    expect((gone.messages[0] as { error: { code: number } }).error.code).toBe(-32001);
    // ...and its client can simply initialize again.
    const again = await initialize("/flood");
    expect(again.status).toBe(200);
    expect((await rpc("/flood", again.sid!, "ping")).status).toBe(200);
    expect([...(await sessionGauge("flood")).values()]).toEqual([3]);
  });

  it("holds maxSessions exactly under concurrent initializes", async () => {
    const burst = await Promise.all(Array.from({ length: 20 }, () => initialize("/burst")));
    const minted = burst.filter((r) => r.status === 200).map((r) => r.sid!);
    expect(minted.length).toBeGreaterThanOrEqual(3);
    // Every other answer is a 503 "too many sessions" (all slots were sessions still initializing).
    expect(burst.every((r) => r.status === 200 || r.status === 503)).toBe(true);
    // Exactly maxSessions of the minted sessions are alive on the replica.
    const alive = (await Promise.all(minted.map((sid) => rpc("/burst", sid, "ping")))).filter((r) => r.status === 200);
    expect(alive).toHaveLength(3);
    expect([...(await sessionGauge("burst")).values()]).toEqual([3]);
    // And with the burst over, a new client always gets in.
    expect((await initialize("/burst")).status).toBe(200);
  });

  it("with two replicas, new sessions go to the replica with room (not the less busy one), and /metrics counts them per replica", async () => {
    // One session holds a slow call in flight on its replica: power of two choices on in-flight
    // counts alone would send every new session to the other replica.
    const anchor = await initialize("/pair");
    const busyReplica = await whoami("/pair", anchor.sid!);
    const slow = rpc("/pair", anchor.sid!, "tools/call", { name: "slow", arguments: { ms: 4_000 } });
    await new Promise((r) => setTimeout(r, 100));

    const sids: string[] = [];
    for (let i = 0; i < 11; i++) {
      const r = await initialize("/pair");
      expect(r.status).toBe(200);
      sids.push(r.sid!);
    }
    // 12 sessions, 6 per replica: nobody was evicted, every session answers.
    const owners = await Promise.all(sids.map((sid) => whoami("/pair", sid)));
    const perReplica = new Map<string, number>();
    for (const o of [busyReplica, ...owners]) perReplica.set(o, (perReplica.get(o) ?? 0) + 1);
    expect([...perReplica.values()].sort()).toEqual([6, 6]);
    const gauge = await sessionGauge("pair");
    expect(gauge.size).toBe(2);
    for (const [replica, n] of perReplica) expect(gauge.get(replica)).toBe(n);
    expect((await slow).status).toBe(200);

    // DELETE frees the slot, and the gauge follows.
    const del = await fetch(`${base}/pair/mcp`, { method: "DELETE", headers: { "mcp-session-id": sids[0]!, "mcp-protocol-version": "2025-11-25" } });
    expect(del.status).toBe(200);
    const after = await sessionGauge("pair");
    expect([...after.values()].reduce((a, b) => a + b, 0)).toBe(11);
  });

  it("an idle session hibernates and wakes under the same id for the SDK client, its handshake (client info, capabilities) intact", async () => {
    // The GET stream is optional for clients (MCP spec); a session holding one is busy and stays
    // awake (checked below). This client does not open it: its fetch answers GET with 405 itself.
    const noGetStream: typeof fetch = async (input, init) =>
      (init?.method ?? "GET") === "GET" ? new Response(null, { status: 405 }) : fetch(input, init);
    const client = new Client({ name: "sleepy-client", version: "1" }, { capabilities: { sampling: {} }, versionNegotiation: { mode: "legacy" } });
    const transport = new StreamableHTTPClientTransport(new URL(`${base}/sleepy/mcp`), { fetch: noGetStream });
    await client.connect(transport);
    clients.push(client);
    const sid = transport.sessionId!;
    expect(textOf(await client.callTool({ name: "wakes", arguments: {} }))).toBe(`fresh|${sid}|sleepy-client|sampling`);

    // A client that holds the GET stream (the SDK's default) keeps its session awake.
    const streaming = await connect("/sleepy");
    expect(textOf(await streaming.callTool({ name: "wakes", arguments: {} }))).toMatch(/^fresh\|/);

    // Past hibernateAfterMs (300 ms; the replica sweeps every 250 ms) the idle one's server is dropped.
    await new Promise((r) => setTimeout(r, 1_200));
    expect(textOf(await client.callTool({ name: "wakes", arguments: {} }))).toBe(`restored|${sid}|sleepy-client|sampling`);
    expect(transport.sessionId).toBe(sid);
    expect(textOf(await streaming.callTool({ name: "wakes", arguments: {} }))).toMatch(/^fresh\|/);
  });
});
