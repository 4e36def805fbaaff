// Wedge recovery: a replica of a 2-replica deployment (maxOngoingRequests 1, healthCheckPeriodS
// 0.5, healthCheckTimeoutS 1, no checkHealth(): the settings of issue 11) wedges its thread in a
// 30 s synchronous loop while closed-loop clients keep the deployment busy. Measured: wedge → the
// router stops sending to it (the runtime's liveness probe declared it dead), wedge → replacement
// RUNNING, requests that failed (only a call already on the wedged replica may fail: at most its
// maxOngoingRequests) and requests lost that had not reached it (must be 0). Baseline, same run
// and same load: a replica's cold start (deploy → running of a one-replica deployment while the
// clients run, just before the wedge). Goals: out of routing within 3 × (period + timeout) =
// 4.5 s; replacement running within that plus one cold start.
//
//   npx tsx benchmarks/wedge-recovery.ts       BENCH_QUICK=1 for one trial
//
// The last stdout line is the JSON result that benchmarks/run-all reads.

import { bind } from "../src/deployments/decorator.ts";
import { createLogger } from "../src/observability/logger.ts";
import { Runtime } from "../src/runtime/runtime.ts";
import { ColdStart } from "../test/fixtures/serve/bench-apps.ts";
import { Wedgeable } from "../test/fixtures/serve/wedge.ts";
import { Budget } from "./lib/budget.ts";
import { faultTrial, medianOfAll, type FaultTrial } from "./lib/replica-fault.ts";
import { emitResultAndExit, row } from "./lib/report.ts";
import { median } from "./lib/stats.ts";

const QUICK = process.env.BENCH_QUICK === "1" || process.env.BENCH_QUICK === "true";
const TRIALS = QUICK ? 1 : 3;
const CLIENTS = 6; // 2 replicas × 1 slot, the rest queued in the router
const WORK_MS = 20;
const WEDGE_MS = 30_000;
const PERIOD_S = 0.5;
const TIMEOUT_S = 1;
const GOAL_OUT_OF_ROUTING_MS = 3 * (PERIOD_S + TIMEOUT_S) * 1000;
const budget = Budget.fromEnv();

interface Trial extends FaultTrial {
  /** Deploy → running of a one-replica deployment while the clients run (the same load). */
  coldStartMs: number;
}

async function trial(runtime: Runtime, i: number): Promise<Trial> {
  let coldStartMs = 0;
  const result = await faultTrial<Wedgeable>({
    runtime,
    name: `wedge${i}`,
    app: bind(Wedgeable),
    deployment: "Wedgeable",
    clients: CLIENTS,
    workMs: WORK_MS,
    underLoad: async () => {
      const t0 = performance.now();
      await runtime.deploy(bind(ColdStart), { name: `cold${i}`, routePrefix: null });
      coldStartMs = performance.now() - t0;
      await runtime.delete(`cold${i}`);
    },
    fault: (handle) => handle.wedgeIn.remote(30, WEDGE_MS),
    // Generous, so a slow detection still gets a number; before the liveness probe existed the
    // wedged replica stayed in routing for the whole 30 s loop.
    unroutedTimeoutMs: 15_000,
  });
  return { coldStartMs, ...result };
}

const runtime = await Runtime.start({ http: false, numCpus: 8, logger: createLogger({ level: "error" }) });
const trials: Trial[] = [];
for (let i = 0; i < TRIALS; i++) {
  if (i > 0 && !budget.allows(25_000)) break; // a trial takes 10–20 s (more on a loaded machine)
  trials.push(await trial(runtime, i));
  console.log(`trial ${i + 1}: ${JSON.stringify(trials.at(-1))}`);
}
const cold = trials.map((t) => t.coldStartMs);
await runtime.shutdown();

const med = (pick: (t: Trial) => number | null): number | null => medianOfAll(trials, pick);
const coldMs = median(cold);
// Each trial against the cold start measured just before it (same machine load).
const goals = trials.map((t, i) => ({
  outOfRouting: t.faultToUnroutedMs !== null && t.faultToUnroutedMs <= GOAL_OUT_OF_ROUTING_MS,
  replacement: t.faultToReplacementRunningMs !== null && t.faultToReplacementRunningMs <= GOAL_OUT_OF_ROUTING_MS + cold[i]!,
}));
const met = (k: "outOfRouting" | "replacement") => `${goals.filter((g) => g[k]).length}/${goals.length} trials meet it`;
const rows = [
  row("wedge → replica out of the router", med((t) => t.faultToUnroutedMs), "ms", {
    note: `median of ${trials.length}; goal ≤ ${GOAL_OUT_OF_ROUTING_MS} ms = 3 × (healthCheckPeriodS ${PERIOD_S} + healthCheckTimeoutS ${TIMEOUT_S}): ${met("outOfRouting")}`,
  }),
  row("out of the router → replacement running", med((t) => (t.faultToUnroutedMs === null || t.faultToReplacementRunningMs === null ? null : t.faultToReplacementRunningMs - t.faultToUnroutedMs)), "ms", {
    baseline: coldMs,
    note: `median of ${trials.length}; baseline: replica cold start (deploy → running) under the same client load`,
  }),
  row("wedge → replacement running", med((t) => t.faultToReplacementRunningMs), "ms", {
    note: `median of ${trials.length}; goal ≤ ${GOAL_OUT_OF_ROUTING_MS} ms + that trial's cold start: ${met("replacement")}`,
  }),
  row("failed requests per wedge (on the wedged replica)", med((t) => t.failed), "requests", {
    note: `at most maxOngoingRequests = 1; ${CLIENTS} closed-loop clients`,
  }),
  row("requests lost that had not reached it", Math.max(...trials.map((t) => t.failedNotReplicaDied)), "requests", { note: "must be 0" }),
  row("requests served while recovering", med((t) => t.requestsDuringRecovery), "requests", { note: "by the other replica, then both" }),
];
for (const r of rows) console.log(`${r.metric}: ${r.value} ${r.unit}${r.ratio != null ? ` (${r.ratio}× cold start)` : ""} — ${r.note ?? ""}`);
await emitResultAndExit({
  benchmark: "wedge-recovery",
  rows,
  details: {
    trials,
    coldStartMs: cold,
    clients: CLIENTS,
    workMs: WORK_MS,
    healthCheckPeriodS: PERIOD_S,
    healthCheckTimeoutS: TIMEOUT_S,
    goalOutOfRoutingMs: GOAL_OUT_OF_ROUTING_MS,
    goals,
  },
  ...(QUICK ? { quick: true } : {}),
});
