// Autoscaling reaction time with the DEFAULT autoscaling settings: a load step on a deployment
// at 1 replica (min 1, max 4), then how long until the autoscaler raises the target, until an
// added replica runs, and until one has served a request; then, after the load stops, how long
// until it is back at 1 (the downscale delay, 5 s by default, dominates). Baselines, same run:
// replica cold starts (deploy → running) of one replica, and of three at once — the autoscaler
// asks for the 3 missing replicas in one step, and they start in parallel on the same cores.
// Cold start is the part of the reaction no policy can remove.
//
//   npx tsx benchmarks/autoscaling.ts          BENCH_QUICK=1 for one short trial
//
// The last stdout line is the JSON result that benchmarks/run-all reads.

import { bind, deploymentOf } from "../src/deployments/decorator.ts";
import { DEFAULT_AUTOSCALING } from "../src/deployments/options.ts";
import { createLogger } from "../src/observability/logger.ts";
import { Runtime } from "../src/runtime/runtime.ts";
import { AutoscaledWork, ColdStart } from "../test/fixtures/serve/bench-apps.ts";
import { Budget } from "./lib/budget.ts";
import { emitResultAndExit, row } from "./lib/report.ts";
import { median } from "./lib/stats.ts";

const QUICK = process.env.BENCH_QUICK === "1" || process.env.BENCH_QUICK === "true";
const TRIALS = QUICK ? 1 : 3;
const CLIENTS = 12; // closed-loop callers: 12 ongoing vs target 2 per replica → wants 4+ replicas
const WORK_MS = 50;
const budget = Budget.fromEnv();

/** Polls `check`; resolves with ms since `from` when it first holds, or null after `timeoutMs`. */
async function until(check: () => boolean, from: number, timeoutMs: number): Promise<number | null> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (check()) return performance.now() - from;
    await new Promise((r) => setTimeout(r, 5));
  }
  return null;
}

async function coldStartMs(runtime: Runtime, i: number, replicas: number): Promise<number> {
  const t0 = performance.now();
  const app = deploymentOf(ColdStart).options({ numReplicas: replicas }).bind();
  await runtime.deploy(app, { name: `cold${replicas}-${i}`, routePrefix: null });
  const ms = performance.now() - t0;
  await runtime.delete(`cold${replicas}-${i}`);
  return ms;
}

interface Trial {
  targetRaisedMs: number | null;
  secondRunningMs: number | null;
  newReplicaServedMs: number | null;
  maxReplicasRunningMs: number | null;
  backToOneMs: number | null;
}

async function trial(runtime: Runtime, i: number): Promise<Trial> {
  const name = `auto${i}`;
  const handle = await runtime.deploy(bind(AutoscaledWork), { name, routePrefix: null });
  const status = () => runtime.status().applications.find((a) => a.name === name)!.deployments[0]!;
  const first = await handle.work.remote(1);
  let stop = false;
  let newServedAt: number | null = null;
  const t0 = performance.now();
  const client = async () => {
    while (!stop) {
      const replica = await handle.work.remote(WORK_MS);
      if (replica !== first && newServedAt === null) newServedAt = performance.now() - t0;
    }
  };
  const clients = Array.from({ length: CLIENTS }, client);
  const targetRaisedMs = await until(() => status().targetReplicas > 1, t0, 15_000);
  const secondRunningMs = await until(() => (status().replicaStates.RUNNING ?? 0) >= 2, t0, 15_000);
  const maxReplicasRunningMs = await until(() => (status().replicaStates.RUNNING ?? 0) >= 4, t0, 15_000);
  await until(() => newServedAt !== null, t0, 5_000);
  stop = true;
  await Promise.all(clients);
  const t1 = performance.now();
  const backToOneMs = await until(() => status().targetReplicas === 1 && (status().replicaStates.RUNNING ?? 0) === 1, t1, 30_000);
  await runtime.delete(name);
  return { targetRaisedMs, secondRunningMs, newReplicaServedMs: newServedAt, maxReplicasRunningMs, backToOneMs };
}

const runtime = await Runtime.start({ http: false, numCpus: 8, logger: createLogger({ level: "warn" }) });
const cold: number[] = [];
const cold3: number[] = [];
const trials: Trial[] = [];
for (let i = 0; i < TRIALS; i++) {
  if (i > 0 && !budget.allows(15_000)) break;
  cold.push(await coldStartMs(runtime, i, 1));
  cold3.push(await coldStartMs(runtime, i, 3));
  trials.push(await trial(runtime, i));
  console.log(
    `trial ${i + 1}: cold start ${cold.at(-1)!.toFixed(0)} ms (3 at once: ${cold3.at(-1)!.toFixed(0)} ms), ${JSON.stringify(trials.at(-1))}`,
  );
}
await runtime.shutdown();

const med = (pick: (t: Trial) => number | null): number | null => {
  const v = trials.map(pick).filter((x): x is number => x !== null);
  return v.length === trials.length && v.length > 0 ? median(v) : null;
};
const coldMs = median(cold);
const cold3Ms = median(cold3);
const toS = (ms: number | null) => (ms === null ? null : ms / 1000);
const note = `median of ${trials.length}; baseline: 1 replica cold start (deploy → running)`;
const note3 = `median of ${trials.length}; baseline: 3 replicas cold-started at once`;
const rows = [
  row("load step → target raised", toS(med((t) => t.targetRaisedMs)), "s", { note: `upscaleDelayS ${DEFAULT_AUTOSCALING.upscaleDelayS}, lookBackPeriodS ${DEFAULT_AUTOSCALING.lookBackPeriodS}` }),
  row("load step → 2nd replica running", toS(med((t) => t.secondRunningMs)), "s", { baseline: toS(coldMs), note }),
  row("load step → new replica served a request", toS(med((t) => t.newReplicaServedMs)), "s", { baseline: toS(coldMs), note }),
  row("load step → 4 replicas running", toS(med((t) => t.maxReplicasRunningMs)), "s", { baseline: toS(cold3Ms), note: note3 }),
  row("load stop → back to 1 replica", toS(med((t) => t.backToOneMs)), "s", { note: `downscaleDelayS ${DEFAULT_AUTOSCALING.downscaleDelayS}` }),
];
for (const r of rows) console.log(`${r.metric}: ${r.value} ${r.unit}${r.ratio != null ? ` (${r.ratio}× cold start)` : ""}`);
await emitResultAndExit({
  benchmark: "autoscaling",
  rows,
  details: { trials, coldStartMs: cold, coldStart3Ms: cold3, clients: CLIENTS, workMs: WORK_MS, defaults: DEFAULT_AUTOSCALING },
  ...(QUICK ? { quick: true } : {}),
});
