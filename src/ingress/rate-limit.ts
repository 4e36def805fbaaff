// Token-bucket rate limits per caller (`rateLimit: { requestsPerS, burst, maxTrackedCallers }`):
// each caller (an authenticated principal, or a client address without auth) has a bucket of
// `burst` tokens refilled at `requestsPerS`; a request takes one, and an empty bucket answers how
// long until the next token (the proxy's 429 Retry-After). Buckets live in a Map kept in
// least-recently-seen order and capped at `maxTrackedCallers`: at the cap the least recently seen
// caller is forgotten. A bucket untouched for burst/requestsPerS seconds is full again, so
// forgetting it loses nothing; only a flood of more than the cap of distinct callers inside that
// window can hand an active caller a fresh bucket. Memory stays bounded either way.

import type { RateLimitOptions } from "./auth-options.ts";

export const DEFAULT_MAX_TRACKED_CALLERS = 10_000;

interface Bucket {
  tokens: number;
  /** Clock reading (ms) when `tokens` was last brought up to date. */
  updatedMs: number;
}

export type RateDecision = { ok: true } | { ok: false; retryAfterS: number };

export class RateLimiter {
  readonly #ratePerMs: number;
  readonly #burst: number;
  readonly #maxCallers: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  /** `now` is a millisecond clock (injectable for tests; default performance.now). */
  constructor(options: RateLimitOptions, now: () => number = () => performance.now()) {
    this.#ratePerMs = options.requestsPerS / 1000;
    this.#burst = options.burst ?? Math.max(1, Math.ceil(options.requestsPerS));
    this.#maxCallers = options.maxTrackedCallers ?? DEFAULT_MAX_TRACKED_CALLERS;
    this.#now = now;
  }

  /** Callers currently tracked (at most maxTrackedCallers). */
  get trackedCallers(): number {
    return this.#buckets.size;
  }

  /** Takes one token from `caller`'s bucket, or says how many seconds until one is there. */
  take(caller: string): RateDecision {
    const now = this.#now();
    let bucket = this.#buckets.get(caller);
    if (bucket) {
      // Re-inserted: the Map's order is least recently seen first.
      this.#buckets.delete(caller);
      bucket.tokens = Math.min(this.#burst, bucket.tokens + (now - bucket.updatedMs) * this.#ratePerMs);
      bucket.updatedMs = now;
    } else {
      if (this.#buckets.size >= this.#maxCallers) this.#evictOldest();
      bucket = { tokens: this.#burst, updatedMs: now };
    }
    this.#buckets.set(caller, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    const waitMs = (1 - bucket.tokens) / this.#ratePerMs;
    return { ok: false, retryAfterS: Math.max(1, Math.ceil(waitMs / 1000)) };
  }

  #evictOldest(): void {
    const oldest = this.#buckets.keys().next();
    if (!oldest.done) this.#buckets.delete(oldest.value);
  }
}
