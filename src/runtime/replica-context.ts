// What a replica knows about itself: its id, application, deployment, the GPU ids the scheduler
// gave it, its reserved resources and (cluster mode) its node (Ray's `get_replica_context()`). Set by the worker entry
// before the user's module is imported, so it is available at module top level, in the
// constructor and in every method.
//
// Kept on globalThis under a registered symbol so every copy of this module in the thread sees it.

import type { ReplicaId } from "./ids.ts";

export interface ReplicaContext {
  readonly replicaId: ReplicaId;
  readonly appName: string;
  readonly deploymentName: string;
  /** GPU ids to hand to the execution provider (fractional replicas share an id). */
  readonly gpuIds: readonly number[];
  /** Resources reserved for this replica, in user units (e.g. `{ CPU: 0.2, GPU: 0.5 }`). */
  readonly resources: Readonly<Record<string, number>>;
  /** The cluster node the replica runs on (`--node-id`); undefined outside cluster mode. */
  readonly nodeId?: string;
}

const KEY = Symbol.for("stingray.replicaContext");

/** The context of the replica this code runs in; throws outside a replica's worker thread. */
export function getReplicaContext(): ReplicaContext {
  const ctx = (globalThis as { [KEY]?: ReplicaContext })[KEY];
  if (!ctx) {
    throw new Error(
      "getReplicaContext() was called outside a replica: it only works in code running inside a deployment's worker thread",
    );
  }
  return ctx;
}

/** Installs the context for this thread (worker entry only). */
export function setReplicaContext(ctx: ReplicaContext): void {
  const frozen: ReplicaContext = Object.freeze({
    ...ctx,
    gpuIds: Object.freeze([...ctx.gpuIds]),
    resources: Object.freeze({ ...ctx.resources }),
  });
  (globalThis as { [KEY]?: ReplicaContext })[KEY] = frozen;
}
