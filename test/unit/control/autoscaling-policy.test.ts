import { describe, expect, it } from "vitest";
import { DEFAULT_AUTOSCALING, type ResolvedAutoscalingConfig } from "../../../src/deployments/options.ts";
import {
  OngoingRequestsWindow,
  desiredReplicas,
  replicaQueueLengthPolicy,
  type AutoscalingPolicyState,
} from "../../../src/runtime/autoscaling-policy.ts";

const cfg = (o: Partial<ResolvedAutoscalingConfig> = {}): ResolvedAutoscalingConfig => ({
  ...DEFAULT_AUTOSCALING,
  initialReplicas: 1,
  minReplicas: 0,
  maxReplicas: 10,
  targetOngoingRequests: 2,
  ...o,
});

describe("desiredReplicas (Ray's formula)", () => {
  it.each([
    { load: 4, running: 2, current: 2, c: {}, want: 2, why: "on target" },
    { load: 8, running: 2, current: 2, c: {}, want: 4, why: "twice the target doubles" },
    { load: 5, running: 2, current: 2, c: {}, want: 3, why: "rounds up" },
    { load: 100, running: 2, current: 2, c: {}, want: 10, why: "clamped to maxReplicas" },
    { load: 0, running: 4, current: 4, c: {}, want: 0, why: "idle goes to zero with minReplicas 0" },
    { load: 0, running: 4, current: 4, c: { minReplicas: 2 }, want: 2, why: "clamped to minReplicas" },
    { load: 2, running: 4, current: 4, c: {}, want: 1, why: "a quarter of the load" },
    { load: 8, running: 2, current: 2, c: { upscalingFactor: 0.5 }, want: 3, why: "upscaling factor smooths the step" },
    { load: 0, running: 4, current: 4, c: { downscalingFactor: 0.5 }, want: 2, why: "downscaling factor smooths the step" },
    { load: 1, running: 2, current: 2, c: { downscalingFactor: 0.1 }, want: 1, why: "a tiny factor still steps down by one" },
    { load: 1, running: 0, current: 0, c: {}, want: 1, why: "from zero one replica for waiting requests" },
    { load: 1, running: 0, current: 0, c: { upscalingFactor: 2 }, want: 2, why: "from zero with an upscaling factor" },
    { load: 0, running: 0, current: 2, c: {}, want: 2, why: "no data while replicas start: hold" },
    { load: 9, running: 0, current: 3, c: {}, want: 3, why: "replicas starting: no upscale on no data" },
  ])("$why", ({ load, running, current, c, want }) => {
    expect(desiredReplicas({ config: cfg(c), currentReplicas: current, runningReplicas: running, totalOngoingRequests: load })).toBe(want);
  });
});

describe("replicaQueueLengthPolicy delays", () => {
  type Step = { t: number; load: number; want: number };
  const run = (c: Partial<ResolvedAutoscalingConfig>, steps: Step[], start = 2) => {
    let current = start;
    let state: AutoscalingPolicyState = {};
    const got: number[] = [];
    for (const s of steps) {
      const d = replicaQueueLengthPolicy({
        config: cfg(c),
        currentReplicas: current,
        runningReplicas: current,
        totalOngoingRequests: s.load,
        nowS: s.t,
        policyState: state,
      });
      current = d.replicas;
      state = d.policyState;
      got.push(current);
    }
    return got;
  };

  it.each([
    {
      why: "upscales only after upscaleDelayS of sustained overload",
      c: { upscaleDelayS: 1 },
      steps: [
        { t: 0, load: 8, want: 2 },
        { t: 0.5, load: 8, want: 2 },
        { t: 1, load: 8, want: 4 },
      ],
    },
    {
      why: "a dip resets the upscale timer",
      c: { upscaleDelayS: 1 },
      steps: [
        { t: 0, load: 8, want: 2 },
        { t: 0.6, load: 4, want: 2 },
        { t: 1.2, load: 8, want: 2 },
        { t: 2.2, load: 8, want: 4 },
      ],
    },
    {
      why: "downscales only after downscaleDelayS",
      c: { downscaleDelayS: 5 },
      steps: [
        { t: 0, load: 0, want: 2 },
        { t: 4.9, load: 0, want: 2 },
        { t: 5, load: 0, want: 0 },
      ],
    },
    {
      why: "a burst during the downscale wait cancels it",
      c: { downscaleDelayS: 5 },
      steps: [
        { t: 0, load: 0, want: 2 },
        { t: 3, load: 4, want: 2 },
        { t: 6, load: 0, want: 2 },
        { t: 11, load: 0, want: 0 },
      ],
    },
  ])("$why", ({ c, steps }) => {
    expect(run(c, steps)).toEqual(steps.map((s) => s.want));
  });

  it("scales from zero at once, ignoring upscaleDelayS", () => {
    expect(run({ upscaleDelayS: 30 }, [{ t: 0, load: 1, want: 1 }], 0)).toEqual([1]);
  });
});

describe("OngoingRequestsWindow", () => {
  it("averages the samples inside the look-back window", () => {
    const w = new OngoingRequestsWindow();
    w.record(0, 10);
    w.record(0.5, 2);
    w.record(1, 4);
    expect(w.average(1, 1)).toBeCloseTo(16 / 3);
    expect(w.average(1.6, 1)).toBeCloseTo(4);
    expect(w.average(5, 1)).toBe(0);
  });
});
