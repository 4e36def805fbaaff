// One deployment's autoscaling bookkeeping between controller steps: the ongoing-request samples
// of the look-back window and the policy's own state (its delay timers). The decision itself is
// the pure policy function; this only feeds it.

import type { ResolvedAutoscalingConfig } from "../deployments/options.ts";
import { OngoingRequestsWindow, type AutoscalingPolicy, type AutoscalingPolicyState } from "./autoscaling-policy.ts";

export interface AutoscalingSample {
  currentReplicas: number;
  runningReplicas: number;
  /** Queued + running requests right now (the router's count). */
  ongoingRequests: number;
}

export class AutoscalingState {
  readonly #policy: AutoscalingPolicy;
  readonly #window = new OngoingRequestsWindow();
  #policyState: AutoscalingPolicyState = {};

  constructor(policy: AutoscalingPolicy) {
    this.#policy = policy;
  }

  /** Records this step's sample and returns the replica count the policy wants. */
  decide(config: ResolvedAutoscalingConfig, nowMs: number, sample: AutoscalingSample): number {
    const nowS = nowMs / 1000;
    this.#window.record(nowS, sample.ongoingRequests);
    const decision = this.#policy({
      config,
      currentReplicas: sample.currentReplicas,
      runningReplicas: sample.runningReplicas,
      totalOngoingRequests: this.#window.average(nowS, config.lookBackPeriodS),
      nowS,
      policyState: this.#policyState,
    });
    this.#policyState = decision.policyState;
    return decision.replicas;
  }
}
