// Cold start and idle memory, for an app in TypeScript (run with tsx) and one in JavaScript on the
// compiled package (run with node: no tsx in any thread; needs `npm run build`, else those rows
// say so).
// 1. Command → first successful tools/call: spawns `npx tsx examples/weather.ts` (stingray:
//    runtime, proxy, worker-thread replicas) and, as the baseline, `npx tsx` of the same tools on
//    the bare MCP SDK (benchmarks/lib/fixtures/sdk-weather-server.ts), alternating, and polls
//    each with a real `get_alerts` tools/call (against a local fake NWS) until it answers with
//    the right text. JavaScript: `node benchmarks/lib/fixtures/bench-app.mjs` against the bare SDK
//    in JavaScript (`node benchmarks/lib/fixtures/sdk-bench-server.mjs`), polled with get_forecast.
//    Reports the median over the trials.
// 2. Memory per idle replica: the bench app (benchmarks/lib/fixtures/bench-app.ts, and .mjs on
//    the compiled package) with 1 and with N replicas, idle; (RSS_N − RSS_1) / (N − 1). Baseline:
//    the RSS of one bare SDK server process, i.e. what scaling by processes would cost per copy.
//
//   npx tsx benchmarks/cold-start.ts          BENCH_QUICK=1 for one trial each

import { existsSync } from "node:fs";
import { EXPECTED_TEXT, TOOL_ARGS, TOOL_NAME } from "./mcp-throughput/tool.ts";
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
const JS_APP = "benchmarks/lib/fixtures/bench-app.mjs";
const JS_SDK_APP = "benchmarks/lib/fixtures/sdk-bench-server.mjs";
/** The JavaScript app imports "stingray", which resolves to the compiled package (dist/). */
const COMPILED = existsSync("dist/index.js");
const EXPECTED_PREFIX = "\nEvent: ";
const budget = Budget.fromEnv();
/** Time the memory part needs (three starts and settling); trials stop early to leave it. */
const MEMORY_PART_MS = QUICK ? 20_000 : 35_000;

interface ToolCheck {
  tool: string;
  args: Record<string, unknown>;
  accept: (text: string) => boolean;
}
const ALERTS: ToolCheck = { tool: "get_alerts", args: { state: "CA" }, accept: (text) => text.startsWith(EXPECTED_PREFIX) };
const FORECAST: ToolCheck = { tool: TOOL_NAME, args: TOOL_ARGS, accept: (text) => text === EXPECTED_TEXT };

interface Started {
  server: ServerProcess;
  url: string;
  seconds: number;
}

/** Spawns `file args` with PORT set and resolves when a get_alerts call answers correctly. */
async function startAndCall(file: string, args: string[], nws: FakeNws, extraEnv: NodeJS.ProcessEnv = {}, check: ToolCheck = ALERTS): Promise<Started> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/mcp`;
  const t0 = performance.now();
  const server = spawnServer(file, args, { ...process.env, ...extraEnv, PORT: String(port), NWS_API_BASE: nws.baseUrl, NWS_TIMEOUT_MS: "5000" });
  try {
    await waitForToolAnswer(
      `${args.join(" ")} answering tools/call`,
      url,
      { ...check, callTimeoutMs: 5000 },
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
  const stingrayJs: number[] = [];
  const sdkJs: number[] = [];
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
    if (!COMPILED) continue;
    for (const side of ["stingray", "sdk"] as const) {
      const app = side === "stingray" ? JS_APP : JS_SDK_APP;
      const started = await startAndCall(process.execPath, [app], nws, {}, FORECAST);
      await started.server.stop();
      (side === "stingray" ? stingrayJs : sdkJs).push(started.seconds);
      console.log(`trial ${i + 1}: ${side.padEnd(8)} JavaScript: first tools/call after ${started.seconds.toFixed(2)} s`);
    }
  }
  details.coldStartS = { stingray, sdk, stingrayJs, sdkJs };
  rows.push(row("cold start → first tools/call (TypeScript, tsx)", median(stingray), "s", { baseline: median(sdk), note: `npx tsx ${STINGRAY_APP}; baseline: bare SDK server, npx tsx; median of ${stingray.length}` }));
  rows.push(
    COMPILED
      ? row("cold start → first tools/call (JavaScript, compiled)", median(stingrayJs), "s", { baseline: median(sdkJs), note: `goal ≤1.3x; node ${JS_APP}; baseline: bare SDK server, node; median of ${stingrayJs.length}` })
      : row("cold start → first tools/call (JavaScript, compiled)", null, "s", { note: "not measured: no dist/ (npm run build)" }),
  );
}

/** RSS of the app with 1 and with REPLICAS_N idle replicas, run with node directly so the pid is the server itself. */
async function rssByReplicas(cmd: { file: string; args: string[] }, nws: FakeNws, check: ToolCheck, what: string): Promise<Record<number, number | null>> {
  const rss: Record<number, number | null> = {};
  for (const replicas of [1, REPLICAS_N]) {
    const started = await startAndCall(cmd.file, cmd.args, nws, { BENCH_REPLICAS: String(replicas), STINGRAY_LOG_LEVEL: "warn" }, check);
    rss[replicas] = await idleRss(started.server.pid);
    await started.server.stop();
    console.log(`${what}: ${replicas} idle replica(s): RSS ${rss[replicas]?.toFixed(1)} MiB`);
  }
  return rss;
}

const perReplicaOf = (rss: Record<number, number | null>): number | null =>
  rss[1] != null && rss[REPLICAS_N] != null ? (rss[REPLICAS_N]! - rss[1]!) / (REPLICAS_N - 1) : null;

async function idleMemory(nws: FakeNws, rows: BenchRow[], details: Record<string, unknown>): Promise<void> {
  const rss = await rssByReplicas(tsxCommand("benchmarks/lib/fixtures/bench-app.ts"), nws, ALERTS, "TypeScript (tsx)");
  const rssJs = COMPILED ? await rssByReplicas({ file: process.execPath, args: [JS_APP] }, nws, FORECAST, "JavaScript (compiled)") : undefined;
  const sdkCmd = tsxCommand(SDK_APP);
  const sdkStarted = await startAndCall(sdkCmd.file, sdkCmd.args, nws);
  const sdkRss = await idleRss(sdkStarted.server.pid);
  await sdkStarted.server.stop();
  console.log(`bare SDK server process: RSS ${sdkRss?.toFixed(1)} MiB`);
  details.rssMiB = { typescript: rss, javascript: rssJs ?? null, sdkProcess: sdkRss };
  const how = `(RSS ${REPLICAS_N} − RSS 1 replica) / ${REPLICAS_N - 1}; baseline: one bare SDK process`;
  rows.push(
    rssJs
      ? row("memory per idle replica (JavaScript, compiled)", perReplicaOf(rssJs), "MiB", { baseline: sdkRss, note: `goal ≤ 30 MiB; ${how}` })
      : row("memory per idle replica (JavaScript, compiled)", null, "MiB", { note: "not measured: no dist/ (npm run build)" }),
  );
  rows.push(row("memory per idle replica (TypeScript, tsx)", perReplicaOf(rss), "MiB", { baseline: sdkRss, note: `tsx in every replica thread; ${how}` }));
  if (rssJs) rows.push(row("runtime RSS, 1 idle replica (JavaScript, compiled)", rssJs[1] ?? null, "MiB", { baseline: sdkRss, note: "whole process; baseline: bare SDK process" }));
  rows.push(row("runtime RSS, 1 idle replica (TypeScript, tsx)", rss[1] ?? null, "MiB", { baseline: sdkRss, note: "whole process; baseline: bare SDK process" }));
}

async function main(): Promise<void> {
  const nws = await startFakeNws();
  const rows: BenchRow[] = [];
  const details: Record<string, unknown> = { stingrayApp: STINGRAY_APP, trials: TRIALS };
  let failed = false;
  // One part failing (say the example does not start) still leaves the other's numbers.
  const parts: Array<[string, string, (nws: FakeNws, rows: BenchRow[], details: Record<string, unknown>) => Promise<void>]> = [
    ["cold start → first tools/call (TypeScript, tsx)", "s", coldStart],
    ["memory per idle replica (TypeScript, tsx)", "MiB", idleMemory],
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
