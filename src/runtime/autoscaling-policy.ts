// The autoscaling policy: a pure function (context) -> (replicas, policyState), Ray Serve's
// replica-queue-length policy. It compares ongoing requests (queued + running, averaged over the
// look-back window) with targetOngoingRequests per running replica, smooths the step with the
// up/down scaling factor, clamps to [minReplicas, maxReplicas], and only acts once the wish has
// held for upscaleDelayS / downscaleDelayS. From zero replicas it scales up at once, so the first
// request after scale-to-zero waits for one replica instead of a delay.

import type { ResolvedAutoscalingConfig } from "../deployments/options.ts";

export interface AutoscalingPolicyState {
  /** When (seconds) the policy started wanting more replicas; cleared once it stops. */
  upscaleSinceS?: number;
  downscaleSinceS?: number;
}

export interface AutoscalingContext {
  config: ResolvedAutoscalingConfig;
  /** The controller's current target. */
  currentReplicas: number;
  /** Replicas running now (the ratio is per running replica, as in Ray). */
  runningReplicas: number;
  /** Ongoing (queued + running) requests, averaged over the look-back window. */
  totalOngoingRequests: number;
  nowS: number;
  policyState: AutoscalingPolicyState;
}

export interface AutoscalingDecision {
  replicas: number;
  policyState: AutoscalingPolicyState;
}

export type AutoscalingPolicy = (context: AutoscalingContext) => AutoscalingDecision;

/** The size the load asks for right now, before delays (clamped to min/max). */
export function desiredReplicas(ctx: Omit<AutoscalingContext, "nowS" | "policyState">): number {
  const { config: c, currentReplicas: current, runningReplicas: running, totalOngoingRequests: load } = ctx;
  let desired: number;
  if (running === 0) {
    // Nothing runs yet (scale-from-zero, or replicas still starting): never shrink on no data,
    // but make sure there is at least one replica when requests are waiting.
    desired = load > 0 ? Math.max(current, Math.ceil(Math.max(1, c.upscalingFactor))) : current;
  } else {
    const ratio = load / (c.targetOngoingRequests * running);
    const factor = ratio >= 1 ? c.upscalingFactor : c.downscalingFactor;
    desired = Math.ceil(running * (1 + (ratio - 1) * factor));
    // A small downscaling factor can round back up to `running` forever; step down by one.
    if (desired === running && Math.ceil(running * ratio) < running) desired = running - 1;
  }
  return Math.min(c.maxReplicas, Math.max(c.minReplicas, desired));
}

export const replicaQueueLengthPolicy: AutoscalingPolicy = (ctx) => {
  const desired = desiredReplicas(ctx);
  const { currentReplicas: current, nowS, config: c } = ctx;
  const state = ctx.policyState;
  if (desired > current) {
    if (current === 0) return { replicas: desired, policyState: {} };
    const since = state.upscaleSinceS ?? nowS;
    if (nowS - since >= c.upscaleDelayS) return { replicas: desired, policyState: {} };
    return { replicas: current, policyState: { upscaleSinceS: since } };
  }
  if (desired < current) {
    const since = state.downscaleSinceS ?? nowS;
    if (nowS - since >= c.downscaleDelayS) return { replicas: desired, policyState: {} };
    return { replicas: current, policyState: { downscaleSinceS: since } };
  }
  return { replicas: current, policyState: {} };
};

/** Ongoing-request samples over a sliding window, averaged for the policy. */
export class OngoingRequestsWindow {
  readonly #samples: Array<{ atS: number; value: number }> = [];

  record(atS: number, value: number): void {
    this.#samples.push({ atS, value });
  }

  /** Mean of the samples taken in the last `lookBackS` seconds (0 with none). */
  average(nowS: number, lookBackS: number): number {
    const from = nowS - lookBackS;
    while (this.#samples.length > 0 && this.#samples[0]!.atS < from) this.#samples.shift();
    if (this.#samples.length === 0) return 0;
    let sum = 0;
    for (const s of this.#samples) sum += s.value;
    return sum / this.#samples.length;
  }
}
