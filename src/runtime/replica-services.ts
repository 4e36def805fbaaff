// Main-thread services a replica reaches over its port besides handle calls (today: the task
// store of MCP Tasks). A replica addresses one as a handle call to the reserved application
// SERVICES_APP with the service's name as the deployment; the upcall server answers it from the
// services attached to the upcall transport instead of the router, with the calling replica's id
// bound by the main thread (a replica cannot claim to be another). When the replica's thread is
// gone — died, terminated or stopped — the services hear `replicaGone` with the reason.

import type { CallTransport } from "./call.ts";
import type { DeploymentId, ReplicaId } from "./ids.ts";

/** No application can have this name (names must be non-empty), so no handle call is taken for it. */
export const SERVICES_APP = "";

export function serviceTarget(service: string): DeploymentId {
  return { app: SERVICES_APP, deployment: service };
}

export interface ReplicaServices {
  /** Answers the service upcalls of one replica (`target.deployment` names the service). */
  forReplica(replicaId: ReplicaId): CallTransport;
  /** The replica's thread is gone; `reason` says how (for the records it leaves behind). */
  replicaGone(replicaId: ReplicaId, reason: string): void;
  /**
   * Work the replica runs outside any call (MCP tasks) that a graceful stop should wait for, like
   * calls in flight, within the same timeout.
   */
  pendingWork(replicaId: ReplicaId): number;
}

/** What a replica's upcalls go to: the router, plus the node's replica services when it has some. */
export interface UpcallTransport extends CallTransport {
  readonly services?: ReplicaServices;
}

export function withReplicaServices(router: CallTransport, services: ReplicaServices): UpcallTransport {
  return {
    call: (target, method, args, options) => router.call(target, method, args, options),
    stream: (target, method, args, options) => router.stream(target, method, args, options),
    services,
  };
}
