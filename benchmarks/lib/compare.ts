// Compares two benchmark runs metric by metric (same benchmark name and metric name), for
// `npm run bench -- --compare <file>` and for the automatic comparison with the previous run.
// Ratios are the portable numbers (absolute times vary between machines), so when both runs have
// a ratio the change is reported on the ratio; otherwise on the value.

import type { RunRecord } from "./run-record.ts";

export interface MetricChange {
  benchmark: string;
  metric: string;
  unit: string;
  /** "ratio" when both runs have a ratio for this metric, else "value". */
  basis: "ratio" | "value";
  before: number;
  after: number;
  /** (after - before) / before, e.g. 0.1 = 10 % higher. */
  change: number;
}

export function compareRuns(before: RunRecord, after: RunRecord): MetricChange[] {
  const old = new Map<string, { value: number | null; ratio?: number | null }>();
  for (const b of before.benchmarks) {
    for (const r of b.result?.rows ?? []) old.set(`${b.result!.benchmark}\u0000${r.metric}`, { value: r.value, ratio: r.ratio });
  }
  const changes: MetricChange[] = [];
  for (const b of after.benchmarks) {
    if (!b.result) continue;
    for (const r of b.result.rows) {
      const prev = old.get(`${b.result.benchmark}\u0000${r.metric}`);
      if (!prev) continue;
      const useRatio = typeof prev.ratio === "number" && typeof r.ratio === "number";
      const beforeV = useRatio ? prev.ratio! : prev.value;
      const afterV = useRatio ? r.ratio! : r.value;
      if (typeof beforeV !== "number" || typeof afterV !== "number" || beforeV === 0) continue;
      changes.push({
        benchmark: b.result.benchmark,
        metric: r.metric,
        unit: useRatio ? "×" : r.unit,
        basis: useRatio ? "ratio" : "value",
        before: beforeV,
        after: afterV,
        change: (afterV - beforeV) / Math.abs(beforeV),
      });
    }
  }
  return changes;
}

/** Text lines like "mcp-throughput  rps c=16  ratio 0.81 → 0.92  (+13.6%)". */
export function formatChanges(changes: readonly MetricChange[]): string {
  if (changes.length === 0) return "(no metrics in common)";
  const w1 = Math.max(...changes.map((c) => c.benchmark.length));
  const w2 = Math.max(...changes.map((c) => c.metric.length));
  return changes
    .map((c) => {
      const pct = `${c.change >= 0 ? "+" : ""}${(c.change * 100).toFixed(1)}%`;
      return `${c.benchmark.padEnd(w1)}  ${c.metric.padEnd(w2)}  ${c.basis.padEnd(5)} ${fmt(c.before)} → ${fmt(c.after)}  (${pct})`;
    })
    .join("\n");
}

function fmt(v: number): string {
  return Number(v.toPrecision(3)).toString();
}
