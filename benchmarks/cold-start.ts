// Cold start and idle memory.
// 1. Command → first successful tools/call: spawns `npx tsx examples/weather.ts` (stingray:
//    runtime, proxy, worker-thread replicas) and, as the baseline, `npx tsx` of the same tools on
//    the bare MCP SDK (benchmarks/lib/fixtures/sdk-weather-server.ts), alternating, and polls
//    each with a real `get_alerts` tools/call (against a local fake NWS) until it answers with
//    the right text. Reports the median over the trials.
// 2. Memory per idle replica: the bench app (benchmarks/lib/fixtures/bench-app.ts) with 1 and
//    with N replicas, idle; (RSS_N − RSS_1) / (N − 1). Baseline: the RSS of one bare SDK server
//    process, i.e. what scaling by processes would cost per copy.
//
//   npx tsx benchmarks/cold-start.ts          BENCH_QUICK=1 for one trial each

import { existsSync } from "node:fs";
import { startFakeNws, type FakeNws } from "../test/fixtures/fake-nws.ts";
import { Budget } from "./lib/budget.ts";
import { waitForToolAnswer } from "./lib/mcp.ts";
import { freePort, rssMiB, sleep, spawnServer, tsxCommand, type ServerProcess } from "./lib/process.ts";
import { emitResultAndExit, isQuick, row, type BenchRow } from "./lib/report.ts";
import { median } from "./lib/stats.ts";

const QUICK = isQuick();
const TRIALS = Number(process.env.BENCH_COLD_TRIALS ?? (QUICK ? 1 : 3));
const REPLICAS_N = Number(process.env.BENCH_MEMORY_REPLICAS ?? (QUICK ? 3 : 5));
const START_TIMEOUT_MS = 30_000;
const STINGRAY_APP = existsSync("examples/weather.ts") ? "examples/weather.ts" : "benchmarks/lib/fixtures/bench-app.ts";
const SDK_APP = "benchmarks/lib/fixtures/sdk-weather-server.ts";
const EXPECTED_PREFIX = "\nEvent: ";
const budget = Budget.fromEnv();
/** Time the memory part needs (three starts and settling); trials stop early to leave it. */
const MEMORY_PART_MS = QUICK ? 15_000 : 25_000;

interface Started {
  server: ServerProcess;
  url: string;
  seconds: number;
}

/** Spawns `file args` with PORT set and resolves when a get_alerts call answers correctly. */
async function startAndCall(file: string, args: string[], nws: FakeNws, extraEnv: NodeJS.ProcessEnv = {}): Promise<Started> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/mcp`;
  const t0 = performance.now();
  const server = spawnServer(file, args, { ...process.env, ...extraEnv, PORT: String(port), NWS_API_BASE: nws.baseUrl, NWS_TIMEOUT_MS: "5000" });
  try {
    await waitForToolAnswer(
      `${args.join(" ")} answering tools/call`,
      url,
      { tool: "get_alerts", args: { state: "CA" }, accept: (text) => text.startsWith(EXPECTED_PREFIX), callTimeoutMs: 5000 },
      { timeoutMs: Math.min(START_TIMEOUT_MS, budget.remainingMs()), intervalMs: 20, abortIf: () => (server.exited() ? `exited early:\n${server.output()}` : undefined) },
    );
  } catch (err) {
    await server.stop();
    throw err;
  }
  return { server, url, seconds: (performance.now() - t0) / 1000 };
}

/** Median of a few RSS readings once the process has settled. */
async function idleRss(pid: number): Promise<number | null> {
  await sleep(QUICK ? 500 : 1500);
  const readings: number[] = [];
  for (let i = 0; i < 5; i++) {
    const v = await rssMiB(pid);
    if (v !== null) readings.push(v);
    await sleep(100);
  }
  return readings.length ? median(readings) : null;
}

async function coldStart(nws: FakeNws, rows: BenchRow[], details: Record<string, unknown>): Promise<void> {
  // Alternating, so drift on a shared machine hits both sides alike.
  const stingray: number[] = [];
  const sdk: number[] = [];
  const pairsStarted = performance.now();
  for (let i = 0; i < TRIALS; i++) {
    // Leave time for the memory part: a shared, busy machine makes starts slow.
    const pairMs = i === 0 ? 0 : (performance.now() - pairsStarted) / i;
    if (i > 0 && !budget.allows(pairMs + MEMORY_PART_MS)) {
      console.log(`stopping after ${i} trial(s) to stay within the time budget`);
      break;
    }
    for (const side of ["stingray", "sdk"] as const) {
      const app = side === "stingray" ? STINGRAY_APP : SDK_APP;
      const started = await startAndCall("npx", ["tsx", app], nws);
      await started.server.stop();
      (side === "stingray" ? stingray : sdk).push(started.seconds);
      console.log(`trial ${i + 1}: ${side.padEnd(8)} first tools/call after ${started.seconds.toFixed(2)} s`);
    }
  }
  details.coldStartS = { stingray, sdk };
  rows.push(row("cold start → first tools/call", median(stingray), "s", { baseline: median(sdk), note: `npx tsx ${STINGRAY_APP}; baseline: bare SDK server; median of ${stingray.length}` }));
}

async function idleMemory(nws: FakeNws, rows: BenchRow[], details: Record<string, unknown>): Promise<void> {
  // The same app with 1 and N replicas, run with node directly so the pid is the server itself.
  const rss: Record<number, number | null> = {};
  for (const replicas of [1, REPLICAS_N]) {
    const cmd = tsxCommand("benchmarks/lib/fixtures/bench-app.ts");
    const started = await startAndCall(cmd.file, cmd.args, nws, { BENCH_REPLICAS: String(replicas) });
    rss[replicas] = await idleRss(started.server.pid);
    await started.server.stop();
    console.log(`${replicas} idle replica(s): RSS ${rss[replicas]?.toFixed(1)} MiB`);
  }
  const sdkCmd = tsxCommand(SDK_APP);
  const sdkStarted = await startAndCall(sdkCmd.file, sdkCmd.args, nws);
  const sdkRss = await idleRss(sdkStarted.server.pid);
  await sdkStarted.server.stop();
  console.log(`bare SDK server process: RSS ${sdkRss?.toFixed(1)} MiB`);
  const perReplica = rss[1] != null && rss[REPLICAS_N] != null ? (rss[REPLICAS_N]! - rss[1]!) / (REPLICAS_N - 1) : null;
  details.rssMiB = { ...rss, sdkProcess: sdkRss };
  rows.push(row("memory per idle replica", perReplica, "MiB", { baseline: sdkRss, note: `(RSS ${REPLICAS_N} − RSS 1 replica) / ${REPLICAS_N - 1}; baseline: one bare SDK process` }));
  rows.push(row("runtime RSS, 1 idle replica", rss[1] ?? null, "MiB", { baseline: sdkRss, note: "whole process; baseline: bare SDK process" }));
}

async function main(): Promise<void> {
  const nws = await startFakeNws();
  const rows: BenchRow[] = [];
  const details: Record<string, unknown> = { stingrayApp: STINGRAY_APP, trials: TRIALS };
  let failed = false;
  // One part failing (say the example does not start) still leaves the other's numbers.
  const parts: Array<[string, string, (nws: FakeNws, rows: BenchRow[], details: Record<string, unknown>) => Promise<void>]> = [
    ["cold start → first tools/call", "s", coldStart],
    ["memory per idle replica", "MiB", idleMemory],
  ];
  for (const [metric, unit, part] of parts) {
    try {
      await part(nws, rows, details);
    } catch (err) {
      failed = true;
      console.error(`${metric} failed:`, err);
      rows.push(row(metric, null, unit, { note: `failed: ${String((err as Error).message ?? err).split("\n")[0]}` }));
    }
  }
  await nws.close();
  await emitResultAndExit({ benchmark: "cold-start", rows, details, quick: QUICK }, failed ? 1 : 0);
}

await main();
