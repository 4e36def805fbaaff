import { describe, expect, it } from "vitest";
import { median, percentile, ratio, roundSig, summarize } from "../../../benchmarks/lib/stats.ts";

describe("percentile (nearest rank)", () => {
  it.each([
    [[5, 1, 4, 2, 3], 50, 3],
    [[5, 1, 4, 2, 3], 0, 1],
    [[5, 1, 4, 2, 3], 100, 5],
    [[1, 2, 3, 4], 50, 2],
    [[1, 2, 3, 4], 75, 3],
    [[1, 2, 3, 4], 76, 4],
    [[7], 99, 7],
  ])("percentile(%j, %d) = %d", (samples, p, expected) => {
    expect(percentile(samples, p)).toBe(expected);
  });

  it("p99 of 1..1000 is 990 and p50 is 500", () => {
    const xs = Array.from({ length: 1000 }, (_, i) => 1000 - i);
    expect(percentile(xs, 99)).toBe(990);
    expect(percentile(xs, 50)).toBe(500);
  });

  it("is NaN for no samples and rejects p outside 0..100", () => {
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 101)).toThrow(/p must be between 0 and 100/);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });

  it("does not reorder the caller's array", () => {
    const xs = [3, 1, 2];
    percentile(xs, 50);
    expect(xs).toEqual([3, 1, 2]);
  });
});

describe("summarize", () => {
  it("gives count, min, mean, percentiles and max", () => {
    expect(summarize([10, 30, 20, 40])).toEqual({ count: 4, min: 10, mean: 25, p50: 20, p90: 40, p99: 40, max: 40 });
  });
  it("is all NaN (count 0) when empty", () => {
    const s = summarize([]);
    expect(s.count).toBe(0);
    expect(s.p50).toBeNaN();
  });
});

describe("ratio", () => {
  it("divides value by baseline", () => {
    expect(ratio(150, 100)).toBe(1.5);
  });
  it.each([
    [null, 1],
    [1, null],
    [1, 0],
    [Number.NaN, 1],
    [1, Number.POSITIVE_INFINITY],
    [undefined, 2],
  ])("is null for %s / %s", (v, b) => {
    expect(ratio(v, b)).toBeNull();
  });
});

describe("median and roundSig", () => {
  it("median of three runs is the middle one", () => {
    expect(median([9, 1, 5])).toBe(5);
  });
  it("rounds to significant digits", () => {
    expect(roundSig(123456, 3)).toBe(123000);
    expect(roundSig(0.0012345, 2)).toBe(0.0012);
    expect(roundSig(0)).toBe(0);
    expect(roundSig(Number.NaN)).toBeNaN();
  });
});
