import { describe, expect, it } from "vitest";
import { formatNumber, formatRatio, renderMarkdownTable, renderTextTable } from "../../../benchmarks/lib/table.ts";
import type { BenchResult } from "../../../benchmarks/lib/report.ts";

const results: BenchResult[] = [
  {
    benchmark: "mcp-throughput",
    rows: [
      { metric: "rps c=16 (1 replica)", value: 1234.5, unit: "req/s", baseline: 2000, ratio: 0.617 },
      { metric: "p99 c=16", value: 12.345, unit: "ms", baseline: 8, ratio: 1.54, note: "a | b" },
    ],
  },
  { benchmark: "crash-recovery", rows: [{ metric: "requests lost", value: 0, unit: "requests" }] },
];

describe("formatNumber", () => {
  it.each([
    [12345.6, "12,346"],
    [123.4, "123"],
    [12.34, "12.3"],
    [10.0, "10"],
    [1.5, "1.5"],
    [0.01234, "0.012"],
    [0, "0"],
    [-2.5, "-2.5"],
    [null, "—"],
    [Number.NaN, "—"],
  ])("%s → %s", (v, s) => {
    expect(formatNumber(v)).toBe(s);
  });
  it("formats ratios with a times sign", () => {
    expect(formatRatio(0.617)).toBe("0.62×");
    expect(formatRatio(null)).toBe("—");
  });
});

describe("renderTextTable", () => {
  const text = renderTextTable(results, [{ benchmark: "overload", status: "unparsed", detail: "last stdout line is not JSON (exit 1)" }]);
  const lines = text.split("\n");

  it("has a header, a rule and one line per row plus one per failed script", () => {
    expect(lines).toHaveLength(2 + 3 + 1);
    expect(lines[0]).toMatch(/^benchmark\s+metric\s+value\s+unit\s+baseline\s+ratio\s+note$/);
    expect(lines[1]).toMatch(/^-+( +-+){6}$/);
  });

  it("names each benchmark once and right-aligns numbers in fixed columns", () => {
    expect(lines[2]!.startsWith("mcp-throughput")).toBe(true);
    expect(lines[3]!.startsWith(" ")).toBe(true);
    const ratioEnd = (l: string, r: string) => l.indexOf(r) + r.length;
    expect(ratioEnd(lines[2]!, "0.62×")).toBe(ratioEnd(lines[3]!, "1.54×"));
    expect(lines[2]).toContain("1,235");
  });

  it("shows a failed script with its status and reason", () => {
    expect(lines[5]).toMatch(/^overload\s+\(unparsed\)\s+last stdout line is not JSON \(exit 1\)$/);
  });
});

describe("renderMarkdownTable", () => {
  it("is a GFM table with escaped pipes and right-aligned numeric columns", () => {
    const md = renderMarkdownTable(results).split("\n");
    expect(md[0]).toBe("| benchmark | metric | value | unit | baseline | ratio | note |");
    expect(md[1]).toBe("|---|---|---:|---|---:|---:|---|");
    expect(md[3]).toBe("|  | p99 c=16 | 12.3 | ms | 8 | 1.54× | a \\| b |");
    expect(md[4]).toBe("| crash-recovery | requests lost | 0 | requests |  |  |  |");
  });
});
