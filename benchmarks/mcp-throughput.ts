// MCP tools/call throughput and latency: the weather-style echo tool (benchmarks/mcp-throughput/
// tool.ts) served by stingray with 1 and with 2 replicas, against the MCP SDK's own single-process
// server in its documented stateless pattern (express + a per-request server), all in one run.
// Each server runs alone in its own process (one at a time, so they never compete for the cores),
// and autocannon drives it from this process with the same request bytes:
//   warm-up, then concurrency 1 (latency: p50/p99) and concurrency BENCH_CONCURRENCY (throughput).
// Goals: ≥1.0x the SDK's throughput with 1 replica, ≥1.3x with 2, under 0.3 ms added p50 at c=1.
//
//   npx tsx benchmarks/mcp-throughput.ts     BENCH_QUICK=1 short run; BENCH_ERA=modern|legacy

import { cpus } from "node:os";
import { closedLoop, type LoadSummary } from "./lib/load.ts";
import { callToolRaw, toolCallRequest, type McpEra } from "./lib/mcp.ts";
import { freePort, spawnServer, tsxCommand, waitFor, type ServerProcess } from "./lib/process.ts";
import { emitResultAndExit, isQuick, row, type BenchRow } from "./lib/report.ts";
import { EXPECTED_TEXT, TOOL_ARGS, TOOL_NAME } from "./mcp-throughput/tool.ts";

const QUICK = isQuick();
const ERA = (process.env.BENCH_ERA ?? "modern") as McpEra;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const WARMUP_S = QUICK ? 1 : 2;
const LATENCY_S = QUICK ? 2 : 6;
const THROUGHPUT_S = QUICK ? 3 : 8;

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

interface Measured {
  latency: LoadSummary;
  throughput: LoadSummary;
}

async function start(target: Target): Promise<{ server: ServerProcess; url: string }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/mcp`;
  const { file, args } = tsxCommand(target.script);
  const server = spawnServer(file, args, { ...process.env, ...target.env, PORT: String(port) });
  // Ready = a real tools/call answers with the expected text (not just a listening socket).
  await waitFor(
    `${target.name} answering tools/call`,
    async () => {
      try {
        const out = await callToolRaw(url, TOOL_NAME, TOOL_ARGS, { era: ERA });
        return out.status === 200 && out.message?.result?.content?.[0]?.text === EXPECTED_TEXT;
      } catch {
        return false;
      }
    },
    { timeoutMs: 30_000, intervalMs: 100, abortIf: () => (server.exited() ? `exited:\n${server.output()}` : undefined) },
  );
  return { server, url };
}

async function measure(target: Target): Promise<Measured> {
  const { server, url } = await start(target);
  try {
    const req = toolCallRequest(TOOL_NAME, TOOL_ARGS, { era: ERA });
    const load = (connections: number, durationS: number) =>
      closedLoop({ url, method: req.method, headers: req.headers, body: req.body, connections, durationS });
    await load(CONCURRENCY, WARMUP_S);
    const latency = await load(1, LATENCY_S);
    const throughput = await load(CONCURRENCY, THROUGHPUT_S);
    for (const [phase, s] of [["c=1", latency], [`c=${CONCURRENCY}`, throughput]] as const) {
      const non2xx = s.responses - Math.round(s.okPerSecond * s.durationS);
      console.log(
        `${target.name.padEnd(11)} ${phase.padEnd(5)} ${s.okPerSecond.toFixed(0).padStart(6)} req/s  p50 ${s.ok.p50.toFixed(3)} ms  p99 ${s.ok.p99.toFixed(3)} ms` +
          (non2xx > 0 || s.errors > 0 ? `  (non-2xx ${non2xx}, errors ${s.errors})` : ""),
      );
    }
    return { latency, throughput };
  } finally {
    await server.stop();
  }
}

const results: Record<string, Measured> = {};
let failed = false;
const notes: string[] = [];
console.log(`mcp-throughput: era ${ERA}, ${cpus().length} cores, c=1 for ${LATENCY_S}s, c=${CONCURRENCY} for ${THROUGHPUT_S}s`);
for (const target of TARGETS) {
  try {
    results[target.name] = await measure(target);
  } catch (err) {
    failed = true;
    notes.push(`${target.name}: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
    console.error(`${target.name} failed:`, err);
  }
}

const sdk = results.sdk;
const rows: BenchRow[] = [];
const thr = (m?: Measured) => (m ? m.throughput.okPerSecond : null);
const p50 = (m?: Measured) => (m ? m.latency.ok.p50 : null);
rows.push(row(`sdk tools/call c=${CONCURRENCY}`, thr(sdk), "req/s"));
rows.push(row(`stingray 1 replica c=${CONCURRENCY}`, thr(results["stingray-1"]), "req/s", { baseline: thr(sdk), note: "goal ≥1.0x" }));
rows.push(row(`stingray 2 replicas c=${CONCURRENCY}`, thr(results["stingray-2"]), "req/s", { baseline: thr(sdk), note: "goal ≥1.3x" }));
rows.push(row("sdk p50 c=1", p50(sdk), "ms"));
rows.push(row("stingray 1 replica p50 c=1", p50(results["stingray-1"]), "ms", { baseline: p50(sdk) }));
const added = p50(results["stingray-1"]) !== null && p50(sdk) !== null ? p50(results["stingray-1"])! - p50(sdk)! : null;
rows.push(row("stingray added p50 c=1", added, "ms", { note: "goal < 0.3 ms" }));
rows.push(row("stingray 1 replica p99 c=1", results["stingray-1"]?.latency.ok.p99 ?? null, "ms", { baseline: sdk?.latency.ok.p99 ?? null }));

const details: Record<string, unknown> = { era: ERA, concurrency: CONCURRENCY, cores: cpus().length, notes };
for (const [name, m] of Object.entries(results)) {
  details[name] = {
    c1: { rps: m.latency.okPerSecond, p50: m.latency.ok.p50, p99: m.latency.ok.p99, status: m.latency.statusCounts },
    cN: { rps: m.throughput.okPerSecond, p50: m.throughput.ok.p50, p99: m.throughput.ok.p99, status: m.throughput.statusCounts },
  };
}
await emitResultAndExit({ benchmark: "mcp-throughput", rows, details, quick: QUICK }, failed ? 1 : 0);
