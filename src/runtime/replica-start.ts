// What a replica's thread is told when it starts (built from the spec, checked to be
// structured-clone safe before any thread exists), and how a failed start or a dead thread reads
// in the errors and logs users see.

import { ReplicaStartError } from "../errors.ts";
import type { ReplicaInit, StartPhase } from "./protocol.ts";
import type { ReplicaSpec } from "./replica.ts";

/** The replica's start message; throws ReplicaStartError when initArgs or userConfig cannot be cloned. */
export function replicaInit(spec: ReplicaSpec): ReplicaInit {
  const init: ReplicaInit = {
    replicaId: spec.replicaId,
    appName: spec.appName,
    deploymentName: spec.deploymentName,
    modulePath: spec.modulePath,
    exportName: spec.exportName,
    initArgs: spec.initArgs,
    hasUserConfig: spec.userConfig !== undefined,
    userConfig: spec.userConfig,
    maxOngoingRequests: spec.maxOngoingRequests,
    gpuIds: [...spec.gpuIds],
    resources: { ...spec.resources },
    ...(spec.nodeId !== undefined ? { nodeId: spec.nodeId } : {}),
    ...(spec.tracing !== undefined ? { tracing: spec.tracing } : {}),
  };
  try {
    // Fail here, clearly, rather than inside piscina after the thread started.
    structuredClone(init);
  } catch (err) {
    throw new ReplicaStartError(`replica ${spec.replicaId}: initArgs and userConfig must be structured-clone safe`, { cause: err });
  }
  return init;
}

const PHASE_TEXT: Record<StartPhase, string> = {
  import: "importing its module failed",
  "resolve-class": "its class was not found",
  constructor: "its constructor threw",
  init: "its init() failed",
  reconfigure: "reconfigure(userConfig) failed",
};

/** What failed, for "replica … failed to start: <text>: <cause>". */
export function startPhaseText(phase: StartPhase): string {
  return PHASE_TEXT[phase];
}

/** How the thread ended, for "replica … died: its thread <text>". */
export function describeDeath(err: Error, memoryMb: number | undefined): { text: string } {
  const code = (err as { code?: unknown }).code;
  if (code === "ERR_WORKER_OUT_OF_MEMORY") {
    return { text: `ran out of memory (memoryMb: ${memoryMb ?? "default heap limit"})` };
  }
  const exit = /worker exited with code: (-?\d+)/.exec(err.message);
  if (exit) return { text: `exited with code ${exit[1]} (process.exit() or a fatal error)` };
  return { text: `threw an uncaught ${err.name || "error"}: ${err.message}` };
}
