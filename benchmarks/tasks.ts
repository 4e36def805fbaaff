// MCP Tasks: what running a tool as a task costs, and how fast any replica answers tasks/get.
// Two replicas of one MCP deployment behind the proxy (the task store lives in the main thread;
// every tasks/* request is an upcall from the replica that got it). The client speaks the Tasks
// wire over HTTP (test/fixtures/mcp-tasks-client.ts), one request at a time per client.
//
// Measured, against a baseline in the same run:
// - the same trivial tool called directly (tools/call → result) vs as a task: tools/call →
//   CreateTaskResult, and tools/call → tasks/get first reporting `completed` (polled back to back);
// - tasks/get throughput over both replicas with 16 closed-loop clients reading 200 tasks, vs the
//   direct tool's tools/call throughput at the same concurrency.
//
//   npx tsx benchmarks/tasks.ts        BENCH_QUICK=1 for a short run
//
// The last stdout line is the JSON result that benchmarks/run-all reads.

import { bind } from "../src/deployments/decorator.ts";
import { createLogger } from "../src/observability/logger.ts";
import { Runtime } from "../src/runtime/runtime.ts";
import { TaskBenchMcp } from "../test/fixtures/ingress/task-apps.ts";
import { TasksClient } from "../test/fixtures/mcp-tasks-client.ts";
import { Budget } from "./lib/budget.ts";
import { emitResultAndExit, row } from "./lib/report.ts";
import { median } from "./lib/stats.ts";

const QUICK = process.env.BENCH_QUICK === "1" || process.env.BENCH_QUICK === "true";
const SEQUENTIAL = QUICK ? 100 : 400;
const CLIENTS = 16;
const TASKS_READ = 200;
const WINDOW_MS = QUICK ? 1_500 : 4_000;
const budget = Budget.fromEnv();

const runtime = await Runtime.start({ http: { host: "127.0.0.1", port: 0 }, numCpus: 4, logger: createLogger({ level: "error" }) });
await runtime.deploy(bind(TaskBenchMcp), { name: "tasks" });
const client = new TasksClient(`${runtime.address}/mcp`);

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** Calls `echo_task` and polls tasks/get back to back until it reports completed. */
async function taskToCompleted(n: number): Promise<{ createMs: number; completedMs: number; polls: number }> {
  const t0 = performance.now();
  const created = await client.callTool("echo_task", { n });
  const createMs = performance.now() - t0;
  let polls = 0;
  for (;;) {
    polls++;
    const t = await client.get(created.taskId as string);
    if (t.status === "completed") break;
    if (t.status !== "working") throw new Error(`task ended ${t.status}`);
  }
  return { createMs, completedMs: performance.now() - t0, polls };
}

/** Closed loop: `clients` callers repeat `op` for `windowMs`; returns completed ops per second. */
async function throughput(clients: number, windowMs: number, op: (i: number) => Promise<unknown>): Promise<number> {
  const end = performance.now() + windowMs;
  let done = 0;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = c; performance.now() < end; i += clients) {
        await op(i);
        done++;
      }
    }),
  );
  return (done * 1000) / windowMs;
}

// Warm-up: module loads, JIT, both replicas' first requests.
for (let i = 0; i < 40; i++) {
  await client.callTool("echo", { n: i });
  await taskToCompleted(i);
}

const direct: number[] = [];
const create: number[] = [];
const completed: number[] = [];
const polls: number[] = [];
for (let i = 0; i < SEQUENTIAL && budget.allows(5_000); i++) {
  direct.push(await timed(() => client.callTool("echo", { n: i })));
  const t = await taskToCompleted(i);
  create.push(t.createMs);
  completed.push(t.completedMs);
  polls.push(t.polls);
}

const ids: string[] = [];
for (let i = 0; i < TASKS_READ; i++) ids.push((await client.callTool("echo_task", { n: i })).taskId as string);
const directRps = await throughput(CLIENTS, WINDOW_MS, (i) => client.callTool("echo", { n: i }));
const getRps = await throughput(CLIENTS, WINDOW_MS, (i) => client.get(ids[i % ids.length]!));

await runtime.shutdown();

const medDirect = median(direct);
const rows = [
  row("tools/call → CreateTaskResult", median(create), "ms", { baseline: medDirect, note: `median of ${create.length}; baseline: the same tool called directly` }),
  row("tools/call → tasks/get says completed", median(completed), "ms", {
    baseline: medDirect,
    note: `median of ${completed.length}, polling back to back (median ${median(polls)} polls)`,
  }),
  row("tasks/get throughput, 2 replicas", getRps, "req/s", {
    baseline: directRps,
    note: `${CLIENTS} closed-loop clients over ${TASKS_READ} tasks; baseline: direct tools/call at the same concurrency`,
  }),
];
for (const r of rows) console.log(`${r.metric}: ${r.value} ${r.unit} (baseline ${r.baseline}, ${r.ratio}×)`);
await emitResultAndExit({
  benchmark: "tasks",
  rows,
  details: { directMs: medDirect, sequential: create.length, clients: CLIENTS, windowMs: WINDOW_MS },
  ...(QUICK ? { quick: true } : {}),
});
