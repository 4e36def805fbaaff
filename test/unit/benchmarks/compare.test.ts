import { describe, expect, it } from "vitest";
import { compareRuns, formatChanges } from "../../../benchmarks/lib/compare.ts";
import { isRunRecord, RUN_SCHEMA, type RunRecord } from "../../../benchmarks/lib/run-record.ts";
import { describeMachine } from "../../../benchmarks/lib/machine.ts";

function run(rows: Array<{ benchmark: string; metric: string; value: number | null; ratio?: number }>): RunRecord {
  const byBench = new Map<string, RunRecord["benchmarks"][number]>();
  for (const r of rows) {
    let b = byBench.get(r.benchmark);
    if (!b) {
      b = { name: r.benchmark, script: `${r.benchmark}.ts`, status: "ok", exitCode: 0, signal: null, durationS: 1, budgetS: 10, result: { benchmark: r.benchmark, rows: [] } };
      byBench.set(r.benchmark, b);
    }
    b.result!.rows.push({ metric: r.metric, value: r.value, unit: "ms", ...(r.ratio === undefined ? {} : { baseline: 1, ratio: r.ratio }) });
  }
  return { schema: RUN_SCHEMA, startedAt: "", finishedAt: "", durationS: 1, quick: false, machine: describeMachine(), benchmarks: [...byBench.values()] };
}

describe("compareRuns", () => {
  it("compares ratios when both runs have them, values otherwise, and skips unmatched metrics", () => {
    const before = run([
      { benchmark: "a", metric: "p50", value: 10, ratio: 2 },
      { benchmark: "a", metric: "lost", value: 4 },
      { benchmark: "a", metric: "gone", value: 1 },
    ]);
    const after = run([
      { benchmark: "a", metric: "p50", value: 50, ratio: 1.5 },
      { benchmark: "a", metric: "lost", value: 5 },
      { benchmark: "b", metric: "new", value: 1 },
    ]);
    expect(compareRuns(before, after)).toEqual([
      { benchmark: "a", metric: "p50", unit: "×", basis: "ratio", before: 2, after: 1.5, change: -0.25 },
      { benchmark: "a", metric: "lost", unit: "ms", basis: "value", before: 4, after: 5, change: 0.25 },
    ]);
  });

  it("skips a zero or missing before value", () => {
    expect(compareRuns(run([{ benchmark: "a", metric: "m", value: 0 }]), run([{ benchmark: "a", metric: "m", value: 3 }]))).toEqual([]);
    expect(compareRuns(run([{ benchmark: "a", metric: "m", value: null }]), run([{ benchmark: "a", metric: "m", value: 3 }]))).toEqual([]);
  });

  it("formats changes with a signed percentage", () => {
    const text = formatChanges(compareRuns(run([{ benchmark: "a", metric: "m", value: 4 }]), run([{ benchmark: "a", metric: "m", value: 5 }])));
    expect(text).toBe("a  m  value 4 → 5  (+25.0%)");
    expect(formatChanges([])).toBe("(no metrics in common)");
  });
});

describe("isRunRecord", () => {
  it("accepts this schema only", () => {
    expect(isRunRecord(run([]))).toBe(true);
    expect(isRunRecord({ schema: "other", benchmarks: [] })).toBe(false);
    expect(isRunRecord(null)).toBe(false);
  });
});
