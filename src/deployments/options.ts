// Deployment options: the user-facing shape (Ray Serve's option names in camelCase), the zod
// schema that validates it at declaration time, and `resolveDeploymentConfig`, which fills in
// defaults and produces the complete config the control plane runs on. Defaults are tuned for
// worker threads (tens of milliseconds to start), so autoscaling reacts in about a second
// instead of Ray's 30 s.

import { z } from "zod";
import { InvalidOptionsError } from "../errors.ts";

export interface AutoscalingConfig {
  minReplicas?: number;
  maxReplicas?: number;
  /** Replicas to start with; defaults to minReplicas. */
  initialReplicas?: number;
  /** Ongoing (queued + running) requests per replica the policy aims for. */
  targetOngoingRequests?: number;
  /** How long the policy must keep wanting more replicas before it adds them. */
  upscaleDelayS?: number;
  /** How long the policy must keep wanting fewer replicas before it removes them. */
  downscaleDelayS?: number;
  /** Ongoing requests are averaged over this window. */
  lookBackPeriodS?: number;
  /** Multiplies each upscale step (1 = go straight to the computed size). */
  upscalingFactor?: number;
  /** Multiplies each downscale step. */
  downscalingFactor?: number;
}

export interface ActorOptions {
  numCpus?: number;
  numGpus?: number;
  memoryMb?: number;
  /** Custom logical resources, e.g. `{ accelerator: 1 }`. */
  resources?: Record<string, number>;
}

export interface DeploymentOptions {
  /** Deployment name; defaults to the class name. */
  name?: string;
  /** Fixed replica count; `"auto"` turns on autoscaling with default settings. */
  numReplicas?: number | "auto";
  autoscalingConfig?: AutoscalingConfig;
  actorOptions?: ActorOptions;
  /** Concurrent requests one replica runs. */
  maxOngoingRequests?: number;
  /** Requests a caller may queue while every replica is full; -1 = unbounded. */
  maxQueuedRequests?: number;
  /**
   * Long-lived streams (2026-07-28 `subscriptions/listen`, legacy GET SSE streams) one replica
   * holds. They do not take `maxOngoingRequests` slots and never count for autoscaling.
   */
  maxOngoingStreams?: number;
  /**
   * Calls to this deployment may safely run twice. A call whose replica died with it in flight (a
   * crashed thread, a dead cluster node) is then sent once more to another replica instead of
   * failing with ReplicaDiedError. Default false.
   */
  idempotent?: boolean;
  /** Passed to the replica's `reconfigure(userConfig)`; a change alone is applied in place. */
  userConfig?: unknown;
  healthCheckPeriodS?: number;
  healthCheckTimeoutS?: number;
  gracefulShutdownTimeoutS?: number;
}

export const DEFAULT_AUTOSCALING: Required<Omit<AutoscalingConfig, "initialReplicas">> = {
  minReplicas: 1,
  maxReplicas: 10,
  targetOngoingRequests: 2,
  upscaleDelayS: 0.5,
  downscaleDelayS: 5,
  lookBackPeriodS: 1,
  upscalingFactor: 1,
  downscalingFactor: 1,
};

export const DEFAULT_OPTIONS = {
  numReplicas: 1,
  maxOngoingRequests: 5,
  maxQueuedRequests: -1,
  // An idle stream costs a replica little: ~17–20 KiB of its heap and ~90–115 KiB of process RSS
  // (benchmarks/stream-memory.ts), a keep-alive write every 15 s, one socket. 100 is ~2 MiB of heap
  // per replica; the bound keeps a reconnect storm or a leaking client from growing it without
  // limit (and from using up the process's file descriptors).
  maxOngoingStreams: 100,
  healthCheckPeriodS: 10,
  healthCheckTimeoutS: 30,
  gracefulShutdownTimeoutS: 20,
  // Ray Serve reserves one CPU per replica by default; threads are cheap, but CPU-bound user code
  // is not, so keep Ray's honest default and let users ask for fractions.
  numCpus: 1,
} as const;

const count = z.number().int().nonnegative();
const positive = z.number().positive();
const seconds = z.number().nonnegative();

const autoscalingSchema = z.strictObject({
  minReplicas: count.optional(),
  maxReplicas: z.number().int().positive().optional(),
  initialReplicas: count.optional(),
  targetOngoingRequests: positive.optional(),
  upscaleDelayS: seconds.optional(),
  downscaleDelayS: seconds.optional(),
  lookBackPeriodS: positive.optional(),
  upscalingFactor: positive.optional(),
  downscalingFactor: positive.optional(),
});

const actorOptionsSchema = z.strictObject({
  numCpus: z.number().nonnegative().optional(),
  numGpus: z.number().nonnegative().optional(),
  memoryMb: z.number().positive().optional(),
  resources: z.record(z.string().min(1), z.number().nonnegative()).optional(),
});

export const deploymentOptionsSchema = z.strictObject({
  name: z.string().min(1).regex(/^[^#/]+$/, "must not contain '#' or '/'").optional(),
  numReplicas: z.union([count, z.literal("auto")]).optional(),
  autoscalingConfig: autoscalingSchema.optional(),
  actorOptions: actorOptionsSchema.optional(),
  maxOngoingRequests: z.number().int().positive().optional(),
  maxQueuedRequests: z.number().int().min(-1).optional(),
  maxOngoingStreams: count.optional(),
  idempotent: z.boolean().optional(),
  userConfig: z.unknown().optional(),
  healthCheckPeriodS: positive.optional(),
  healthCheckTimeoutS: positive.optional(),
  gracefulShutdownTimeoutS: seconds.optional(),
});

/**
 * Validates user options; throws InvalidOptionsError naming the first bad option. `where` says
 * who declared them (e.g. `@deployment Adder`) so the message points at the right place.
 */
export function validateDeploymentOptions(options: unknown, where: string): DeploymentOptions {
  const parsed = deploymentOptionsSchema.safeParse(options ?? {});
  if (!parsed.success) throw new InvalidOptionsError(`${where}: ${describeIssue(parsed.error.issues[0]!)}`);
  const opts = parsed.data as DeploymentOptions;
  const fixed = opts.numReplicas !== undefined && opts.numReplicas !== "auto";
  if (fixed && opts.autoscalingConfig !== undefined) {
    throw new InvalidOptionsError(
      `${where}: numReplicas and autoscalingConfig are mutually exclusive (set one of them)`,
    );
  }
  if (opts.autoscalingConfig) checkAutoscalingBounds(opts.autoscalingConfig, where);
  if (opts.userConfig !== undefined) {
    try {
      structuredClone(opts.userConfig);
    } catch {
      throw new InvalidOptionsError(`${where}: userConfig must be structured-clone safe (plain data)`);
    }
  }
  return opts;
}

function checkAutoscalingBounds(cfg: AutoscalingConfig, where: string): void {
  const min = cfg.minReplicas ?? DEFAULT_AUTOSCALING.minReplicas;
  const max = cfg.maxReplicas ?? Math.max(DEFAULT_AUTOSCALING.maxReplicas, min);
  if (min > max) {
    throw new InvalidOptionsError(
      `${where}: autoscalingConfig.minReplicas (${min}) must not exceed autoscalingConfig.maxReplicas (${max})`,
    );
  }
  const initial = cfg.initialReplicas;
  if (initial !== undefined && (initial < min || initial > max)) {
    throw new InvalidOptionsError(
      `${where}: autoscalingConfig.initialReplicas (${initial}) must be between minReplicas (${min}) and maxReplicas (${max})`,
    );
  }
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String).join(".");
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys.map((k) => (path ? `${path}.${k}` : k));
    return `unknown option${keys.length > 1 ? "s" : ""} ${keys.map((k) => `"${k}"`).join(", ")}`;
  }
  return `invalid option "${path}": ${issue.message}`;
}

/** Merges `.options(...)` overrides into declared options; an explicit `undefined` unsets a key. */
export function mergeDeploymentOptions(base: DeploymentOptions, overrides: DeploymentOptions): DeploymentOptions {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete out[key];
    else out[key] = value;
  }
  // Choosing one scaling mode in `.options()` replaces the other from the declaration.
  if ("numReplicas" in overrides && overrides.numReplicas !== undefined && overrides.numReplicas !== "auto" && !("autoscalingConfig" in overrides)) {
    delete out.autoscalingConfig;
  }
  if ("autoscalingConfig" in overrides && overrides.autoscalingConfig !== undefined && !("numReplicas" in overrides)) {
    delete out.numReplicas;
  }
  return out as DeploymentOptions;
}

/** Autoscaling settings with every default applied. */
export type ResolvedAutoscalingConfig = Required<AutoscalingConfig>;

/** Everything the control plane needs, defaults applied. Immutable data. */
export interface DeploymentConfig {
  /** Fixed replica count, or undefined when autoscaling decides. */
  numReplicas?: number;
  autoscaling?: ResolvedAutoscalingConfig;
  actorOptions: { numCpus: number; numGpus: number; memoryMb?: number; resources: Record<string, number> };
  maxOngoingRequests: number;
  maxQueuedRequests: number;
  maxOngoingStreams: number;
  idempotent: boolean;
  userConfig?: unknown;
  healthCheckPeriodS: number;
  healthCheckTimeoutS: number;
  gracefulShutdownTimeoutS: number;
}

export function resolveDeploymentConfig(options: DeploymentOptions): DeploymentConfig {
  let autoscaling: ResolvedAutoscalingConfig | undefined;
  if (options.autoscalingConfig !== undefined || options.numReplicas === "auto") {
    const cfg = options.autoscalingConfig ?? {};
    const min = cfg.minReplicas ?? DEFAULT_AUTOSCALING.minReplicas;
    const max = cfg.maxReplicas ?? Math.max(DEFAULT_AUTOSCALING.maxReplicas, min);
    autoscaling = {
      ...DEFAULT_AUTOSCALING,
      ...cfg,
      minReplicas: min,
      maxReplicas: max,
      initialReplicas: cfg.initialReplicas ?? min,
    };
  }
  const actor = options.actorOptions ?? {};
  return {
    numReplicas: autoscaling ? undefined : ((options.numReplicas as number | undefined) ?? DEFAULT_OPTIONS.numReplicas),
    autoscaling,
    actorOptions: {
      numCpus: actor.numCpus ?? DEFAULT_OPTIONS.numCpus,
      numGpus: actor.numGpus ?? 0,
      memoryMb: actor.memoryMb,
      resources: { ...(actor.resources ?? {}) },
    },
    maxOngoingRequests: options.maxOngoingRequests ?? DEFAULT_OPTIONS.maxOngoingRequests,
    maxQueuedRequests: options.maxQueuedRequests ?? DEFAULT_OPTIONS.maxQueuedRequests,
    maxOngoingStreams: options.maxOngoingStreams ?? DEFAULT_OPTIONS.maxOngoingStreams,
    idempotent: options.idempotent === true,
    userConfig: options.userConfig,
    healthCheckPeriodS: options.healthCheckPeriodS ?? DEFAULT_OPTIONS.healthCheckPeriodS,
    healthCheckTimeoutS: options.healthCheckTimeoutS ?? DEFAULT_OPTIONS.healthCheckTimeoutS,
    gracefulShutdownTimeoutS: options.gracefulShutdownTimeoutS ?? DEFAULT_OPTIONS.gracefulShutdownTimeoutS,
  };
}
