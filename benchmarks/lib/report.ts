// The result convention between a benchmark script and `npm run bench` (benchmarks/run-all.ts):
// a script prints whatever human output it likes, and its LAST stdout line is one JSON object
//   {"benchmark": name, "rows": [{ metric, value, unit, baseline?, ratio?, note? }], ...}
// `emitResult` writes that line; `parseResultLine` reads it back (and says why when it can't), so
// run-all never has to trust a script's output shape.

import { ratio as ratioOf, roundSig } from "./stats.ts";

export interface BenchRow {
  metric: string;
  /** null when the measurement could not be taken (the note says why). */
  value: number | null;
  unit: string;
  /** The same metric measured on the baseline in the same run. */
  baseline?: number | null;
  /** value / baseline. */
  ratio?: number | null;
  note?: string;
}

export interface BenchResult {
  benchmark: string;
  rows: BenchRow[];
  /** Anything else worth keeping in the JSON (settings, raw numbers). Not printed in the table. */
  details?: Record<string, unknown>;
  /** Set when the script ran in its short smoke mode (BENCH_QUICK=1). */
  quick?: boolean;
}

/** Builds a row, computing the ratio from value and baseline and rounding for display. */
export function row(metric: string, value: number | null, unit: string, extra: { baseline?: number | null; note?: string; digits?: number } = {}): BenchRow {
  const digits = extra.digits ?? 4;
  const out: BenchRow = { metric, value: value === null || !Number.isFinite(value) ? null : roundSig(value, digits), unit };
  if (extra.baseline !== undefined) {
    out.baseline = extra.baseline === null || !Number.isFinite(extra.baseline) ? null : roundSig(extra.baseline, digits);
    const r = ratioOf(value, extra.baseline);
    out.ratio = r === null ? null : roundSig(r, 3);
  }
  if (extra.note !== undefined) out.note = extra.note;
  return out;
}

/** Serializes a result as the single line run-all looks for (NaN and Infinity become null). */
export function formatResultLine(result: BenchResult): string {
  return JSON.stringify(result, (_key, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v));
}

/**
 * Prints the result as the script's last stdout line and resolves once it is flushed. Call it
 * last: anything printed to stdout afterwards would hide the result from run-all.
 */
export function emitResult(result: BenchResult): Promise<void> {
  const line = formatResultLine(result) + "\n";
  return new Promise((resolve) => {
    // The callback fires once the data reached the pipe, so an exit right after loses nothing.
    process.stdout.write(line, () => resolve());
  });
}

/** `emitResult`, then exit: benchmarks may leave sockets or threads behind on purpose (a killed replica). */
export async function emitResultAndExit(result: BenchResult, code = 0): Promise<never> {
  await emitResult(result);
  process.exit(code);
}

export type ParseOutcome = { ok: true; result: BenchResult } | { ok: false; reason: string };

/** The last non-empty line of a script's stdout. */
export function lastLine(stdout: string): string {
  const lines = stdout.split(/\r?\n/);
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i]!.trim();
    if (l !== "") return l;
  }
  return "";
}

/** Parses the last stdout line of a script; never throws. */
export function parseResultLine(stdout: string): ParseOutcome {
  const line = lastLine(stdout);
  if (line === "") return { ok: false, reason: "no output on stdout" };
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return { ok: false, reason: "last stdout line is not JSON" };
  }
  const problem = resultShapeProblem(parsed);
  if (problem) return { ok: false, reason: problem };
  return { ok: true, result: parsed as BenchResult };
}

/** Why `value` is not a BenchResult, or undefined when it is one. */
export function resultShapeProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "result is not a JSON object";
  const r = value as Record<string, unknown>;
  if (typeof r.benchmark !== "string" || r.benchmark === "") return 'result has no "benchmark" name';
  if (!Array.isArray(r.rows)) return 'result has no "rows" array';
  for (const [i, item] of r.rows.entries()) {
    if (typeof item !== "object" || item === null) return `rows[${i}] is not an object`;
    const x = item as Record<string, unknown>;
    if (typeof x.metric !== "string") return `rows[${i}].metric is not a string`;
    if (x.value !== null && typeof x.value !== "number") return `rows[${i}].value is not a number or null`;
    if (typeof x.unit !== "string") return `rows[${i}].unit is not a string`;
    for (const k of ["baseline", "ratio"] as const) {
      if (x[k] !== undefined && x[k] !== null && typeof x[k] !== "number") return `rows[${i}].${k} is not a number`;
    }
    if (x.note !== undefined && typeof x.note !== "string") return `rows[${i}].note is not a string`;
  }
  return undefined;
}

/** Whether the script was asked for its short smoke run. */
export function isQuick(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.BENCH_QUICK === "1" || env.BENCH_QUICK === "true";
}
