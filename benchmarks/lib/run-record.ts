// The JSON file one `npm run bench` writes (benchmarks/results/latest.json): the machine, when,
// and each script's outcome with its rows. Versioned by `schema` so later runs can still be
// compared with older files.

import type { ScriptOutcome } from "./child.ts";
import type { MachineInfo } from "./machine.ts";
import type { BenchResult } from "./report.ts";

export const RUN_SCHEMA = "stingray-bench/1";

export interface BenchmarkRecord {
  name: string;
  script: string;
  status: ScriptOutcome["status"];
  exitCode: number | null;
  signal: string | null;
  durationS: number;
  budgetS: number;
  result?: BenchResult;
  /** Why there is no result (unparsed, timeout, spawn error). */
  reason?: string;
  /** Last output lines, kept only when the script did not succeed. */
  tail?: string;
}

export interface RunRecord {
  schema: typeof RUN_SCHEMA;
  startedAt: string;
  finishedAt: string;
  durationS: number;
  quick: boolean;
  machine: MachineInfo;
  git?: { commit: string; dirty: boolean };
  benchmarks: BenchmarkRecord[];
}

export function toBenchmarkRecord(outcome: ScriptOutcome, budgetS: number): BenchmarkRecord {
  const rec: BenchmarkRecord = {
    name: outcome.name,
    script: outcome.script,
    status: outcome.status,
    exitCode: outcome.exitCode,
    signal: outcome.signal,
    durationS: outcome.durationS,
    budgetS,
  };
  if (outcome.result) rec.result = outcome.result;
  if (outcome.reason) rec.reason = outcome.reason;
  if (outcome.status !== "ok" || (outcome.exitCode !== 0 && outcome.exitCode !== null)) rec.tail = outcome.tail;
  return rec;
}

/** Whether `value` looks like a RunRecord this code can read (for --compare with old files). */
export function isRunRecord(value: unknown): value is RunRecord {
  if (typeof value !== "object" || value === null) return false;
  const r = value as Record<string, unknown>;
  return r.schema === RUN_SCHEMA && Array.isArray(r.benchmarks);
}
