// Crash recovery: a replica of a 2-replica deployment is killed (uncaught exception in its
// thread) while closed-loop clients keep it busy. Measured: death → the router stops sending to
// it, death → replacement RUNNING, requests that failed (only calls already running on the dead
// replica may fail: at most its maxOngoingRequests) and requests that failed without having
// reached it (must be 0). Baseline, same run: a replica's cold start (deploy → running), which
// bounds how fast any replacement can be.
//
//   npx tsx benchmarks/crash-recovery.ts       BENCH_QUICK=1 for one trial
//
// The last stdout line is the JSON result that benchmarks/run-all reads.

import { bind } from "../src/deployments/decorator.ts";
import { createLogger } from "../src/observability/logger.ts";
import { Runtime } from "../src/runtime/runtime.ts";
import { ColdStart, Killable } from "../test/fixtures/serve/bench-apps.ts";
import { Budget } from "./lib/budget.ts";
import { faultTrial, medianOfAll, type FaultTrial } from "./lib/replica-fault.ts";
import { emitResultAndExit, row } from "./lib/report.ts";
import { median } from "./lib/stats.ts";

const QUICK = process.env.BENCH_QUICK === "1" || process.env.BENCH_QUICK === "true";
const TRIALS = QUICK ? 1 : 3;
const CLIENTS = 16; // 2 replicas × 4 slots, the rest queued in the router
const WORK_MS = 20;
const MAX_ONGOING = 4;
const budget = Budget.fromEnv();

async function trial(runtime: Runtime, i: number): Promise<FaultTrial> {
  return faultTrial<Killable>({
    runtime,
    name: `crash${i}`,
    app: bind(Killable),
    deployment: "Killable",
    clients: CLIENTS,
    workMs: WORK_MS,
    fault: (handle) => handle.dieIn.remote(30),
    unroutedTimeoutMs: 10_000,
  });
}

const runtime = await Runtime.start({ http: false, numCpus: 8, logger: createLogger({ level: "error" }) });
const cold: number[] = [];
const trials: FaultTrial[] = [];
for (let i = 0; i < TRIALS; i++) {
  if (i > 0 && !budget.allows(10_000)) break;
  const t0 = performance.now();
  await runtime.deploy(bind(ColdStart), { name: `cold${i}`, routePrefix: null });
  cold.push(performance.now() - t0);
  await runtime.delete(`cold${i}`);
  trials.push(await trial(runtime, i));
  console.log(`trial ${i + 1}: cold start ${cold.at(-1)!.toFixed(0)} ms, ${JSON.stringify(trials.at(-1))}`);
}
await runtime.shutdown();

const med = (pick: (t: FaultTrial) => number | null): number | null => medianOfAll(trials, pick);
const coldMs = median(cold);
const rows = [
  row("death → replica out of the router", med((t) => t.faultToUnroutedMs), "ms", { note: `median of ${trials.length}` }),
  row("death → replacement running", med((t) => t.faultToReplacementRunningMs), "ms", {
    baseline: coldMs,
    note: `median of ${trials.length}; baseline: replica cold start (deploy → running)`,
  }),
  row("failed requests per crash (in flight on the dead replica)", med((t) => t.failed), "requests", {
    note: `at most maxOngoingRequests = ${MAX_ONGOING}; ${CLIENTS} closed-loop clients`,
  }),
  row("requests lost that had not reached it", Math.max(...trials.map((t) => t.failedNotReplicaDied)), "requests", { note: "must be 0" }),
  row("requests served while recovering", med((t) => t.requestsDuringRecovery), "requests", { note: "by the surviving replica" }),
];
for (const r of rows) console.log(`${r.metric}: ${r.value} ${r.unit}${r.ratio != null ? ` (${r.ratio}× cold start)` : ""}`);
await emitResultAndExit({
  benchmark: "crash-recovery",
  rows,
  details: { trials, coldStartMs: cold, clients: CLIENTS, workMs: WORK_MS },
  ...(QUICK ? { quick: true } : {}),
});
