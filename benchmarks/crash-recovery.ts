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
import { ErrorCode } from "../src/errors.ts";
import { createLogger } from "../src/observability/logger.ts";
import { Runtime } from "../src/runtime/runtime.ts";
import { ColdStart, Killable } from "../test/fixtures/serve/bench-apps.ts";
import { Budget } from "./lib/budget.ts";
import { emitResultAndExit, row } from "./lib/report.ts";
import { median } from "./lib/stats.ts";

const QUICK = process.env.BENCH_QUICK === "1" || process.env.BENCH_QUICK === "true";
const TRIALS = QUICK ? 1 : 3;
const CLIENTS = 16; // 2 replicas × 4 slots, the rest queued in the router
const WORK_MS = 20;
const MAX_ONGOING = 4;
const budget = Budget.fromEnv();

async function until(check: () => boolean, timeoutMs: number): Promise<number | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return Date.now();
    await new Promise((r) => setTimeout(r, 2));
  }
  return null;
}

interface Trial {
  deathToUnroutedMs: number | null;
  deathToReplacementRunningMs: number | null;
  requests: number;
  failed: number;
  failedNotReplicaDied: number;
  requestsDuringRecovery: number;
}

async function trial(runtime: Runtime, i: number): Promise<Trial> {
  const name = `crash${i}`;
  const handle = await runtime.deploy(bind(Killable), { name, routePrefix: null });
  const router = runtime.controller.router({ app: name, deployment: "Killable" });
  const status = () => runtime.status().applications.find((a) => a.name === name)!.deployments[0]!;
  let stop = false;
  let ok = 0;
  let failed = 0;
  let otherFailures = 0;
  const client = async () => {
    while (!stop) {
      try {
        await handle.work.remote(WORK_MS);
        ok++;
      } catch (err) {
        failed++;
        if ((err as { code?: string }).code !== ErrorCode.REPLICA_DIED) otherFailures++;
      }
    }
  };
  const clients = Array.from({ length: CLIENTS }, client);
  await until(() => ok > 100, 10_000);
  const { replicaId, atMs } = await handle.dieIn.remote(30);
  const unroutedAt = await until(() => !router.hasReplica(replicaId as never), 10_000);
  const okAtDeath = ok;
  const runningAt = await until(() => status().restarts === 1 && (status().replicaStates.RUNNING ?? 0) === 2, 20_000);
  const duringRecovery = ok - okAtDeath;
  await until(() => ok > okAtDeath + 100, 5_000);
  stop = true;
  await Promise.all(clients);
  await runtime.delete(name);
  return {
    deathToUnroutedMs: unroutedAt === null ? null : Math.max(0, unroutedAt - atMs),
    deathToReplacementRunningMs: runningAt === null ? null : runningAt - atMs,
    requests: ok + failed,
    failed,
    failedNotReplicaDied: otherFailures,
    requestsDuringRecovery: duringRecovery,
  };
}

const runtime = await Runtime.start({ http: false, numCpus: 8, logger: createLogger({ level: "error" }) });
const cold: number[] = [];
const trials: Trial[] = [];
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

const med = (pick: (t: Trial) => number | null): number | null => {
  const v = trials.map(pick).filter((x): x is number => x !== null);
  return v.length === trials.length && v.length > 0 ? median(v) : null;
};
const coldMs = median(cold);
const rows = [
  row("death → replica out of the router", med((t) => t.deathToUnroutedMs), "ms", { note: `median of ${trials.length}` }),
  row("death → replacement running", med((t) => t.deathToReplacementRunningMs), "ms", {
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
