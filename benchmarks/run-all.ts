// `npm run bench`: runs every benchmark script, one at a time, each in its own child process with
// a time budget, prints one table of results (ratios against each benchmark's own baseline), and
// writes the run as JSON (benchmarks/results/latest.json, the previous one kept as previous.json
// and compared against) plus the table as Markdown (latest.md) for the README.
//
//   npm run bench                       full suite (about 6 minutes on 2 cores)
//   npm run bench -- --quick            short smoke run (BENCH_QUICK=1 for every script)
//   npm run bench -- --only overload,cold-start
//   npm run bench -- --only cluster     every cluster-* benchmark (needs nats-server)
//   npm run bench -- --compare old.json --out /tmp/run.json
//
// Scripts run serially, never in parallel, because they measure. A script that crashes, overruns
// its budget or prints no result line is recorded with its status and output tail; the suite
// carries on.

import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { runScript } from "./lib/child.ts";
import { compareRuns, formatChanges } from "./lib/compare.ts";
import { describeMachine, machineSummary } from "./lib/machine.ts";
import type { BenchResult } from "./lib/report.ts";
import { isRunRecord, RUN_SCHEMA, toBenchmarkRecord, type BenchmarkRecord, type RunRecord } from "./lib/run-record.ts";
import { renderMarkdownTable, renderTextTable, type FailedEntry } from "./lib/table.ts";

interface Entry {
  name: string;
  script: string;
  /** Seconds the script may run before it is ended (full run; quick runs get less). */
  budgetS: number;
  what: string;
}

// Budgets (kill limits) add up to 985 s; a full run takes about 11 minutes (estimated; --only cluster about 3). Each script sizes its own
// phases to fit (BENCH_BUDGET_S).
const BENCHMARKS: Entry[] = [
  { name: "mcp-throughput", script: "benchmarks/mcp-throughput.ts", budgetS: 360, what: "MCP tools/call via stingray vs the bare SDK, 2025 and 2026 eras; tracing on vs off; JWT auth on vs off" },
  { name: "jwt-auth-cost", script: "benchmarks/jwt-auth-cost.ts", budgetS: 30, what: "proxy CPU per request for auth: static token vs JWT (cached, first seen)" },
  { name: "actor-roundtrip", script: "benchmarks/actor-roundtrip.ts", budgetS: 30, what: "handle call vs raw worker_threads" },
  { name: "autoscaling", script: "benchmarks/autoscaling.ts", budgetS: 45, what: "load step to replicas serving" },
  { name: "crash-recovery", script: "benchmarks/crash-recovery.ts", budgetS: 30, what: "replica killed under load" },
  { name: "wedge-recovery", script: "benchmarks/wedge-recovery.ts", budgetS: 75, what: "replica wedged in a busy loop under load" },
  { name: "cold-start", script: "benchmarks/cold-start.ts", budgetS: 80, what: "command to first tools/call; idle replica memory (TypeScript and JavaScript)" },
  { name: "overload", script: "benchmarks/overload.ts", budgetS: 35, what: "2x capacity: 503 + Retry-After, bounded latency" },
  { name: "cluster-calls", script: "benchmarks/cluster-calls.ts", budgetS: 60, what: "cluster mode: a call to a replica on another node (NATS) vs the local replica, handle and MCP" },
  { name: "cluster-capacity", script: "benchmarks/cluster-capacity.ts", budgetS: 90, what: "cluster mode: I/O-bound capacity on 3 nodes vs 1 node, one replica per node" },
  { name: "cluster-faults", script: "benchmarks/cluster-faults.ts", budgetS: 120, what: "cluster mode: kill -9 of a node and of the leader, SIGTERM, under load: detection, takeover, re-placement, calls failed" },
  { name: "tasks", script: "benchmarks/tasks.ts", budgetS: 30, what: "MCP Tasks: tools/call → task completed vs the tool called directly; tasks/get throughput over 2 replicas" },
];

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

function usage(): string {
  return [
    "usage: npm run bench -- [--quick] [--only a,b] [--out file.json] [--compare file.json] [--list]",
    "benchmarks: " + BENCHMARKS.map((b) => b.name).join(", "),
  ].join("\n");
}

function parseCli(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      out: { type: "string" },
      compare: { type: "string" },
      list: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  let selected = BENCHMARKS;
  if (values.only !== undefined) {
    const names = values.only.split(",").map((s) => s.trim()).filter(Boolean);
    // A name, or a group: "cluster" is every cluster-* benchmark.
    const matches = (b: Entry, n: string) => b.name === n || b.name.startsWith(`${n}-`);
    const unknown = names.filter((n) => !BENCHMARKS.some((b) => matches(b, n)));
    if (unknown.length > 0 || names.length === 0) {
      throw new Error(`--only: unknown benchmark ${unknown.map((u) => JSON.stringify(u)).join(", ") || "(empty)"}\n${usage()}`);
    }
    selected = BENCHMARKS.filter((b) => names.some((n) => matches(b, n)));
  }
  return {
    quick: values.quick!,
    selected,
    out: resolve(values.out ?? resolve(ROOT, "benchmarks/results/latest.json")),
    compare: values.compare === undefined ? undefined : resolve(values.compare),
    list: values.list!,
    help: values.help!,
  };
}

function gitInfo(): RunRecord["git"] {
  try {
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: ROOT, encoding: "utf8" }).trim() !== "";
    return { commit, dirty };
  } catch {
    return undefined;
  }
}

function readRun(path: string): RunRecord | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, "utf8"));
    return isRunRecord(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Compiles dist/ (npm run build) so cold-start measures the JavaScript app on the current code; the
 * build removes dist/ first, so a failed one leaves those rows "not measured", never stale.
 */
function buildPackage(): void {
  console.log("building dist/ (npm run build) for the JavaScript rows of cold-start");
  const built = spawnSync(process.execPath, [resolve(ROOT, "scripts/build.mjs")], { cwd: ROOT, stdio: "inherit" });
  if (built.status !== 0) console.log("warning: the build failed; cold-start measures TypeScript only");
}

async function main(): Promise<number> {
  let cli;
  try {
    cli = parseCli(process.argv.slice(2));
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  if (cli.help) {
    console.log(usage());
    return 0;
  }
  if (cli.list) {
    for (const b of BENCHMARKS) console.log(`${b.name.padEnd(16)} ${String(b.budgetS).padStart(3)} s  ${b.what}`);
    return 0;
  }

  const machine = describeMachine();
  const startedAt = new Date();
  console.log(`stingray benchmarks${cli.quick ? " (quick)" : ""} on ${machineSummary(machine)}`);
  if (machine.loadAvg1m > machine.cores * 0.5) {
    console.log(`warning: load average ${machine.loadAvg1m} on ${machine.cores} cores; numbers will be noisy`);
  }

  if (cli.selected.some((b) => b.name === "cold-start")) buildPackage();

  const records: BenchmarkRecord[] = [];
  for (const entry of cli.selected) {
    const budgetS = cli.quick ? Math.ceil(entry.budgetS * 0.6) : entry.budgetS;
    console.log(`\n▶ ${entry.name} — ${entry.what} (budget ${budgetS} s)`);
    if (!existsSync(resolve(ROOT, entry.script))) {
      console.log(`  missing: ${entry.script}`);
      records.push({ name: entry.name, script: entry.script, status: "spawn-error", exitCode: null, signal: null, durationS: 0, budgetS, reason: "script not found" });
      continue;
    }
    const outcome = await runScript({
      name: entry.name,
      script: entry.script,
      timeoutS: budgetS,
      cwd: ROOT,
      env: { ...process.env, BENCH_QUICK: cli.quick ? "1" : "0", BENCH_BUDGET_S: String(budgetS) },
      onLine: (line, stream) => {
        // The result line is for this runner; the table shows it.
        if (stream === "stdout" && line.startsWith('{"benchmark"')) return;
        console.log(`  │ ${line}`);
      },
    });
    const suffix = outcome.reason ? `: ${outcome.reason}` : "";
    console.log(`  ${outcome.status} in ${outcome.durationS} s (exit ${outcome.exitCode ?? outcome.signal})${suffix}`);
    records.push(toBenchmarkRecord(outcome, budgetS));
  }

  const finishedAt = new Date();
  const run: RunRecord = {
    schema: RUN_SCHEMA,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationS: Math.round((finishedAt.getTime() - startedAt.getTime()) / 100) / 10,
    quick: cli.quick,
    machine,
    git: gitInfo(),
    benchmarks: records,
  };

  const results: BenchResult[] = records.flatMap((r) => (r.result ? [r.result] : []));
  const failed: FailedEntry[] = records
    .filter((r) => r.status !== "ok")
    .map((r) => ({ benchmark: r.name, status: r.status, detail: (r.reason ?? "") + (r.exitCode ? ` (exit ${r.exitCode})` : "") }));
  const table = renderTextTable(results, failed);
  console.log(`\n${table}\n`);
  console.log(`${machineSummary(machine)} · ${run.durationS} s total${cli.quick ? " · quick run" : ""}`);

  // Keep the previous run next to the new one so each run can be compared with the last.
  const previousPath = resolve(dirname(cli.out), "previous.json");
  const previous = cli.compare ? readRun(cli.compare) : existsSync(cli.out) ? readRun(cli.out) : undefined;
  mkdirSync(dirname(cli.out), { recursive: true });
  if (!cli.compare && existsSync(cli.out) && previous) renameSync(cli.out, previousPath);
  writeFileSync(cli.out, JSON.stringify(run, null, 2) + "\n");
  const mdPath = cli.out.replace(/\.json$/, "") + ".md";
  writeFileSync(mdPath, markdownReport(run, results, failed));
  console.log(`results: ${cli.out}\ntable:   ${mdPath}`);

  if (previous) {
    console.log(`\nchange vs ${cli.compare ?? previousPath} (${previous.startedAt}${previous.quick ? ", quick" : ""}):`);
    console.log(formatChanges(compareRuns(previous, run)));
  }
  return records.every((r) => r.status === "ok") ? 0 : 1;
}

function markdownReport(run: RunRecord, results: BenchResult[], failed: FailedEntry[]): string {
  const m = run.machine;
  return [
    `Measured ${run.startedAt.slice(0, 10)} on ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform} ${m.osRelease} ${m.arch}` +
      ` (load average ${m.loadAvg1m} at start; commit ${run.git?.commit ?? "?"}${run.git?.dirty ? "+dirty" : ""}; ${run.durationS} s${run.quick ? ", quick run" : ""}).`,
    "",
    renderMarkdownTable(results, failed),
    "",
  ].join("\n");
}

process.exitCode = await main();
