// MCP tools/call throughput and latency in both protocol eras: the weather-style echo tool
// (benchmarks/mcp-throughput/tool.ts) served by stingray with 1 and with 2 replicas, against the
// MCP SDK's own single-process server in its documented stateless pattern (express + a
// per-request server), all in one run. The same three servers answer both eras: the 2026 era
// (2026-07-28, JSON answers) and the 2025 era (2025-11-25 without a session, which most clients in
// use today speak — the v1 SDK client, mcp-remote, LangChain — answered as one SSE event).
// Each server runs in its own process; all three start first and are warmed up in both eras, then
// autocannon (in this process, same request bytes) drives one at a time — the others sit idle — in
// interleaved rounds:
//   per round, era and server: concurrency 1 (latency: mean, p50, p99), then BENCH_CONCURRENCY
//   (throughput), then each of BENCH_EXTRA_CONCURRENCY (default 64).
// Interleaving spreads the noise of a shared machine over all three and both eras; each figure is
// the median over the rounds, and every stingray figure is compared with the SDK's in the same era.
// Goals (issue 12): ≥1.5x the SDK's throughput at c=16 with 1 and with 2 replicas, and at most
// 0.3 ms added mean latency at c=1, in both eras.
// Variants (issue 16): stingray with 1 replica and OpenTelemetry tracing on, every request sampled
// (OTEL_TRACES_SAMPLER=always_on), exporting over OTLP/HTTP to a no-op collector in this process
// (lib/otlp-sink.ts); its c=1 and c=16 figures are ratios to the same server with tracing off, in
// the same rounds. BENCH_TRACING=0 leaves it out. And stingray with 1 replica and JWT auth on
// (auth.jwt with an inline ES256 key, a per-tool scope on the tool, every request carrying a
// signed access token; mcp-throughput/jwt.ts), compared the same way. BENCH_JWT=0 leaves it out.
//
//   npx tsx benchmarks/mcp-throughput.ts     BENCH_QUICK=1 short run; BENCH_ERAS=legacy,modern (default both)

import { cpus } from "node:os";
import { Budget } from "./lib/budget.ts";
import { closedLoop, type LoadSummary } from "./lib/load.ts";
import { LEGACY_VERSION, MODERN_VERSION, toolCallRequest, waitForToolAnswer, type McpEra } from "./lib/mcp.ts";
import { freePort, spawnServer, tsxCommand, type ServerProcess } from "./lib/process.ts";
import { emitResultAndExit, isQuick, row, type BenchRow } from "./lib/report.ts";
import { startOtlpSink } from "./lib/otlp-sink.ts";
import { median } from "./lib/stats.ts";
import { benchJwt } from "./mcp-throughput/jwt.ts";
import { EXPECTED_TEXT, TOOL_ARGS, TOOL_NAME } from "./mcp-throughput/tool.ts";

const QUICK = isQuick();
const ERAS = (process.env.BENCH_ERAS ?? "modern,legacy").split(",").map((e) => e.trim()).filter(Boolean) as McpEra[];
if (ERAS.length === 0 || ERAS.some((e) => e !== "modern" && e !== "legacy")) {
  throw new Error(`BENCH_ERAS: a comma-separated list of modern and legacy, got ${JSON.stringify(process.env.BENCH_ERAS)}`);
}
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const EXTRA_LEVELS = (process.env.BENCH_EXTRA_CONCURRENCY ?? (QUICK ? "" : "64")).split(",").filter((x) => x.trim() !== "").map(Number);
if (EXTRA_LEVELS.some((c) => !Number.isInteger(c) || c < 1)) {
  throw new Error(`BENCH_EXTRA_CONCURRENCY: comma-separated positive integers, got ${JSON.stringify(process.env.BENCH_EXTRA_CONCURRENCY)}`);
}
// Three full rounds (a median that one noisy round cannot move) of both eras fit the suite's
// budget for this script (run-all.ts).
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 3));
const EXTRA_S = 2;
const WARMUP_S = QUICK ? 1 : 2;
const LATENCY_S = QUICK ? 2 : 3;
const THROUGHPUT_S = QUICK ? 2 : 4;

const ERA_LABEL: Record<McpEra, string> = { modern: "2026 era", legacy: "2025 era" };
const ERA_VERSION: Record<McpEra, string> = { modern: MODERN_VERSION, legacy: LEGACY_VERSION };

interface Target {
  name: string;
  script: string;
  env: NodeJS.ProcessEnv;
  /** A variant of another target: measured at c=1 and c=BENCH_CONCURRENCY only, compared with that target. */
  variantOf?: string;
  /** How the variant's rows name it. */
  label?: string;
  /** Extra headers every request to it carries (e.g. Authorization). */
  headers?: Record<string, string>;
}

const TARGETS: Target[] = [
  { name: "sdk", script: "benchmarks/mcp-throughput/sdk-server.ts", env: {} },
  // The runtime's per-request access log is switched off: the baseline logs nothing either.
  { name: "stingray-1", script: "benchmarks/mcp-throughput/stingray-server.ts", env: { BENCH_REPLICAS: "1", STINGRAY_LOG_LEVEL: "warn" } },
  { name: "stingray-2", script: "benchmarks/mcp-throughput/stingray-server.ts", env: { BENCH_REPLICAS: "2", STINGRAY_LOG_LEVEL: "warn" } },
];
const TRACING = process.env.BENCH_TRACING !== "0";
const sink = TRACING ? await startOtlpSink() : undefined;
if (sink) {
  TARGETS.push({
    name: "stingray-1-traced",
    script: "benchmarks/mcp-throughput/stingray-server.ts",
    env: {
      BENCH_REPLICAS: "1",
      STINGRAY_LOG_LEVEL: "warn",
      OTEL_TRACES_EXPORTER: "otlp",
      OTEL_TRACES_SAMPLER: "always_on",
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
      OTEL_SERVICE_NAME: "bench",
    },
    variantOf: "stingray-1",
    label: "tracing on (100% sampled)",
  });
}

if (process.env.BENCH_JWT !== "0") {
  const jwt = await benchJwt();
  TARGETS.push({
    name: "stingray-1-jwt",
    script: "benchmarks/mcp-throughput/stingray-server.ts",
    env: { BENCH_REPLICAS: "1", STINGRAY_LOG_LEVEL: "warn", ...jwt.env },
    variantOf: "stingray-1",
    label: "JWT auth on (ES256, per-tool scope)",
    headers: jwt.headers,
  });
}

/** One era's measurements of one server: a summary per round and phase. */
interface EraRuns {
  latency: LoadSummary[];
  throughput: LoadSummary[];
  /** Per BENCH_EXTRA_CONCURRENCY level, one summary per round. */
  extra: Map<number, LoadSummary[]>;
}

interface Running {
  target: Target;
  server: ServerProcess;
  url: string;
  eras: Map<McpEra, EraRuns>;
}

async function start(target: Target): Promise<Running> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/mcp`;
  const { file, args } = tsxCommand(target.script);
  const server = spawnServer(file, args, { ...process.env, ...target.env, PORT: String(port) });
  try {
    // Ready = a real tools/call answers with the expected text in every era measured (not just a
    // listening socket).
    for (const era of ERAS) {
      await waitForToolAnswer(
        `${target.name} answering tools/call (${ERA_LABEL[era]})`,
        url,
        { tool: TOOL_NAME, args: TOOL_ARGS, accept: (text) => text === EXPECTED_TEXT, era, headers: target.headers },
        { timeoutMs: 60_000, intervalMs: 100, abortIf: () => (server.exited() ? `exited:\n${server.output()}` : undefined) },
      );
    }
  } catch (err) {
    await server.stop();
    throw err;
  }
  const eras = new Map(ERAS.map((era): [McpEra, EraRuns] => [era, { latency: [], throughput: [], extra: new Map(EXTRA_LEVELS.map((c) => [c, []])) }]));
  return { target, server, url, eras };
}

const requests = new Map(ERAS.map((era) => [era, toolCallRequest(TOOL_NAME, TOOL_ARGS, { era })]));
const load = (url: string, era: McpEra, connections: number, durationS: number, headers?: Record<string, string>) => {
  const req = requests.get(era)!;
  return closedLoop({ url, method: req.method, headers: headers ? { ...req.headers, ...headers } : req.headers, body: req.body, connections, durationS });
};

function show(name: string, era: McpEra, phase: string, s: LoadSummary): void {
  const failed = s.responses - (s.statusCounts["200"] ?? 0);
  console.log(
    `${ERA_LABEL[era]} ${name.padEnd(11)} ${phase.padEnd(5)} ${s.okPerSecond.toFixed(0).padStart(6)} req/s  mean ${s.ok.mean.toFixed(3)} ms  p50 ${s.ok.p50.toFixed(3)} ms  p99 ${s.ok.p99.toFixed(3)} ms` +
      (failed > 0 || s.errors > 0 ? `  (non-200 ${failed}, errors ${s.errors})` : ""),
  );
}

const notes: string[] = [];
let failed = false;
console.log(
  `mcp-throughput: eras ${ERAS.map((e) => `${ERA_LABEL[e]} (${ERA_VERSION[e]})`).join(" and ")}, ${cpus().length} cores, ` +
    `${ROUNDS} round(s) of c=1 for ${LATENCY_S}s and c=${CONCURRENCY} for ${THROUGHPUT_S}s per era and server`,
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
  // Warm-up in every era: JIT, pools and the SDK's per-era paths, before anything is measured.
  for (const era of ERAS) for (const r of running) await load(r.url, era, CONCURRENCY, WARMUP_S, r.target.headers);
  const budget = Budget.fromEnv();
  const roundMs = ERAS.length * running.reduce((ms, r) => ms + (LATENCY_S + THROUGHPUT_S + (r.target.variantOf ? 0 : EXTRA_S * EXTRA_LEVELS.length) + 1) * 1000, 0);
  for (let round = 1; round <= ROUNDS; round++) {
    if (round > 1 && !budget.allows(roundMs)) {
      notes.push(`${round - 1} of ${ROUNDS} rounds: the next did not fit the time budget`);
      break;
    }
    for (const era of ERAS) {
      for (const r of running) {
        const runs = r.eras.get(era)!;
        const latency = await load(r.url, era, 1, LATENCY_S, r.target.headers);
        const throughput = await load(r.url, era, CONCURRENCY, THROUGHPUT_S, r.target.headers);
        runs.latency.push(latency);
        runs.throughput.push(throughput);
        show(r.target.name, era, "c=1", latency);
        show(r.target.name, era, `c=${CONCURRENCY}`, throughput);
        if (r.target.variantOf !== undefined) continue;
        for (const c of EXTRA_LEVELS) {
          const s = await load(r.url, era, c, EXTRA_S, r.target.headers);
          runs.extra.get(c)!.push(s);
          show(r.target.name, era, `c=${c}`, s);
        }
      }
    }
  }
} catch (err) {
  failed = true;
  notes.push(`load: ${err instanceof Error ? err.message : String(err)}`);
} finally {
  await Promise.all(running.map((r) => r.server.stop()));
  await sink?.close();
}

const byName = new Map(running.map((r) => [r.target.name, r]));
type Phase = (runs: EraRuns) => LoadSummary[] | undefined;
/** Median over the rounds of `pick` for one server, era and phase; null when it has no runs. */
const medOf = (name: string, era: McpEra, phase: Phase, pick: (s: LoadSummary) => number): number | null => {
  const runs = byName.get(name)?.eras.get(era);
  const list = runs ? (phase(runs) ?? []) : [];
  return list.length > 0 ? median(list.map(pick)) : null;
};
const rps = (s: LoadSummary) => s.okPerSecond;
const mean = (s: LoadSummary) => s.ok.mean;
const p50 = (s: LoadSummary) => s.ok.p50;
const p99 = (s: LoadSummary) => s.ok.p99;
const c1: Phase = (r) => r.latency;
const cN: Phase = (r) => r.throughput;
/**
 * Added latency at c=1: the median over the rounds of (stingray − SDK) within each round, so a
 * noisy round moves both sides of its own difference, not a median of one side only.
 */
const addedOf = (era: McpEra, pick: (s: LoadSummary) => number, name = "stingray-1", base = "sdk"): number | null => {
  const mine = byName.get(name)?.eras.get(era)?.latency ?? [];
  const sdk = byName.get(base)?.eras.get(era)?.latency ?? [];
  const n = Math.min(mine.length, sdk.length);
  return n > 0 ? median(Array.from({ length: n }, (_, i) => pick(mine[i]!) - pick(sdk[i]!))) : null;
};

/** Median over the rounds of (name / base) within each round, for one era and phase. */
const pairedRatioOf = (era: McpEra, phase: Phase, pick: (s: LoadSummary) => number, name: string, base: string): number | null => {
  const mine = phase(byName.get(name)?.eras.get(era) ?? ({} as EraRuns)) ?? [];
  const theirs = phase(byName.get(base)?.eras.get(era) ?? ({} as EraRuns)) ?? [];
  const n = Math.min(mine.length, theirs.length);
  const ratios = Array.from({ length: n }, (_, i) => pick(mine[i]!) / pick(theirs[i]!)).filter(Number.isFinite);
  return ratios.length > 0 ? median(ratios) : null;
};

const rows: BenchRow[] = [];
const summary: string[] = [];
for (const era of ERAS) {
  const e = ERA_LABEL[era];
  const sdkRps = medOf("sdk", era, cN, rps);
  const sdkMean = medOf("sdk", era, c1, mean);
  const addedMean = addedOf(era, mean);
  const addedP50 = addedOf(era, p50);
  rows.push(
    row(`${e}: sdk tools/call c=${CONCURRENCY}`, sdkRps, "req/s", { note: `MCP-Protocol-Version ${ERA_VERSION[era]}` }),
    row(`${e}: stingray 1 replica c=${CONCURRENCY}`, medOf("stingray-1", era, cN, rps), "req/s", { baseline: sdkRps, note: "goal ≥1.5x" }),
    row(`${e}: stingray 2 replicas c=${CONCURRENCY}`, medOf("stingray-2", era, cN, rps), "req/s", { baseline: sdkRps, note: "goal ≥1.5x" }),
    row(`${e}: sdk mean c=1`, sdkMean, "ms"),
    row(`${e}: stingray 1 replica mean c=1`, medOf("stingray-1", era, c1, mean), "ms", { baseline: sdkMean }),
    row(`${e}: stingray added mean c=1`, addedMean, "ms", { note: "goal ≤ 0.3 ms; median over rounds of the same-round difference" }),
    row(`${e}: stingray added p50 c=1`, addedP50, "ms"),
    row(`${e}: stingray 1 replica p99 c=1`, medOf("stingray-1", era, c1, p99), "ms", { baseline: medOf("sdk", era, c1, p99) }),
  );
  for (const [name, label] of [["stingray-1", "1 replica"], ["stingray-2", "2 replicas"]] as const) {
    rows.push(
      row(`${e}: stingray ${label} p50 c=${CONCURRENCY}`, medOf(name, era, cN, p50), "ms", { baseline: medOf("sdk", era, cN, p50) }),
      row(`${e}: stingray ${label} p99 c=${CONCURRENCY}`, medOf(name, era, cN, p99), "ms", { baseline: medOf("sdk", era, cN, p99) }),
    );
  }
  for (const c of EXTRA_LEVELS) {
    const at: Phase = (r) => r.extra.get(c);
    for (const [name, label] of [["stingray-1", "1 replica"], ["stingray-2", "2 replicas"]] as const) {
      rows.push(
        row(`${e}: stingray ${label} c=${c}`, medOf(name, era, at, rps), "req/s", { baseline: medOf("sdk", era, at, rps) }),
        row(`${e}: stingray ${label} p99 c=${c}`, medOf(name, era, at, p99), "ms", { baseline: medOf("sdk", era, at, p99) }),
      );
    }
  }
  summary.push(`${e}: added mean c=1 ${addedMean === null ? "n/a" : addedMean.toFixed(3)} ms (goal ≤ 0.3 ms)`);
  for (const variant of running.filter((r) => r.target.variantOf !== undefined).map((r) => r.target)) {
    const base = variant.variantOf!;
    const v = `${e}: stingray 1 replica, ${variant.label ?? variant.name}`;
    const vsOff = "ratio to the same server with it off, same rounds";
    rows.push(
      row(`${v} c=${CONCURRENCY}`, medOf(variant.name, era, cN, rps), "req/s", { baseline: medOf(base, era, cN, rps), note: vsOff }),
      row(`${v} p99 c=${CONCURRENCY}`, medOf(variant.name, era, cN, p99), "ms", { baseline: medOf(base, era, cN, p99) }),
      row(`${v} mean c=1`, medOf(variant.name, era, c1, mean), "ms", { baseline: medOf(base, era, c1, mean), note: vsOff }),
      row(`${v} added mean c=1`, addedOf(era, mean, variant.name, base), "ms", { note: "median over rounds of the same-round difference to it off" }),
      row(`${v} c=${CONCURRENCY} same-round ratio`, pairedRatioOf(era, cN, rps, variant.name, base), "x", {
        note: "median over rounds of (on / off) within each round: steadier than a ratio of medians on a shared machine",
      }),
    );
  }
}
if (sink) {
  // Proof the variant really traced: spans reached the collector.
  notes.push(`tracing variant: ${sink.requests()} OTLP export requests, ${(sink.bytes() / 1e6).toFixed(1)} MB received`);
  if (byName.has("stingray-1-traced") && sink.requests() === 0) {
    failed = true;
    notes.push("tracing variant exported nothing: tracing was not on");
  }
}

for (const r of rows) {
  if (r.ratio !== undefined) console.log(`${r.metric}: ${r.value} ${r.unit} = ${r.ratio}x${r.note ? ` (${r.note})` : ""}`);
}
for (const line of summary) console.log(line);

const details: Record<string, unknown> = {
  eras: ERAS,
  concurrency: CONCURRENCY,
  rounds: ROUNDS,
  cores: cpus().length,
  notes,
  ...(sink ? { otlpExport: { requests: sink.requests(), bytes: sink.bytes() } } : {}),
};
const shape = (s: LoadSummary) => ({ rps: s.okPerSecond, mean: s.ok.mean, p50: s.ok.p50, p99: s.ok.p99, status: s.statusCounts });
for (const r of running) {
  details[r.target.name] = Object.fromEntries(
    [...r.eras].map(([era, runs]) => [
      era,
      {
        c1: runs.latency.map(shape),
        cN: runs.throughput.map(shape),
        ...Object.fromEntries([...runs.extra].map(([c, list]) => [`c${c}`, list.map(shape)])),
      },
    ]),
  );
}
await emitResultAndExit({ benchmark: "mcp-throughput", rows, details, quick: QUICK }, failed ? 1 : 0);
