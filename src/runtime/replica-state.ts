// One replica as the controller sees it: a small state machine over a ReplicaActor
// (STARTING/RECOVERING → RUNNING ⇄ UPDATING → STOPPING) with non-blocking checks, in the manner of
// Ray's ActorReplicaWrapper: the controller starts things (start, liveness probe, reconfigure,
// stop, terminate) and on a later tick asks whether they finished, so one slow replica never
// blocks the loop. A stop or terminate has a deadline for the thread to exit: past it the replica
// is reported as a thread that will not exit (blocked in native code) instead of being waited for.
// Also the container that keeps replicas by state.

import { ReplicaBusyError } from "../errors.ts";
import type { ReplicaId } from "./ids.ts";
import { LivenessCheck, type LivenessSettings } from "./liveness.ts";
import type { Placement } from "./placement.ts";
import type { ReplicaActor } from "./replica.ts";
import { PENDING, Tracked } from "./tracked.ts";

export type ReplicaStateName = "STARTING" | "RUNNING" | "UPDATING" | "RECOVERING" | "STOPPING";

export const REPLICA_STATE_NAMES: readonly ReplicaStateName[] = ["STARTING", "RECOVERING", "RUNNING", "UPDATING", "STOPPING"];

/** What a replica runs: its code version (class, args, options) and its userConfig version. */
export interface ReplicaVersion {
  code: string;
  userConfig: string;
}

/** Where a stopping replica's thread is: still going, gone, or past its deadline to exit. */
export type StopProgress = "stopping" | "stopped" | "will-not-exit";

export class ReplicaState {
  readonly actor: ReplicaActor;
  readonly placement: Placement;
  readonly createdAtMs: number;
  version: ReplicaVersion;
  #state: ReplicaStateName;
  #start: Tracked | undefined;
  #stop: Tracked | undefined;
  /** When the thread must have exited (stop: drain + exit wait; terminate: exit wait). */
  #exitDeadlineMs = Number.POSITIVE_INFINITY;
  #terminated = false;
  #reconfigure: { tracked: Tracked; version: ReplicaVersion; userConfig: unknown } | undefined;
  readonly #liveness: LivenessCheck;
  #death: Error | undefined;

  constructor(actor: ReplicaActor, placement: Placement, version: ReplicaVersion, recovering: boolean, nowMs: number) {
    this.actor = actor;
    this.placement = placement;
    this.version = version;
    this.createdAtMs = nowMs;
    this.#liveness = new LivenessCheck(nowMs);
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

  /** Starts the actor; `onSettled` runs once the start succeeded or failed (to step at once). */
  begin(nowMs: number, onSettled?: () => void): void {
    let p: Promise<void>;
    try {
      p = this.actor.start();
    } catch (err) {
      p = Promise.reject(err);
    }
    this.#start = new Tracked(p, nowMs);
    if (onSettled) p.then(onSettled, onSettled);
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
   * The runtime's liveness probe (liveness.ts): on the control path, every period, with the
   * class's checkHealth() when it has one. Returns the failure once `threshold` probes in a row
   * failed, or the thread's own death.
   */
  checkHealth(nowMs: number, liveness: LivenessSettings): Error | undefined {
    if (this.#death) return this.#death;
    return this.#liveness.check(this.actor, nowMs, liveness);
  }

  /** Whether its thread is not answering the liveness probe right now (see LivenessCheck). */
  unresponsive(nowMs: number, timeoutMs: number): boolean {
    return this.#liveness.unresponsive(nowMs, timeoutMs);
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

  /**
   * Stops accepting, drains up to the graceful timeout, ends the thread; the thread must have
   * exited `exitWaitMs` after the drain.
   */
  stop(gracefulTimeoutMs: number, nowMs: number, exitWaitMs = Number.POSITIVE_INFINITY): void {
    if (this.#state === "STOPPING") return;
    this.#state = "STOPPING";
    this.#exitDeadlineMs = nowMs + gracefulTimeoutMs + exitWaitMs;
    this.#stop = Tracked.start(() => this.actor.stop({ gracefulTimeoutMs }), nowMs);
  }

  /**
   * Declared dead: ends the thread now without a drain (in-flight calls fail with `reason`); it
   * must have exited within `exitWaitMs`. Also cuts short a graceful stop in progress.
   */
  terminate(reason: Error, nowMs: number, exitWaitMs: number): void {
    if (this.#terminated) return;
    this.#terminated = true;
    this.#state = "STOPPING";
    this.#exitDeadlineMs = nowMs + exitWaitMs;
    this.#stop = Tracked.start(() => this.actor.terminate(reason), nowMs);
  }

  /** Whether it was terminated (declared dead) rather than drained. */
  get terminated(): boolean {
    return this.#terminated;
  }

  checkStopped(nowMs: number): StopProgress {
    if (this.#stop?.outcome.done) return "stopped";
    return nowMs >= this.#exitDeadlineMs ? "will-not-exit" : "stopping";
  }

  /** Whether the thread has exited (a stop or terminate finished). */
  get exited(): boolean {
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
