// One replica as the controller sees it: a small state machine over a ReplicaActor
// (STARTING/RECOVERING → RUNNING ⇄ UPDATING → STOPPING) with non-blocking checks, in the manner of
// Ray's ActorReplicaWrapper: the controller starts things (start, health check, reconfigure, stop)
// and on a later tick asks whether they finished, so one slow replica never blocks the loop.
// Also the container that keeps replicas by state.

import { ReplicaBusyError, TimeoutError } from "../errors.ts";
import type { ReplicaId } from "./ids.ts";
import type { Placement } from "./placement.ts";
import type { ReplicaActor } from "./replica.ts";

export type ReplicaStateName = "STARTING" | "RUNNING" | "UPDATING" | "RECOVERING" | "STOPPING";

export const REPLICA_STATE_NAMES: readonly ReplicaStateName[] = ["STARTING", "RECOVERING", "RUNNING", "UPDATING", "STOPPING"];

/** What a replica runs: its code version (class, args, options) and its userConfig version. */
export interface ReplicaVersion {
  code: string;
  userConfig: string;
}

type Outcome = { done: false } | { done: true; error?: Error };

const PENDING: Outcome = { done: false };

/** Tracks a promise's result without awaiting it. */
class Tracked {
  #outcome: Outcome = PENDING;
  readonly startedAtMs: number;
  constructor(promise: Promise<unknown>, startedAtMs: number) {
    this.startedAtMs = startedAtMs;
    promise.then(
      () => (this.#outcome = { done: true }),
      (err: unknown) => (this.#outcome = { done: true, error: err instanceof Error ? err : new Error(String(err)) }),
    );
  }
  get outcome(): Outcome {
    return this.#outcome;
  }
}

export class ReplicaState {
  readonly actor: ReplicaActor;
  readonly placement: Placement;
  readonly createdAtMs: number;
  version: ReplicaVersion;
  #state: ReplicaStateName;
  #start: Tracked | undefined;
  #stop: Tracked | undefined;
  #reconfigure: { tracked: Tracked; version: ReplicaVersion; userConfig: unknown } | undefined;
  #health: Tracked | undefined;
  #lastHealthCheckMs: number;
  #healthFailures = 0;
  #death: Error | undefined;

  constructor(actor: ReplicaActor, placement: Placement, version: ReplicaVersion, recovering: boolean, nowMs: number) {
    this.actor = actor;
    this.placement = placement;
    this.version = version;
    this.createdAtMs = nowMs;
    this.#lastHealthCheckMs = nowMs;
    this.#state = recovering ? "RECOVERING" : "STARTING";
  }

  get id(): ReplicaId {
    return this.actor.id;
  }

  get state(): ReplicaStateName {
    return this.#state;
  }

  /** Set when the thread died on its own (the actor's death event). */
  get death(): Error | undefined {
    return this.#death;
  }

  markDead(error: Error): void {
    this.#death ??= error;
  }

  /** Whether requests may be routed to it. */
  get routable(): boolean {
    return (this.#state === "RUNNING" || this.#state === "UPDATING") && !this.#death;
  }

  get isStarting(): boolean {
    return this.#state === "STARTING" || this.#state === "RECOVERING";
  }

  begin(nowMs: number): void {
    let p: Promise<void>;
    try {
      p = this.actor.start();
    } catch (err) {
      p = Promise.reject(err);
    }
    this.#start = new Tracked(p, nowMs);
  }

  /** undefined while starting; `{}` once running; `{ error }` if start failed. */
  checkStarted(): { error?: Error } | undefined {
    if (this.#death) return { error: this.#death };
    const o = this.#start?.outcome ?? PENDING;
    if (!o.done) return undefined;
    if (!o.error) {
      this.#state = "RUNNING";
      return {};
    }
    return { error: o.error };
  }

  /**
   * Runs the user's checkHealth() every period (when the class has one) and reports a failure
   * once `threshold` checks in a row failed or timed out. A replica too busy to take the check
   * (at maxOngoingRequests) counts as alive: it is evidently doing work.
   */
  checkHealth(nowMs: number, periodMs: number, timeoutMs: number, threshold: number): Error | undefined {
    if (this.#death) return this.#death;
    if (this.#health) {
      const o = this.#health.outcome;
      let failure: Error | undefined;
      if (!o.done) {
        if (nowMs - this.#health.startedAtMs < timeoutMs) return undefined;
        failure = new TimeoutError(`checkHealth() did not answer within ${timeoutMs / 1000}s`);
      } else if (o.error && !(o.error instanceof ReplicaBusyError)) {
        failure = o.error;
      }
      this.#health = undefined;
      if (!failure) {
        this.#healthFailures = 0;
        return undefined;
      }
      this.#healthFailures++;
      if (this.#healthFailures >= threshold) return failure;
      return undefined;
    }
    if (nowMs - this.#lastHealthCheckMs < periodMs) return undefined;
    this.#lastHealthCheckMs = nowMs;
    if (!this.actor.methods.has("checkHealth")) return undefined;
    let p: Promise<unknown>;
    try {
      p = this.actor.call("checkHealth", [], { timeoutMs });
    } catch (err) {
      p = Promise.reject(err);
    }
    this.#health = new Tracked(p, nowMs);
    return undefined;
  }

  /** Applies a new userConfig in place (RUNNING → UPDATING). */
  reconfigure(userConfig: unknown, version: ReplicaVersion, nowMs: number): void {
    this.#state = "UPDATING";
    let p: Promise<unknown>;
    try {
      p = this.actor.call("reconfigure", [userConfig]);
    } catch (err) {
      p = Promise.reject(err);
    }
    this.#reconfigure = { tracked: new Tracked(p, nowMs), version, userConfig };
  }

  /** undefined while reconfiguring; `{}` when done (back to RUNNING); `{ error }` if it failed. */
  checkReconfigured(nowMs: number): { error?: Error } | undefined {
    if (this.#death) return { error: this.#death };
    const r = this.#reconfigure;
    if (!r) return {};
    const o = r.tracked.outcome;
    if (!o.done) return undefined;
    if (o.error instanceof ReplicaBusyError) {
      // At its limit right now: try again on a later tick.
      this.reconfigure(r.userConfig, r.version, nowMs);
      return undefined;
    }
    this.#reconfigure = undefined;
    if (o.error) return { error: o.error };
    this.version = r.version;
    this.#state = "RUNNING";
    return {};
  }

  /** Stops accepting, drains up to the graceful timeout, ends the thread. */
  stop(gracefulTimeoutMs: number, nowMs: number): void {
    if (this.#state === "STOPPING") return;
    this.#state = "STOPPING";
    let p: Promise<void>;
    try {
      p = this.actor.stop({ gracefulTimeoutMs });
    } catch (err) {
      p = Promise.reject(err);
    }
    this.#stop = new Tracked(p, nowMs);
  }

  checkStopped(): boolean {
    return this.#stop?.outcome.done ?? false;
  }
}

/** Replicas grouped by state; moving one between groups is `pop(states)` → check → `add`. */
export class ReplicaStateContainer {
  readonly #byState = new Map<ReplicaStateName, ReplicaState[]>(REPLICA_STATE_NAMES.map((s) => [s, []]));

  add(replica: ReplicaState): void {
    this.#byState.get(replica.state)!.push(replica);
  }

  /** Removes and returns the replicas in these states (all when omitted). */
  pop(states: readonly ReplicaStateName[] = REPLICA_STATE_NAMES): ReplicaState[] {
    const out: ReplicaState[] = [];
    for (const s of states) out.push(...this.#byState.get(s)!.splice(0));
    return out;
  }

  get(states: readonly ReplicaStateName[] = REPLICA_STATE_NAMES): ReplicaState[] {
    const out: ReplicaState[] = [];
    for (const s of states) out.push(...this.#byState.get(s)!);
    return out;
  }

  count(states: readonly ReplicaStateName[] = REPLICA_STATE_NAMES): number {
    let n = 0;
    for (const s of states) n += this.#byState.get(s)!.length;
    return n;
  }

  /** Re-files replicas whose state changed since they were added. */
  refile(): void {
    for (const r of this.pop()) this.add(r);
  }

  counts(): Record<ReplicaStateName, number> {
    return Object.fromEntries(REPLICA_STATE_NAMES.map((s) => [s, this.#byState.get(s)!.length])) as Record<
      ReplicaStateName,
      number
    >;
  }
}
