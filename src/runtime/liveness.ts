// The runtime-owned liveness check of one replica (the controller side; the probe itself travels
// on the replica's control path, see ReplicaActor.probe). Every healthCheckPeriodS a probe goes to
// the thread outside its request slots, so a replica at maxOngoingRequests is still probed and a
// busy replica is never mistaken for a live one. A probe fails when
//   - it gets no answer within healthCheckTimeoutS: the thread's event loop is blocked (a
//     synchronous loop, a long native call) or the class's checkHealth() hangs;
//   - the class's checkHealth() threw;
//   - a call whose caller already timed out was still holding its request slot at the previous
//     probe and still is: a leak that shrinks the replica's capacity for good.
// `threshold` failures in a row (Ray's 3) declare the replica dead. Only a probe that really
// answered, with no such stuck call, resets the count; nothing counts as "too busy to answer".
// Pure state over an injected time (`nowMs`), so unit tests drive it with a fake clock.

import { TimeoutError } from "../errors.ts";
import type { ReplicaActor } from "./replica.ts";
import { Tracked } from "./tracked.ts";

export interface LivenessSettings {
  periodMs: number;
  timeoutMs: number;
  /** Consecutive failed probes that declare the replica dead. */
  threshold: number;
}

interface Probe {
  tracked: Tracked;
  /** Why this probe fails whatever the answer (a stuck call), if so. */
  stuck: Error | undefined;
}

export class LivenessCheck {
  #probe: Probe | undefined;
  #lastProbeMs: number;
  #failures = 0;
  #lastFailureWasTimeout = false;
  /** Timed-out calls seen at the previous probe. */
  #overdueSeen: ReadonlySet<number> = new Set();

  constructor(nowMs: number) {
    this.#lastProbeMs = nowMs;
  }

  /** Failed probes in a row so far. */
  get failures(): number {
    return this.#failures;
  }

  /**
   * One step: collects a finished (or timed-out) probe and starts the next one when the period
   * has passed. Returns the last failure once `threshold` probes in a row failed, else undefined.
   */
  check(actor: ReplicaActor, nowMs: number, s: LivenessSettings): Error | undefined {
    const probe = this.#probe;
    if (probe) {
      const o = probe.tracked.outcome;
      let failure: Error | undefined;
      if (!o.done) {
        if (nowMs - probe.tracked.startedAtMs < s.timeoutMs) return undefined;
        failure = new TimeoutError(probeTimeoutMessage(actor, s.timeoutMs));
      } else {
        failure = o.error ?? probe.stuck;
      }
      this.#probe = undefined;
      if (!failure) {
        this.#failures = 0;
        return undefined;
      }
      this.#failures++;
      this.#lastFailureWasTimeout = !o.done;
      if (this.#failures >= s.threshold) return failure;
      return undefined;
    }
    if (nowMs - this.#lastProbeMs < s.periodMs) return undefined;
    this.#lastProbeMs = nowMs;
    this.#probe = {
      tracked: Tracked.start(() => actor.probe({ checkHealth: actor.methods.has("checkHealth") }), nowMs),
      stuck: this.#stuckCall(actor, s.periodMs),
    };
    return undefined;
  }

  /**
   * Whether the thread is not answering right now: a probe has waited past the timeout, or the
   * last one timed out and none has answered since. Draining such a replica (at shutdown) would
   * only wait out the graceful timeout.
   */
  unresponsive(nowMs: number, timeoutMs: number): boolean {
    const probe = this.#probe;
    if (probe && !probe.tracked.outcome.done && nowMs - probe.tracked.startedAtMs >= timeoutMs) return true;
    return this.#failures > 0 && this.#lastFailureWasTimeout && !(probe?.tracked.outcome.done ?? false);
  }

  #stuckCall(actor: ReplicaActor, periodMs: number): Error | undefined {
    const overdue = actor.overdueCalls;
    let stuck: Error | undefined;
    for (const [id, method] of overdue) {
      if (!this.#overdueSeen.has(id)) continue;
      stuck = new TimeoutError(
        `${method}() is past its deadline and still holds a request slot (its caller timed out over ${periodMs / 1000}s ago and it ignored the cancellation)`,
      );
      break;
    }
    this.#overdueSeen = new Set(overdue.keys());
    return stuck;
  }
}

function probeTimeoutMessage(actor: ReplicaActor, timeoutMs: number): string {
  const s = timeoutMs / 1000;
  if (actor.methods.has("checkHealth")) {
    return `checkHealth() did not answer within ${s}s (it runs on the replica's control path, so either it hangs or the thread's event loop is blocked)`;
  }
  return `the replica's thread did not answer the liveness probe within ${s}s: its event loop is blocked (a synchronous loop or a long native call)`;
}
