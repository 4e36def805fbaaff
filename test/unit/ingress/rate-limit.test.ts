// Token buckets per caller on a fake clock: burst, refill, Retry-After, and a bounded table that
// forgets the least recently seen caller first.

import { describe, expect, it } from "vitest";
import { RateLimiter } from "../../../src/ingress/rate-limit.ts";

function fakeClock() {
  let nowMs = 0;
  return { now: () => nowMs, advance: (ms: number) => (nowMs += ms) };
}

describe("RateLimiter", () => {
  it("lets a burst through, then refuses with the seconds until the next token", () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ requestsPerS: 2, burst: 3 }, clock.now);
    expect([1, 2, 3].map(() => limiter.take("alice").ok)).toEqual([true, true, true]);
    expect(limiter.take("alice")).toEqual({ ok: false, retryAfterS: 1 });
    clock.advance(499);
    expect(limiter.take("alice").ok).toBe(false);
    clock.advance(1);
    expect(limiter.take("alice").ok).toBe(true);
    expect(limiter.take("alice").ok).toBe(false);
  });

  it("refills at requestsPerS up to the burst, never beyond", () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ requestsPerS: 10, burst: 5 }, clock.now);
    for (let i = 0; i < 5; i++) limiter.take("bob");
    clock.advance(60_000);
    const granted = Array.from({ length: 8 }, () => limiter.take("bob").ok).filter(Boolean).length;
    expect(granted).toBe(5);
  });

  it("rounds Retry-After up to whole seconds for slow rates", () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ requestsPerS: 0.1, burst: 1 }, clock.now);
    expect(limiter.take("c").ok).toBe(true);
    expect(limiter.take("c")).toEqual({ ok: false, retryAfterS: 10 });
    clock.advance(2_500);
    expect(limiter.take("c")).toEqual({ ok: false, retryAfterS: 8 });
  });

  it("keeps callers apart, with burst defaulting to requestsPerS", () => {
    const limiter = new RateLimiter({ requestsPerS: 2 }, fakeClock().now);
    expect([limiter.take("a").ok, limiter.take("a").ok, limiter.take("a").ok]).toEqual([true, true, false]);
    expect(limiter.take("b").ok).toBe(true);
  });

  it("tracks at most maxTrackedCallers, forgetting the least recently seen", () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ requestsPerS: 1, burst: 1, maxTrackedCallers: 100 }, clock.now);
    expect(limiter.take("hot").ok).toBe(true);
    for (let i = 0; i < 10_000; i++) {
      limiter.take(`flood-${i}`);
      // The active caller keeps being seen, so it is never the one forgotten.
      if (i % 50 === 0) expect(limiter.take("hot").ok).toBe(false);
    }
    expect(limiter.trackedCallers).toBe(100);
    // An early flood caller was forgotten: it starts over with a full bucket.
    expect(limiter.take("flood-0").ok).toBe(true);
  });
});
