// A script's share of the suite's time: run-all passes each script its budget in BENCH_BUDGET_S
// and ends the script when it runs out. A script that checks `Budget.remainingMs()` before each
// optional step can skip it (fewer trials, a missing row with a note) and still print its result
// line in time, instead of being killed with nothing to show.

export class Budget {
  readonly #deadline: number;
  readonly #now: () => number;

  /** `budgetS` of Infinity (no BENCH_BUDGET_S) never runs out; `reserveS` is kept back for the exit. */
  constructor(budgetS: number, options: { reserveS?: number; now?: () => number } = {}) {
    if (!(budgetS > 0)) throw new RangeError(`Budget: budgetS must be > 0, got ${budgetS}`);
    this.#now = options.now ?? (() => performance.now());
    this.#deadline = this.#now() + (budgetS - (options.reserveS ?? 0)) * 1000;
  }

  /** From BENCH_BUDGET_S (seconds), keeping `reserveS` back; unlimited when unset or invalid. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env, reserveS = 3): Budget {
    const s = Number(env.BENCH_BUDGET_S);
    return new Budget(Number.isFinite(s) && s > reserveS ? s : Number.POSITIVE_INFINITY, { reserveS: Number.isFinite(s) && s > reserveS ? reserveS : 0 });
  }

  remainingMs(): number {
    return Math.max(0, this.#deadline - this.#now());
  }

  /** Whether `ms` more work still fits. */
  allows(ms: number): boolean {
    return this.remainingMs() >= ms;
  }
}
