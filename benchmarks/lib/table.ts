// Renders benchmark results as one plain-text table (what `npm run bench` prints) and as a
// Markdown table (what goes into the README's Performance section). Pure: strings in, string out.

import type { BenchResult } from "./report.ts";

/** A short, readable number: thousands separators for big values, 3 significant digits below. */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString("en-US");
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return trimZeros(value.toFixed(1));
  if (abs >= 1) return trimZeros(value.toFixed(2));
  if (abs === 0) return "0";
  return trimZeros(value.toPrecision(2));
}

function trimZeros(s: string): string {
  return s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s;
}

export function formatRatio(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  return `${formatNumber(value)}×`;
}

/** One line of the printed table. `status` lines stand for a benchmark that produced no rows. */
export interface TableLine {
  benchmark: string;
  metric: string;
  value: string;
  unit: string;
  baseline: string;
  ratio: string;
  note: string;
}

const HEADERS: TableLine = {
  benchmark: "benchmark",
  metric: "metric",
  value: "value",
  unit: "unit",
  baseline: "baseline",
  ratio: "ratio",
  note: "note",
};
const COLUMNS = Object.keys(HEADERS) as Array<keyof TableLine>;
const RIGHT_ALIGNED = new Set<keyof TableLine>(["value", "baseline", "ratio"]);

/** A benchmark that did not produce a result line: shown as one row with its status. */
export interface FailedEntry {
  benchmark: string;
  status: string;
  detail: string;
}

export function tableLines(results: readonly BenchResult[], failed: readonly FailedEntry[] = []): TableLine[] {
  const lines: TableLine[] = [];
  for (const r of results) {
    r.rows.forEach((x, i) => {
      lines.push({
        benchmark: i === 0 ? r.benchmark : "",
        metric: x.metric,
        value: formatNumber(x.value),
        unit: x.unit,
        baseline: x.baseline === undefined ? "" : formatNumber(x.baseline),
        ratio: x.ratio === undefined ? "" : formatRatio(x.ratio),
        note: x.note ?? "",
      });
    });
    if (r.rows.length === 0) {
      lines.push({ benchmark: r.benchmark, metric: "(no rows)", value: "", unit: "", baseline: "", ratio: "", note: "" });
    }
  }
  for (const f of failed) {
    lines.push({ benchmark: f.benchmark, metric: `(${f.status})`, value: "", unit: "", baseline: "", ratio: "", note: f.detail });
  }
  return lines;
}

/** Fixed-width text table with a header rule; numbers right-aligned. */
export function renderTextTable(results: readonly BenchResult[], failed: readonly FailedEntry[] = []): string {
  const lines = tableLines(results, failed);
  const width = Object.fromEntries(
    COLUMNS.map((c) => [c, Math.max(HEADERS[c].length, ...lines.map((l) => l[c].length))]),
  ) as Record<keyof TableLine, number>;
  const fmt = (l: TableLine) =>
    COLUMNS.map((c) => (RIGHT_ALIGNED.has(c) ? l[c].padStart(width[c]) : l[c].padEnd(width[c])))
      .join("  ")
      .trimEnd();
  const rule = COLUMNS.map((c) => "-".repeat(width[c])).join("  ");
  return [fmt(HEADERS), rule, ...lines.map(fmt)].join("\n");
}

/** GitHub-flavoured Markdown table (pipes in cells escaped). */
export function renderMarkdownTable(results: readonly BenchResult[], failed: readonly FailedEntry[] = []): string {
  const esc = (s: string) => s.replace(/\|/g, "\\|");
  const lines = tableLines(results, failed);
  const head = `| ${COLUMNS.map((c) => HEADERS[c]).join(" | ")} |`;
  const rule = `|${COLUMNS.map((c) => (RIGHT_ALIGNED.has(c) ? "---:" : "---")).join("|")}|`;
  return [head, rule, ...lines.map((l) => `| ${COLUMNS.map((c) => esc(l[c])).join(" | ")} |`)].join("\n");
}
