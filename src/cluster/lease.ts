// The leader lease (CLUSTER.md rule 4): one KV key in a bucket whose max age is the lease TTL.
// `create()` acquires it only when the key is absent (expired or released), `update(rev)` renews
// it, and a holder that was replaced fails its renewal with "wrong last sequence": it is fenced and
// steps down. The revision at acquisition is the leader's term; the placement it writes carries the
// term, and nodes ignore placement from a lower term. The lease is driven by `tick()` (the node
// calls it every ~250 ms); a store and a clock are injected, so unit tests use fakes.
//
// Safety margin: a holder acts as leader only while its last successful renewal is younger than
// TTL − renewal period, so it stops acting before anyone else can acquire the expired key.

import type { Clock } from "../runtime/clock.ts";
import type { LeaseRecord } from "./records.ts";

/** The KV operations the lease needs (a JetStream KV bucket in production). */
export interface LeaseStore {
  /** Writes only when the key has no value; resolves the new revision, rejects otherwise. */
  create(key: string, value: string): Promise<number>;
  /** Writes only when the key's last revision is `revision`; rejects otherwise. */
  update(key: string, value: string, revision: number): Promise<number>;
  /** Deletes the key when its last revision is `revision`. */
  delete(key: string, revision: number): Promise<void>;
}

export interface LeaseTimings {
  /** The bucket's max age: how long an unrenewed lease lasts. Default 3000 ms. */
  ttlMs: number;
  /** How often the holder renews. Default 1000 ms. */
  renewEveryMs: number;
  /** How often a follower tries to acquire. Default 500 ms. */
  acquireEveryMs: number;
}

export const DEFAULT_LEASE_TIMINGS: LeaseTimings = { ttlMs: 3_000, renewEveryMs: 1_000, acquireEveryMs: 500 };

export type LeaseEvent = { kind: "acquired"; term: number } | { kind: "lost"; term: number; reason: string };

export class LeaderLease {
  readonly #store: LeaseStore;
  readonly #clock: Clock;
  readonly #key: string;
  readonly #nodeId: string;
  readonly #timings: LeaseTimings;
  readonly #onEvent: (e: LeaseEvent) => void;
  #revision: number | undefined;
  #term = 0;
  #renewedAtMs = 0;
  #lastAttemptMs = -Infinity;
  #busy = false;
  #closed = false;

  constructor(options: {
    store: LeaseStore;
    clock: Clock;
    key: string;
    nodeId: string;
    timings?: Partial<LeaseTimings>;
    onEvent?: (e: LeaseEvent) => void;
  }) {
    this.#store = options.store;
    this.#clock = options.clock;
    this.#key = options.key;
    this.#nodeId = options.nodeId;
    this.#timings = { ...DEFAULT_LEASE_TIMINGS, ...options.timings };
    this.#onEvent = options.onEvent ?? (() => {});
  }

  /** Whether this node may act as leader now (holds a lease that cannot have expired). */
  get isLeader(): boolean {
    return this.#revision !== undefined && this.#clock.now() - this.#renewedAtMs < this.#timings.ttlMs - this.#timings.renewEveryMs;
  }

  /** The revision at which this node acquired the lease (0 when it never held it). */
  get term(): number {
    return this.#term;
  }

  /** Renews or tries to acquire when due; never throws. */
  async tick(): Promise<void> {
    if (this.#busy || this.#closed) return;
    const now = this.#clock.now();
    const holding = this.#revision !== undefined;
    const due = holding ? this.#timings.renewEveryMs : this.#timings.acquireEveryMs;
    if (now - this.#lastAttemptMs < due) return;
    this.#lastAttemptMs = now;
    this.#busy = true;
    try {
      if (holding) await this.#renew();
      else await this.#acquire();
    } finally {
      this.#busy = false;
    }
    // A holder that could not renew for too long stops acting before the key can expire.
    if (this.#revision !== undefined && !this.isLeader) this.#lose("renewals failed for too long");
  }

  /** Gives the lease up at once (graceful stop), so a follower takes over without waiting for the TTL. */
  async release(): Promise<void> {
    this.#closed = true;
    const revision = this.#revision;
    if (revision === undefined) return;
    this.#lose("released");
    try {
      await this.#store.delete(this.#key, revision);
    } catch {
      // Someone else holds it already, or the store is gone: the TTL ends it either way.
    }
  }

  async #acquire(): Promise<void> {
    const started = this.#clock.now();
    try {
      const revision = await this.#store.create(this.#key, this.#value());
      this.#revision = revision;
      this.#term = revision;
      this.#renewedAtMs = started;
      this.#onEvent({ kind: "acquired", term: revision });
    } catch {
      // Held by someone else (or the store is unreachable): try again later.
    }
  }

  async #renew(): Promise<void> {
    const started = this.#clock.now();
    try {
      this.#revision = await this.#store.update(this.#key, this.#value(), this.#revision!);
      // Measured from before the request: the server's clock started the TTL no earlier.
      this.#renewedAtMs = started;
    } catch (err) {
      const message = (err as Error)?.message ?? String(err);
      // "wrong last sequence": another node acquired the key after ours expired. Fenced.
      if (/wrong last sequence|key exists|revision/i.test(message)) this.#lose(`fenced: ${message}`);
    }
  }

  #lose(reason: string): void {
    if (this.#revision === undefined) return;
    this.#revision = undefined;
    this.#onEvent({ kind: "lost", term: this.#term, reason });
  }

  #value(): string {
    const record: LeaseRecord = { nodeId: this.#nodeId, renewedAt: Date.now() };
    return JSON.stringify(record);
  }
}
