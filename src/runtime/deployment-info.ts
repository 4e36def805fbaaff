// Data about one deployment shared by the controller's parts: the goal the controller runs
// (DeploymentTarget), what a DeploymentState depends on, the status it reports, and how
// versions, replica specs and resources are described.

import { createHash } from "node:crypto";
import { serialize } from "node:v8";
import type { DeploymentConfig } from "../deployments/options.ts";
import type { DeploymentStatusInfo, ReplicaStatusInfo } from "../observability/status.ts";
import type { AutoscalingPolicy } from "./autoscaling-policy.ts";
import type { CallTransport } from "./call.ts";
import type { Clock } from "./clock.ts";
import type { DeploymentId, ReplicaId } from "./ids.ts";
import type { Placement, ReplicaScheduler } from "./placement.ts";
import type { ReplicaFactory, ReplicaSpec } from "./replica.ts";
import type { ReplicaState } from "./replica-state.ts";
import type { DeploymentRouter } from "./router.ts";
import type { UnkillableThreads } from "./unkillable-threads.ts";

/** What the controller should run for one deployment (the goal). */
export interface DeploymentTarget {
  id: DeploymentId;
  modulePath: string;
  /** The class's registry name (or an export of the module) the worker loads. */
  exportName: string;
  initArgs: unknown[];
  config: DeploymentConfig;
  /** Changes when the code, init args or replica-shaping options change (rolling replace). */
  codeVersion: string;
}

export type DeploymentStatus = "UPDATING" | "HEALTHY" | "UNHEALTHY" | "DEPLOY_FAILED" | "UPSCALING" | "DOWNSCALING";

export interface ControlLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface DeploymentStateDeps {
  clock: Clock;
  replicaFactory: ReplicaFactory;
  scheduler: ReplicaScheduler;
  router: DeploymentRouter;
  upcall?: CallTransport;
  log: ControlLogger;
  policy: AutoscalingPolicy;
  /** Consecutive failed liveness probes that declare a replica dead (Ray: 3). */
  healthCheckFailureThreshold: number;
  /** How long a terminated (or drained) replica's thread may take to exit before it is reported. */
  threadExitWaitMs: number;
  /** Where threads that would not exit are reported (shared by every deployment). */
  unkillable: UnkillableThreads;
  /** Consecutive failed starts of one version that mark the deployment DEPLOY_FAILED. */
  maxStartFailures: number;
  newReplicaId(id: DeploymentId): ReplicaId;
  /**
   * Asks for a controller step soon (coalesced), for events that should not wait for the next
   * tick: a replica died (start its replacement) or finished starting (make it RUNNING).
   */
  requestStep?: () => void;
}

export interface DeploymentStatusReport extends DeploymentStatusInfo {
  status: DeploymentStatus;
  runningReplicas: number;
  /** Replicas waiting for resources. */
  pendingReplicas: number;
  /** The resource they wait for (e.g. "GPU"). */
  pendingResource?: string;
  lastError?: { name: string; code?: string; message: string };
  replicas: ReplicaStatusInfo[];
}

export function userConfigVersion(userConfig: unknown): string {
  if (userConfig === undefined) return "none";
  return createHash("sha256").update(serialize(userConfig)).digest("hex").slice(0, 16);
}

export function actorResources(config: DeploymentConfig): Record<string, number> {
  const a = config.actorOptions;
  const out: Record<string, number> = { ...a.resources };
  if (a.numCpus > 0) out.CPU = a.numCpus;
  if (a.numGpus > 0) out.GPU = a.numGpus;
  if (a.memoryMb !== undefined) out.memory = a.memoryMb;
  return out;
}

export function describeError(err: Error): { name: string; code?: string; message: string } {
  const out: { name: string; code?: string; message: string } = { name: err.name, message: err.message };
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string") out.code = code;
  return out;
}

/** What a new replica of `target` is built from. */
export function replicaSpecFor(
  target: DeploymentTarget,
  replicaId: ReplicaId,
  placement: Placement,
  upcall: CallTransport | undefined,
): ReplicaSpec {
  const spec: ReplicaSpec = {
    replicaId,
    appName: target.id.app,
    deploymentName: target.id.deployment,
    modulePath: target.modulePath,
    exportName: target.exportName,
    initArgs: target.initArgs,
    maxOngoingRequests: target.config.maxOngoingRequests,
    maxOngoingStreams: target.config.maxOngoingStreams,
    gpuIds: placement.gpuIds,
    resources: placement.resources,
  };
  if (target.config.userConfig !== undefined) spec.userConfig = target.config.userConfig;
  if (target.config.actorOptions.memoryMb !== undefined) spec.memoryMb = target.config.actorOptions.memoryMb;
  if (upcall) spec.upcall = upcall;
  return spec;
}

/**
 * The status lines of replicas; `ongoing` is the router's in-flight count per replica, `streams`
 * the long-lived streams the replica itself holds (cancelled ones count until they unwound).
 */
export function replicaStatusList(replicas: readonly ReplicaState[], ongoing: ReadonlyMap<ReplicaId, number>): ReplicaStatusInfo[] {
  return replicas.map((r) => ({
    id: r.id,
    state: r.state,
    // The actor's count also holds calls other nodes sent it (cluster mode) and health probes.
    ongoing: Math.max(ongoing.get(r.id) ?? 0, r.actor.ongoing),
    streams: r.actor.ongoingStreams,
    gpuIds: r.placement.gpuIds,
    resources: r.placement.resources,
    startedAt: r.createdAtMs,
  }));
}
