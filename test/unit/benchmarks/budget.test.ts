import { describe, expect, it } from "vitest";
import { Budget } from "../../../benchmarks/lib/budget.ts";

describe("Budget", () => {
  it("counts down from the budget minus the reserve on an injected clock", () => {
    let now = 1000;
    const b = new Budget(10, { reserveS: 2, now: () => now });
    expect(b.remainingMs()).toBe(8000);
    now += 5000;
    expect(b.allows(3000)).toBe(true);
    expect(b.allows(3001)).toBe(false);
    now += 10_000;
    expect(b.remainingMs()).toBe(0);
  });

  it("reads BENCH_BUDGET_S and is unlimited without it", () => {
    expect(Budget.fromEnv({ BENCH_BUDGET_S: "30" }, 3).remainingMs()).toBeGreaterThan(26_000);
    expect(Budget.fromEnv({ BENCH_BUDGET_S: "30" }, 3).remainingMs()).toBeLessThanOrEqual(27_000);
    expect(Budget.fromEnv({}).remainingMs()).toBe(Number.POSITIVE_INFINITY);
    expect(Budget.fromEnv({ BENCH_BUDGET_S: "soon" }).allows(1e12)).toBe(true);
    expect(() => new Budget(0)).toThrow(/budgetS must be > 0/);
  });
});
