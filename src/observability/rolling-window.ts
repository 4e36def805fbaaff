// In-memory request history for the dashboard: a fixed ring of time buckets (default 5 s each,
// 10 minutes in all), each holding a request count, an error count and a log-scale latency
// histogram, so quantiles for any bucket or span come out without keeping every sample. Memory is
// bounded by construction; Prometheus stays the long-term store.

export interface RollingWindowOptions {
  /** How far back the window reaches. Default 600 s. */
  windowS?: number;
  /** Width of one bucket. Default 5 s. */
  bucketS?: number;
  /** Epoch-ms clock; injected by tests. */
  clock?: () => number;
}

export interface TimeseriesPoint {
  /** Epoch ms at the start of the bucket. */
  t: number;
  requests: number;
  errors: number;
  /** Latency quantiles in ms; null when the bucket saw no requests. */
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
}

export interface WindowSummary {
  requests: number;
  errors: number;
  ratePerS: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
}

// Bin i covers (BOUNDS[i-1], BOUNDS[i]]; factor 1.2 keeps quantile error within ~10%.
const MIN_MS = 0.05;
const FACTOR = 1.2;
const BOUNDS: number[] = [];
for (let b = MIN_MS; b < 600_000; b *= FACTOR) BOUNDS.push(b);
const BINS = BOUNDS.length + 1;

function binOf(ms: number): number {
  if (!(ms > MIN_MS)) return 0;
  const i = Math.ceil(Math.log(ms / MIN_MS) / Math.log(FACTOR));
  return Math.min(i, BINS - 1);
}

/** A representative value for a bin: the geometric middle of its edges. */
function binValue(i: number): number {
  if (i === 0) return MIN_MS;
  const hi = BOUNDS[i] ?? BOUNDS[BOUNDS.length - 1]! * FACTOR;
  const lo = BOUNDS[i - 1]!;
  return Math.sqrt(lo * hi);
}

function quantile(hist: Uint32Array, total: number, q: number): number | null {
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i]!;
    if (seen >= rank) return round(binValue(i));
  }
  return round(binValue(hist.length - 1));
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

interface Slot {
  /** Which bucket (floor(t / bucketMs)) the slot currently holds; -1 when never used. */
  epoch: number;
  requests: number;
  errors: number;
  hist: Uint32Array;
}

export class RollingWindow {
  readonly bucketMs: number;
  readonly #slots: Slot[];
  readonly #clock: () => number;

  constructor(options: RollingWindowOptions = {}) {
    const windowS = options.windowS ?? 600;
    const bucketS = options.bucketS ?? 5;
    if (!(bucketS > 0)) throw new RangeError(`bucketS must be > 0, got ${bucketS}`);
    if (!(windowS >= bucketS)) throw new RangeError(`windowS must be >= bucketS, got ${windowS}`);
    this.bucketMs = bucketS * 1000;
    this.#clock = options.clock ?? Date.now;
    const n = Math.ceil(windowS / bucketS);
    this.#slots = Array.from({ length: n }, () => ({ epoch: -1, requests: 0, errors: 0, hist: new Uint32Array(BINS) }));
  }

  record(latencyMs: number, isError: boolean): void {
    const epoch = Math.floor(this.#clock() / this.bucketMs);
    const slot = this.#slots[epoch % this.#slots.length]!;
    if (slot.epoch !== epoch) {
      slot.epoch = epoch;
      slot.requests = 0;
      slot.errors = 0;
      slot.hist.fill(0);
    }
    slot.requests++;
    if (isError) slot.errors++;
    slot.hist[binOf(latencyMs)]!++;
  }

  /** Every bucket of the window, oldest first, empty buckets included (so charts keep time). */
  series(): TimeseriesPoint[] {
    const now = Math.floor(this.#clock() / this.bucketMs);
    const out: TimeseriesPoint[] = [];
    for (let epoch = now - this.#slots.length + 1; epoch <= now; epoch++) {
      const slot = this.#live(epoch);
      const t = epoch * this.bucketMs;
      if (!slot) {
        out.push({ t, requests: 0, errors: 0, p50Ms: null, p95Ms: null, p99Ms: null });
        continue;
      }
      out.push({
        t,
        requests: slot.requests,
        errors: slot.errors,
        p50Ms: quantile(slot.hist, slot.requests, 0.5),
        p95Ms: quantile(slot.hist, slot.requests, 0.95),
        p99Ms: quantile(slot.hist, slot.requests, 0.99),
      });
    }
    return out;
  }

  /** Totals and quantiles over the last `lastS` seconds (whole buckets, the current one included). */
  summary(lastS = 60): WindowSummary {
    const now = Math.floor(this.#clock() / this.bucketMs);
    const span = Math.max(1, Math.min(this.#slots.length, Math.ceil((lastS * 1000) / this.bucketMs)));
    const hist = new Uint32Array(BINS);
    let requests = 0;
    let errors = 0;
    for (let epoch = now - span + 1; epoch <= now; epoch++) {
      const slot = this.#live(epoch);
      if (!slot) continue;
      requests += slot.requests;
      errors += slot.errors;
      for (let i = 0; i < BINS; i++) hist[i]! += slot.hist[i]!;
    }
    return {
      requests,
      errors,
      ratePerS: round(requests / ((span * this.bucketMs) / 1000)),
      p50Ms: quantile(hist, requests, 0.5),
      p95Ms: quantile(hist, requests, 0.95),
      p99Ms: quantile(hist, requests, 0.99),
    };
  }

  #live(epoch: number): Slot | undefined {
    if (epoch < 0) return undefined;
    const slot = this.#slots[epoch % this.#slots.length]!;
    return slot.epoch === epoch ? slot : undefined;
  }
}

/** A fixed-size buffer that keeps the newest items. */
export class RingBuffer<T> {
  readonly #items: T[] = [];
  readonly #capacity: number;
  #next = 0;

  constructor(capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`capacity must be >= 1, got ${capacity}`);
    this.#capacity = Math.floor(capacity);
  }

  push(item: T): void {
    if (this.#items.length < this.#capacity) this.#items.push(item);
    else this.#items[this.#next] = item;
    this.#next = (this.#next + 1) % this.#capacity;
  }

  /** Newest first. */
  toArray(): T[] {
    const n = this.#items.length;
    const out: T[] = [];
    for (let k = 1; k <= n; k++) out.push(this.#items[(this.#next - k + n * 2) % n]!);
    return out;
  }

  get size(): number {
    return this.#items.length;
  }
}
