// MCP tools/call throughput and latency: the weather-style echo tool (benchmarks/mcp-throughput/
// tool.ts) served by stingray with 1 and with 2 replicas, against the MCP SDK's own single-process
// server in its documented stateless pattern (express + a per-request server), all in one run.
// Each server runs in its own process; all three start first, then autocannon (in this process,
// same request bytes) drives one at a time — the others sit idle — in interleaved rounds:
//   per round and server: concurrency 1 (latency: p50/p99), then BENCH_CONCURRENCY (throughput),
//   then each of BENCH_EXTRA_CONCURRENCY (default 64): requests/s, p50 and p99 at every level.
// Interleaving spreads the noise of a shared machine over all three; each figure is the median
// over the rounds.
// Goals: ≥1.0x the SDK's throughput with 1 replica, ≥1.3x with 2, under 0.3 ms added p50 at c=1.
//
//   npx tsx benchmarks/mcp-throughput.ts     BENCH_QUICK=1 short run; BENCH_ERA=modern|legacy

import { cpus } from "node:os";
import { Budget } from "./lib/budget.ts";
import { closedLoop, type LoadSummary } from "./lib/load.ts";
import { toolCallRequest, waitForToolAnswer, type McpEra } from "./lib/mcp.ts";
import { freePort, spawnServer, tsxCommand, type ServerProcess } from "./lib/process.ts";
import { emitResultAndExit, isQuick, row, type BenchRow } from "./lib/report.ts";
import { median } from "./lib/stats.ts";
import { EXPECTED_TEXT, TOOL_ARGS, TOOL_NAME } from "./mcp-throughput/tool.ts";

const QUICK = isQuick();
const ERA = (process.env.BENCH_ERA ?? "modern") as McpEra;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const EXTRA_LEVELS = (process.env.BENCH_EXTRA_CONCURRENCY ?? "64").split(",").filter((x) => x.trim() !== "").map(Number);
if (EXTRA_LEVELS.some((c) => !Number.isInteger(c) || c < 1)) {
  throw new Error(`BENCH_EXTRA_CONCURRENCY: comma-separated positive integers, got ${JSON.stringify(process.env.BENCH_EXTRA_CONCURRENCY)}`);
}
// Three full rounds (a median that one noisy round cannot move) keep the whole suite under 5
// minutes on 2 cores (npm run bench).
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 3));
const EXTRA_S = QUICK ? 2 : 3;
const WARMUP_S = QUICK ? 1 : 2;
const LATENCY_S = QUICK ? 2 : 3;
const THROUGHPUT_S = QUICK ? 2 : 4;

interface Target {
  name: string;
  script: string;
  env: NodeJS.ProcessEnv;
}

const TARGETS: Target[] = [
  { name: "sdk", script: "benchmarks/mcp-throughput/sdk-server.ts", env: {} },
  // The runtime's per-request access log is switched off: the baseline logs nothing either.
  { name: "stingray-1", script: "benchmarks/mcp-throughput/stingray-server.ts", env: { BENCH_REPLICAS: "1", STINGRAY_LOG_LEVEL: "warn" } },
  { name: "stingray-2", script: "benchmarks/mcp-throughput/stingray-server.ts", env: { BENCH_REPLICAS: "2", STINGRAY_LOG_LEVEL: "warn" } },
];

interface Running {
  target: Target;
  server: ServerProcess;
  url: string;
  latency: LoadSummary[];
  throughput: LoadSummary[];
  /** Per BENCH_EXTRA_CONCURRENCY level, one summary per round. */
  extra: Map<number, LoadSummary[]>;
}

async function start(target: Target): Promise<Running> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/mcp`;
  const { file, args } = tsxCommand(target.script);
  const server = spawnServer(file, args, { ...process.env, ...target.env, PORT: String(port) });
  try {
    // Ready = a real tools/call answers with the expected text (not just a listening socket).
    await waitForToolAnswer(
      `${target.name} answering tools/call`,
      url,
      { tool: TOOL_NAME, args: TOOL_ARGS, accept: (text) => text === EXPECTED_TEXT, era: ERA },
      { timeoutMs: 60_000, intervalMs: 100, abortIf: () => (server.exited() ? `exited:\n${server.output()}` : undefined) },
    );
  } catch (err) {
    await server.stop();
    throw err;
  }
  return { target, server, url, latency: [], throughput: [], extra: new Map(EXTRA_LEVELS.map((c) => [c, []])) };
}

const req = toolCallRequest(TOOL_NAME, TOOL_ARGS, { era: ERA });
const load = (url: string, connections: number, durationS: number) =>
  closedLoop({ url, method: req.method, headers: req.headers, body: req.body, connections, durationS });

function show(name: string, phase: string, s: LoadSummary): void {
  const failed = s.responses - (s.statusCounts["200"] ?? 0);
  console.log(
    `${name.padEnd(11)} ${phase.padEnd(5)} ${s.okPerSecond.toFixed(0).padStart(6)} req/s  p50 ${s.ok.p50.toFixed(3)} ms  p99 ${s.ok.p99.toFixed(3)} ms` +
      (failed > 0 || s.errors > 0 ? `  (non-200 ${failed}, errors ${s.errors})` : ""),
  );
}

const notes: string[] = [];
let failed = false;
console.log(
  `mcp-throughput: era ${ERA}, ${cpus().length} cores, ${ROUNDS} round(s) of c=1 for ${LATENCY_S}s and c=${CONCURRENCY} for ${THROUGHPUT_S}s`,
);
const started = await Promise.allSettled(TARGETS.map((t) => start(t)));
const running: Running[] = [];
started.forEach((r, i) => {
  if (r.status === "fulfilled") running.push(r.value);
  else {
    failed = true;
    notes.push(`${TARGETS[i]!.name}: ${r.reason instanceof Error ? r.reason.message.split("\n")[0] : String(r.reason)}`);
    console.error(`${TARGETS[i]!.name} failed to start:`, r.reason);
  }
});
try {
  for (const r of running) await load(r.url, CONCURRENCY, WARMUP_S);
  const budget = Budget.fromEnv();
  const roundMs = running.length * (LATENCY_S + THROUGHPUT_S + EXTRA_S * EXTRA_LEVELS.length + 1) * 1000;
  for (let round = 1; round <= ROUNDS; round++) {
    if (round > 1 && !budget.allows(roundMs)) {
      notes.push(`${round - 1} of ${ROUNDS} rounds: the next did not fit the time budget`);
      break;
    }
    for (const r of running) {
      const latency = await load(r.url, 1, LATENCY_S);
      const throughput = await load(r.url, CONCURRENCY, THROUGHPUT_S);
      r.latency.push(latency);
      r.throughput.push(throughput);
      show(r.target.name, "c=1", latency);
      show(r.target.name, `c=${CONCURRENCY}`, throughput);
      for (const c of EXTRA_LEVELS) {
        const s = await load(r.url, c, EXTRA_S);
        r.extra.get(c)!.push(s);
        show(r.target.name, `c=${c}`, s);
      }
    }
  }
} catch (err) {
  failed = true;
  notes.push(`load: ${err instanceof Error ? err.message : String(err)}`);
} finally {
  await Promise.all(running.map((r) => r.server.stop()));
}

const byName = new Map(running.map((r) => [r.target.name, r]));
const med = (name: string, pick: (s: LoadSummary) => number): number | null => {
  const r = byName.get(name);
  const list = r ? (pick === rps ? r.throughput : r.latency) : [];
  return list.length > 0 ? median(list.map(pick)) : null;
};
function rps(s: LoadSummary): number {
  return s.okPerSecond;
}
const p50 = (s: LoadSummary) => s.ok.p50;
const p99 = (s: LoadSummary) => s.ok.p99;

const sdkRps = med("sdk", rps);
const sdkP50 = med("sdk", p50);
const s1P50 = med("stingray-1", p50);
const added = s1P50 !== null && sdkP50 !== null ? s1P50 - sdkP50 : null;
const rows: BenchRow[] = [
  row(`sdk tools/call c=${CONCURRENCY}`, sdkRps, "req/s"),
  row(`stingray 1 replica c=${CONCURRENCY}`, med("stingray-1", rps), "req/s", { baseline: sdkRps, note: "goal ≥1.0x" }),
  row(`stingray 2 replicas c=${CONCURRENCY}`, med("stingray-2", rps), "req/s", { baseline: sdkRps, note: "goal ≥1.3x" }),
  row("sdk p50 c=1", sdkP50, "ms"),
  row("stingray 1 replica p50 c=1", s1P50, "ms", { baseline: sdkP50 }),
  row("stingray added p50 c=1", added, "ms", { note: "goal < 0.3 ms" }),
  row("stingray 1 replica p99 c=1", med("stingray-1", p99), "ms", { baseline: med("sdk", p99) }),
];
// Item 1 of the suite: requests/s, p50 and p99 at every concurrency, each against the SDK's.
const medOf = (name: string, phase: (r: Running) => LoadSummary[] | undefined, pick: (s: LoadSummary) => number): number | null => {
  const r = byName.get(name);
  const list = r ? (phase(r) ?? []) : [];
  return list.length > 0 ? median(list.map(pick)) : null;
};
const phases: Array<[number, (r: Running) => LoadSummary[] | undefined]> = [
  [1, (r) => r.latency],
  [CONCURRENCY, (r) => r.throughput],
  ...EXTRA_LEVELS.map((c): [number, (r: Running) => LoadSummary[] | undefined] => [c, (r) => r.extra.get(c)]),
];
for (const [c, phase] of phases) {
  for (const [name, label] of [["stingray-1", "1 replica"], ["stingray-2", "2 replicas"]] as const) {
    if (c === 1 && name === "stingray-2") continue; // one client keeps one replica busy
    const metrics: Array<[string, string, (s: LoadSummary) => number]> = [
      [`stingray ${label} c=${c}`, "req/s", rps],
      [`stingray ${label} p50 c=${c}`, "ms", p50],
      [`stingray ${label} p99 c=${c}`, "ms", p99],
    ];
    for (const [metric, unit, pick] of metrics) {
      if (rows.some((x) => x.metric === metric)) continue; // already in the rows above
      rows.push(row(metric, medOf(name, phase, pick), unit, { baseline: medOf("sdk", phase, pick) }));
    }
  }
}

for (const r of rows) {
  if (r.ratio !== undefined) console.log(`${r.metric}: ${r.value} ${r.unit} = ${r.ratio}x (${r.note ?? ""})`);
}
console.log(`stingray added p50 c=1: ${added === null ? "n/a" : added.toFixed(3)} ms (goal < 0.3 ms)`);

const details: Record<string, unknown> = { era: ERA, concurrency: CONCURRENCY, rounds: ROUNDS, cores: cpus().length, notes };
for (const r of running) {
  details[r.target.name] = {
    c1: r.latency.map((s) => ({ rps: s.okPerSecond, p50: s.ok.p50, p99: s.ok.p99, status: s.statusCounts })),
    cN: r.throughput.map((s) => ({ rps: s.okPerSecond, p50: s.ok.p50, p99: s.ok.p99, status: s.statusCounts })),
    ...Object.fromEntries(
      [...r.extra].map(([c, list]) => [`c${c}`, list.map((s) => ({ rps: s.okPerSecond, p50: s.ok.p50, p99: s.ok.p99, status: s.statusCounts }))]),
    ),
  };
}
await emitResultAndExit({ benchmark: "mcp-throughput", rows, details, quick: QUICK }, failed ? 1 : 0);
