// Memory per idle legacy MCP session (issue 11, part 3) and whether it all comes back.
// 1. Replica side, in this process: a SessionHost (what a replica thread runs) with N idle
//    sessions, for a bare McpServer and for one with SESSION_BENCH_TOOLS tools (default 8, input
//    schemas written in the factory, then built once at module level): V8 heap
//    per session after a full GC; then after DELETEing them all, and after a flood of N
//    initializes into a host that holds N/4 (the evicted ones must be freed).
// 2. Proxy side: the session table with N entries (heap per entry).
// 3. End to end (serve.run, one worker-thread replica, raw HTTP): N initializes; process RSS, the
//    main thread's heap and the replica thread's heap (its `heap` tool) before, with the sessions,
//    and after DELETEing them.
// The goal from the issue: 10,000 idle sessions ≤ 100 MB, heap back near baseline after they end.
//
//   node --expose-gc --import tsx benchmarks/session-memory.ts      N=10000 (BENCH_QUICK=1: 1000)
//   SESSION_BENCH_N=… SESSION_BENCH_TOOLS=… to change the size and the server; SESSION_BENCH_E2E=0
//   skips part 3 (the slow one: N initializes over HTTP), SESSION_BENCH_REPLICA=0 parts 1 and 2.

import { getHeapStatistics } from "node:v8";
import { SessionHost } from "../src/ingress/mcp/session-host.ts";
import { DEFAULT_MAX_LIVE_SESSIONS, DEFAULT_SESSION_HIBERNATE_AFTER_MS } from "../src/ingress/options.ts";
import { SessionTable } from "../src/ingress/sessions.ts";
import { replicaId } from "../src/runtime/ids.ts";
import { serve } from "../src/serve.ts";
import { Budget } from "./lib/budget.ts";
import { buildServer, settledHeapBytes } from "./lib/fixtures/session-app.ts";
import { emitResultAndExit, isQuick, row, type BenchRow } from "./lib/report.ts";

// 10,000 access-log lines would swamp the report.
process.env.STINGRAY_LOG_LEVEL ??= "warn";

const QUICK = isQuick();
const N = Number(process.env.SESSION_BENCH_N ?? (QUICK ? 1_000 : 10_000));
const TOOLS = Number(process.env.SESSION_BENCH_TOOLS ?? 8);
const MB = 1024 * 1024;
const budget = Budget.fromEnv();
const rows: BenchRow[] = [];
const details: Record<string, unknown> = { sessions: N, tools: TOOLS };

if (typeof (globalThis as { gc?: unknown }).gc !== "function") {
  console.error("run with: node --expose-gc --import tsx benchmarks/session-memory.ts");
  process.exit(2);
}

const INIT = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "bench", version: "1" } },
});
const INITIALIZED = JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" });
const ACCEPT = "application/json, text/event-stream";

/** How sessions hibernate in a run: off (the old behaviour), or the mcpApp defaults. */
interface Hibernation {
  hibernateAfterMs: number | false;
  maxLiveSessions?: number;
}
const OFF: Hibernation = { hibernateAfterMs: false };
const DEFAULTS: Hibernation = { hibernateAfterMs: DEFAULT_SESSION_HIBERNATE_AFTER_MS, maxLiveSessions: DEFAULT_MAX_LIVE_SESSIONS };

/** The hosts' clock: real time, plus what a run skips ahead to let sessions go idle. */
let skippedMs = 0;
const clock = () => Date.now() + skippedMs;

function hostFor(tools: number, maxSessions: number, hoisted: boolean, hibernation: Hibernation = OFF): SessionHost {
  return new SessionHost({
    createServer: () => buildServer(tools, hoisted),
    ...hibernation,
    now: clock,
    idleTimeoutMs: 3_600_000,
    maxSessions,
    resumable: true,
    maxEventsPerSession: 1_000,
    keepAliveMs: 15_000,
    jsonResponse: false,
    maxBodyBytes: 4 * MB,
  });
}

/** initialize + notifications/initialized, as a client does; returns the session id. */
async function openIn(host: SessionHost): Promise<string> {
  const res = await host.handle(
    new Request("http://127.0.0.1/mcp", { method: "POST", headers: { "content-type": "application/json", accept: ACCEPT }, body: INIT }),
    JSON.parse(INIT),
    undefined,
  );
  await res.text();
  const sid = res.headers.get("mcp-session-id")!;
  const headers = { "content-type": "application/json", accept: ACCEPT, "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25" };
  await (await host.handle(new Request("http://127.0.0.1/mcp", { method: "POST", headers, body: INITIALIZED }), JSON.parse(INITIALIZED), undefined)).text();
  return sid;
}

/** One ping on a (hibernated) session: wakes it. */
async function wakeIn(host: SessionHost, sid: string): Promise<void> {
  const headers = { "content-type": "application/json", accept: ACCEPT, "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25" };
  const body = JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" });
  await (await host.handle(new Request("http://127.0.0.1/mcp", { method: "POST", headers, body }), JSON.parse(body), undefined)).text();
}

async function deleteIn(host: SessionHost, sid: string): Promise<void> {
  const headers = { "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25" };
  await (await host.handle(new Request("http://127.0.0.1/mcp", { method: "DELETE", headers }), undefined, undefined)).text();
}

const kib = (bytes: number) => bytes / 1024;

async function replicaSide(tools: number, label: string, hoisted = false, hibernation: Hibernation = OFF): Promise<void> {
  // Warm up (module-level caches, JIT) so the baseline is not charged to the first sessions.
  const warm = hostFor(tools, N, hoisted, hibernation);
  for (let i = 0; i < 50; i++) await openIn(warm);
  await warm.close();
  const base = settledHeapBytes();
  const host = hostFor(tools, N, hoisted, hibernation);
  const ids: string[] = [];
  for (let i = 0; i < N; i++) ids.push(await openIn(host));
  let full = settledHeapBytes();
  if (hibernation.hibernateAfterMs !== false) {
    // Just opened, only maxLiveSessions are awake; once idle past hibernateAfterMs, none is.
    const opened = full;
    console.log(`replica, ${label}: just opened, ${host.liveSize} of ${host.size} awake: ${((opened - base) / MB).toFixed(1)} MiB`);
    rows.push(row(`replica heap, ${N} sessions just opened (${label})`, (opened - base) / MB, "MiB", { note: `${host.liveSize} awake; goal ≤ 100 MiB for 10,000` }));
    skippedMs += hibernation.hibernateAfterMs + 1;
    await host.sweep();
    full = settledHeapBytes();
    // Waking costs a factory call and a replayed handshake: time a few.
    const t0 = performance.now();
    const WAKES = Math.min(200, ids.length);
    for (let i = 0; i < WAKES; i++) await wakeIn(host, ids[i]!);
    const wakeMs = (performance.now() - t0) / WAKES;
    console.log(`replica, ${label}: wake (factory + replayed handshake + ping) ${wakeMs.toFixed(2)} ms`);
    rows.push(row(`wake of a hibernated session, incl. one ping (${label})`, wakeMs, "ms"));
  }
  for (const sid of ids) await deleteIn(host, sid);
  await new Promise((r) => setTimeout(r, 50));
  const afterDelete = settledHeapBytes();
  const perSession = (full - base) / N;
  console.log(
    `replica, ${label}: ${kib(perSession).toFixed(1)} KiB/session, ${N} sessions = ${((full - base) / MB).toFixed(1)} MiB; ` +
      `after DELETE: ${((afterDelete - base) / MB).toFixed(2)} MiB above baseline (${host.size} left)`,
  );
  rows.push(row(`replica heap per idle session (${label})`, kib(perSession), "KiB"));
  rows.push(row(`replica heap, ${N} idle sessions (${label})`, (full - base) / MB, "MiB", { note: "goal ≤ 100 MiB for 10,000" }));
  rows.push(row(`replica heap after DELETE of all (${label})`, (afterDelete - base) / MB, "MiB", { note: "above the baseline before them" }));
  details[`replica_${label}`] = { base, full, afterDelete, perSessionBytes: perSession };

  // A flood into a host that holds a quarter of it: evicted sessions must not leave anything.
  const cap = Math.max(1, Math.floor(N / 4));
  const bounded = hostFor(tools, cap, hoisted, hibernation);
  const floodBase = settledHeapBytes();
  for (let i = 0; i < N; i++) await openIn(bounded);
  const flooded = settledHeapBytes();
  console.log(
    `replica, ${label}: flood of ${N} into maxSessions ${cap}: ${bounded.size} held, ${((flooded - floodBase) / MB).toFixed(1)} MiB ` +
      `(${kib((flooded - floodBase) / cap).toFixed(1)} KiB per held session)`,
  );
  rows.push(row(`replica heap per held session after a ${N}-initialize flood into maxSessions ${cap} (${label})`, kib((flooded - floodBase) / cap), "KiB", { baseline: kib(perSession), note: "ratio ~1: evicted sessions freed" }));
  await bounded.close();
}

function proxySide(): void {
  const base = settledHeapBytes();
  const table = new SessionTable();
  const replicas = [replicaId("bench#a"), replicaId("bench#b")];
  for (let i = 0; i < N; i++) {
    table.bind(`${i.toString(36).padStart(32, "x")}`, { appName: "bench", replicaId: replicas[i % 2]!, principal: null, idleTimeoutMs: 3_600_000, maxSessions: N });
  }
  const full = settledHeapBytes();
  console.log(`proxy table: ${((full - base) / N).toFixed(0)} B/session (${table.size} entries)`);
  rows.push(row("proxy table heap per session", (full - base) / N, "B"));
}

const E2E_HIBERNATE_MS = 5_000;

async function endToEnd(): Promise<void> {
  process.env.SESSION_BENCH_HIBERNATE_MS = String(E2E_HIBERNATE_MS);
  await serve.start({ http: { host: "127.0.0.1", port: 0 }, numCpus: 2, handleSignals: false });
  const { app } = await import("./lib/fixtures/session-app.ts");
  await serve.run(app, { name: "sessions", routePrefix: "/s" });
  const url = `${serve.address()}/s/mcp`;
  const post = async (body: string, sid?: string) => {
    const headers: Record<string, string> = { "content-type": "application/json", accept: ACCEPT };
    if (sid) Object.assign(headers, { "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25" });
    const res = await fetch(url, { method: "POST", headers, body });
    const text = await res.text();
    return { sid: res.headers.get("mcp-session-id") ?? sid, text };
  };
  const open = async () => {
    const { sid } = await post(INIT);
    await post(INITIALIZED, sid!);
    return sid!;
  };
  const probe = await open();
  const replicaHeap = async () => {
    const { text } = await post(JSON.stringify({ jsonrpc: "2.0", id: 9, method: "tools/call", params: { name: "heap", arguments: {} } }), probe);
    return Number(/"text":"(\d+)"/.exec(text)![1]);
  };
  // Both threads collect first (the replica's `heap` tool runs a full GC), then RSS is read: what
  // the process holds for live objects, not garbage a collection would give back.
  const sample = async () => {
    const main = settledHeapBytes();
    const replica = await replicaHeap();
    return { main, replica, rss: process.memoryUsage().rss };
  };
  for (let i = 0; i < 50; i++) await open(); // warm-up sessions, deleted below with the rest
  const base = await sample();
  const ids: string[] = [];
  const CONCURRENCY = 16;
  for (let i = 0; i < N; i += CONCURRENCY) {
    ids.push(...(await Promise.all(Array.from({ length: Math.min(CONCURRENCY, N - i) }, open))));
    if (!budget.allows(20_000)) break;
  }
  const full = await sample();
  // Idle past hibernateAfterMs (the app's, set short below so the run need not wait a minute; the
  // default 60 s gives the same state a minute later): every session but the probe hibernates.
  await new Promise((r) => setTimeout(r, E2E_HIBERNATE_MS + 1_500));
  const idle = await sample();
  for (let i = 0; i < ids.length; i += CONCURRENCY) {
    await Promise.all(ids.slice(i, i + CONCURRENCY).map((sid) => fetch(url, { method: "DELETE", headers: { "mcp-session-id": sid, "mcp-protocol-version": "2025-11-25" } }).then((r) => r.text())));
  }
  await new Promise((r) => setTimeout(r, 200));
  const after = await sample();
  const n = ids.length;
  const mib = (b: number) => b / MB;
  console.log(
    `end to end, ${n} sessions: RSS +${mib(full.rss - base.rss).toFixed(0)} MiB, replica heap +${mib(full.replica - base.replica).toFixed(1)} MiB ` +
      `(${kib((full.replica - base.replica) / n).toFixed(1)} KiB/session), proxy heap +${mib(full.main - base.main).toFixed(1)} MiB; ` +
      `after DELETE: replica heap ${mib(after.replica - base.replica).toFixed(2)} MiB, proxy heap ${mib(after.main - base.main).toFixed(2)} MiB, RSS ${mib(after.rss - base.rss).toFixed(0)} MiB above baseline`,
  );
  console.log(
    `end to end, ${n} sessions idle past hibernateAfterMs: RSS +${mib(idle.rss - base.rss).toFixed(0)} MiB, replica heap +${mib(idle.replica - base.replica).toFixed(1)} MiB, proxy heap +${mib(idle.main - base.main).toFixed(1)} MiB`,
  );
  rows.push(row(`end to end: RSS growth, ${n} sessions just opened`, mib(full.rss - base.rss), "MiB", { note: "proxy + replica thread, one process; maxLiveSessions awake" }));
  rows.push(row(`end to end: RSS growth, ${n} idle sessions (hibernated)`, mib(idle.rss - base.rss), "MiB", { note: "goal ≤ 100 MB for 10,000" }));
  rows.push(row(`end to end: replica heap, ${n} idle sessions (hibernated)`, mib(idle.replica - base.replica), "MiB"));
  rows.push(row(`end to end: replica heap per idle session`, kib((full.replica - base.replica) / n), "KiB"));
  rows.push(row(`end to end: proxy heap per idle session`, kib((full.main - base.main) / n), "KiB"));
  rows.push(row(`end to end: replica heap after DELETE of all`, mib(after.replica - base.replica), "MiB", { note: "above the baseline before them" }));
  rows.push(row(`end to end: RSS after DELETE of all`, mib(after.rss - base.rss), "MiB", { note: "above the baseline; V8 and malloc keep freed pages" }));
  details.endToEnd = { sessions: n, base, full, idle, after, hibernateAfterMs: E2E_HIBERNATE_MS, heapLimit: getHeapStatistics().heap_size_limit };
  await serve.shutdown();
}

if (process.env.SESSION_BENCH_REPLICA !== "0") {
  await replicaSide(0, "bare server, hibernation off");
  await replicaSide(TOOLS, `${TOOLS} tools, hibernation off`);
  await replicaSide(TOOLS, `${TOOLS} tools, schemas built once, hibernation off`, true);
  await replicaSide(TOOLS, `${TOOLS} tools, hibernation defaults`, false, DEFAULTS);
  proxySide();
}
if (process.env.SESSION_BENCH_E2E === "0") rows.push(row("end to end", null, "", { note: "skipped: SESSION_BENCH_E2E=0" }));
else if (budget.allows(60_000)) await endToEnd();
else rows.push(row("end to end", null, "", { note: "skipped: out of budget" }));
await emitResultAndExit({ benchmark: "session-memory", rows, details, ...(QUICK ? { quick: true } : {}) });
