import { describe, expect, it } from "vitest";
import { ErrorCode } from "../../../src/errors.ts";
import {
  DEFAULT_AUTOSCALING,
  mergeDeploymentOptions,
  resolveDeploymentConfig,
  validateDeploymentOptions,
} from "../../../src/deployments/options.ts";

function invalid(options: unknown): { code: string; message: string } {
  try {
    validateDeploymentOptions(options, "@deployment Foo");
  } catch (err) {
    return err as { code: string; message: string };
  }
  throw new Error("expected the options to be rejected");
}

describe("deployment options", () => {
  it.each([
    [{ numReplica: 2 }, /unknown option "numReplica"/],
    [{ autoscalingConfig: { minReplica: 1 } }, /unknown option "autoscalingConfig.minReplica"/],
    [{ actorOptions: { numCPUs: 1 } }, /unknown option "actorOptions.numCPUs"/],
    [{ numReplicas: "two" }, /invalid option "numReplicas"/],
    [{ numReplicas: -1 }, /invalid option "numReplicas"/],
    [{ numReplicas: 1.5 }, /invalid option "numReplicas"/],
    [{ maxOngoingRequests: 0 }, /invalid option "maxOngoingRequests"/],
    [{ maxQueuedRequests: -2 }, /invalid option "maxQueuedRequests"/],
    [{ maxOngoingStreams: -1 }, /invalid option "maxOngoingStreams"/],
    [{ maxOngoingStreams: 2.5 }, /invalid option "maxOngoingStreams"/],
    [{ actorOptions: { numGpus: -1 } }, /invalid option "actorOptions.numGpus"/],
    [{ actorOptions: { resources: { tpu: "x" } } }, /invalid option "actorOptions.resources.tpu"/],
    [{ healthCheckPeriodS: 0 }, /invalid option "healthCheckPeriodS"/],
    [{ autoscalingConfig: { targetOngoingRequests: 0 } }, /invalid option "autoscalingConfig.targetOngoingRequests"/],
    [{ autoscalingConfig: { minReplicas: 5, maxReplicas: 2 } }, /minReplicas \(5\) must not exceed .*maxReplicas \(2\)/],
    [{ autoscalingConfig: { minReplicas: 1, maxReplicas: 3, initialReplicas: 4 } }, /initialReplicas \(4\)/],
    [{ numReplicas: 2, autoscalingConfig: { maxReplicas: 3 } }, /numReplicas and autoscalingConfig are mutually exclusive/],
    [{ userConfig: { f: () => 1 } }, /userConfig must be structured-clone safe/],
  ])("rejects %j naming the option", (options, message) => {
    const err = invalid(options);
    expect(err.code).toBe(ErrorCode.INVALID_OPTIONS);
    expect(err.message).toMatch(message);
    expect(err.message).toMatch(/^@deployment Foo: /);
  });

  it("accepts numReplicas 'auto' with autoscalingConfig", () => {
    expect(() => validateDeploymentOptions({ numReplicas: "auto", autoscalingConfig: { maxReplicas: 4 } }, "x")).not.toThrow();
  });

  it("fills defaults for a fixed deployment", () => {
    const cfg = resolveDeploymentConfig({});
    expect(cfg).toMatchObject({
      numReplicas: 1,
      maxOngoingRequests: 5,
      maxQueuedRequests: -1,
      maxOngoingStreams: 100,
      healthCheckPeriodS: 10,
      healthCheckTimeoutS: 30,
      gracefulShutdownTimeoutS: 20,
      actorOptions: { numCpus: 1, numGpus: 0, resources: {} },
    });
    expect(cfg.autoscaling).toBeUndefined();
  });

  it("fills autoscaling defaults that react within seconds", () => {
    const cfg = resolveDeploymentConfig({ autoscalingConfig: { minReplicas: 0, maxReplicas: 4 } });
    expect(cfg.numReplicas).toBeUndefined();
    expect(cfg.autoscaling).toEqual({ ...DEFAULT_AUTOSCALING, minReplicas: 0, maxReplicas: 4, initialReplicas: 0 });
    expect(cfg.autoscaling!.lookBackPeriodS + cfg.autoscaling!.upscaleDelayS).toBeLessThanOrEqual(2);
  });

  it("switches scaling mode when .options() picks the other one", () => {
    const auto = { autoscalingConfig: { maxReplicas: 3 } };
    expect(mergeDeploymentOptions(auto, { numReplicas: 2 })).toEqual({ numReplicas: 2 });
    expect(mergeDeploymentOptions({ numReplicas: 2 }, auto)).toEqual(auto);
    expect(mergeDeploymentOptions({ numReplicas: 2, maxOngoingRequests: 3 }, { maxOngoingRequests: undefined })).toEqual({ numReplicas: 2 });
  });
});
