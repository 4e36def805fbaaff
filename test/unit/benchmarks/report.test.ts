import { describe, expect, it } from "vitest";
import { formatResultLine, isQuick, lastLine, parseResultLine, resultShapeProblem, row } from "../../../benchmarks/lib/report.ts";

describe("row", () => {
  it("computes the ratio against the baseline", () => {
    expect(row("rps c=1", 900, "req/s", { baseline: 1200 })).toEqual({ metric: "rps c=1", value: 900, unit: "req/s", baseline: 1200, ratio: 0.75 });
  });
  it("has no baseline or ratio keys without a baseline, and keeps the note", () => {
    expect(row("lost", 0, "requests", { note: "must be 0" })).toEqual({ metric: "lost", value: 0, unit: "requests", note: "must be 0" });
  });
  it("turns a non-finite value into null and a zero baseline into a null ratio", () => {
    expect(row("x", Number.NaN, "ms", { baseline: 0 })).toEqual({ metric: "x", value: null, unit: "ms", baseline: 0, ratio: null });
  });
  it("rounds to 4 significant digits by default", () => {
    expect(row("x", 1234.5678, "ms").value).toBe(1235);
  });
});

describe("the result line", () => {
  const result = { benchmark: "overload", rows: [row("503 share", 0.5, "fraction", { baseline: 0.25 })] };

  it("round-trips through formatResultLine and parseResultLine as the last line", () => {
    const stdout = `some human output\n{"not": "it"}\n${formatResultLine(result)}\n\n`;
    expect(parseResultLine(stdout)).toEqual({ ok: true, result });
  });

  it("writes NaN and Infinity as null", () => {
    const line = formatResultLine({ benchmark: "b", rows: [{ metric: "m", value: Number.NaN, unit: "ms", ratio: Number.POSITIVE_INFINITY }] });
    expect(JSON.parse(line).rows[0]).toEqual({ metric: "m", value: null, unit: "ms", ratio: null });
  });

  it.each([
    ["", "no output on stdout"],
    ["done.\n", "last stdout line is not JSON"],
    ['{"benchmark":"x","rows":[]}\ntrailing text', "last stdout line is not JSON"],
    ["[1,2]", "result is not a JSON object"],
    ['{"rows":[]}', 'result has no "benchmark" name'],
    ['{"benchmark":"x"}', 'result has no "rows" array'],
    ['{"benchmark":"x","rows":[{"metric":"m","value":"1","unit":"ms"}]}', "rows[0].value is not a number or null"],
    ['{"benchmark":"x","rows":[{"metric":"m","value":1}]}', "rows[0].unit is not a string"],
    ['{"benchmark":"x","rows":[{"metric":"m","value":1,"unit":"ms","ratio":"2x"}]}', "rows[0].ratio is not a number"],
  ])("rejects %j: %s", (stdout, reason) => {
    expect(parseResultLine(stdout)).toEqual({ ok: false, reason });
  });

  it("accepts null values and extra fields", () => {
    expect(resultShapeProblem({ benchmark: "x", rows: [{ metric: "m", value: null, unit: "ms" }], details: { a: 1 } })).toBeUndefined();
  });

  it("lastLine skips blank lines and CRLF endings", () => {
    expect(lastLine("a\r\nb\r\n\r\n  \n")).toBe("b");
  });
});

describe("isQuick", () => {
  it("reads BENCH_QUICK", () => {
    expect(isQuick({ BENCH_QUICK: "1" })).toBe(true);
    expect(isQuick({ BENCH_QUICK: "0" })).toBe(false);
    expect(isQuick({})).toBe(false);
  });
});
