import { describe, expect, it } from "vitest";
import { RingBuffer, RollingWindow } from "../../../src/observability/rolling-window.ts";

function fakeClock(start = 1_000_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe("RollingWindow", () => {
  it("counts requests and errors in the bucket of their time", () => {
    const clock = fakeClock();
    const w = new RollingWindow({ windowS: 60, bucketS: 5, clock: clock.now });
    w.record(10, false);
    w.record(20, true);
    clock.advance(5_000);
    w.record(30, false);
    const series = w.series();
    expect(series).toHaveLength(12);
    expect(series.at(-1)).toMatchObject({ requests: 1, errors: 0 });
    expect(series.at(-2)).toMatchObject({ requests: 2, errors: 1 });
    expect(series.slice(0, -2).every((p) => p.requests === 0 && p.p50Ms === null)).toBe(true);
    // Bucket times are consecutive and aligned to the bucket width.
    for (let i = 1; i < series.length; i++) expect(series[i]!.t - series[i - 1]!.t).toBe(5_000);
    expect(series.at(-1)!.t % 5_000).toBe(0);
  });

  it("estimates latency quantiles within 10%", () => {
    const clock = fakeClock();
    const w = new RollingWindow({ windowS: 60, bucketS: 5, clock: clock.now });
    for (let i = 1; i <= 100; i++) w.record(i, false); // 1..100 ms
    const p = w.series().at(-1)!;
    expect(p.p50Ms).toBeGreaterThan(45);
    expect(p.p50Ms).toBeLessThan(55);
    expect(p.p95Ms).toBeGreaterThan(85);
    expect(p.p95Ms).toBeLessThan(105);
    expect(p.p99Ms!).toBeGreaterThanOrEqual(p.p95Ms!);
  });

  it("forgets buckets older than the window", () => {
    const clock = fakeClock();
    const w = new RollingWindow({ windowS: 20, bucketS: 5, clock: clock.now });
    w.record(5, true);
    clock.advance(20_000);
    w.record(7, false);
    const series = w.series();
    expect(series.reduce((n, p) => n + p.requests, 0)).toBe(1);
    expect(series.reduce((n, p) => n + p.errors, 0)).toBe(0);
    // The old slot was reused for the new bucket, not added to.
    expect(series.at(-1)).toMatchObject({ requests: 1, errors: 0 });
  });

  it("summarises the last minute as a rate and merged quantiles", () => {
    const clock = fakeClock();
    const w = new RollingWindow({ windowS: 600, bucketS: 5, clock: clock.now });
    for (let s = 0; s < 60; s += 5) {
      for (let i = 0; i < 10; i++) w.record(100, i === 0);
      clock.advance(5_000);
    }
    clock.advance(-1); // stay in the last written bucket
    const sum = w.summary(60);
    expect(sum.requests).toBe(120);
    expect(sum.errors).toBe(12);
    expect(sum.ratePerS).toBeCloseTo(2, 5);
    expect(sum.p50Ms).toBeGreaterThan(90);
    expect(sum.p50Ms).toBeLessThan(110);
  });

  it("rejects a bucket wider than the window", () => {
    expect(() => new RollingWindow({ windowS: 1, bucketS: 5 })).toThrow(/windowS/);
    expect(() => new RollingWindow({ bucketS: 0 })).toThrow(/bucketS/);
  });
});

describe("RingBuffer", () => {
  it("keeps the newest items, newest first", () => {
    const r = new RingBuffer<number>(3);
    expect(r.toArray()).toEqual([]);
    r.push(1);
    r.push(2);
    expect(r.toArray()).toEqual([2, 1]);
    r.push(3);
    r.push(4);
    r.push(5);
    expect(r.toArray()).toEqual([5, 4, 3]);
    expect(r.size).toBe(3);
  });
});
