// Where a replica's resources come from. The controller asks a ReplicaScheduler to place each new
// replica; a placement that does not fit throws ResourceUnavailableError naming the short resource,
// and the replica stays pending (reported in status) until something frees up. The default
// scheduler is the node's fixed-point ResourcePool (src/runtime/resources.ts).

import type { DeploymentConfig } from "../deployments/options.ts";
import { ResourcePool, resourcesFromActorOptions } from "./resources.ts";

export interface Placement {
  readonly gpuIds: number[];
  /** Reserved amounts in user units, e.g. { CPU: 0.5, GPU: 1 }. */
  readonly resources: Record<string, number>;
  release(): void;
}

export interface ReplicaScheduler {
  /** Reserves what one replica asks for; throws ResourceUnavailableError when it does not fit. */
  place(actorOptions: DeploymentConfig["actorOptions"]): Placement;
  /** Node totals and what is free, in user units (status). */
  snapshot(): { total: Record<string, number>; available: Record<string, number> };
}

export class PoolScheduler implements ReplicaScheduler {
  readonly #pool: ResourcePool;

  constructor(pool: ResourcePool) {
    this.#pool = pool;
  }

  place(actorOptions: DeploymentConfig["actorOptions"]): Placement {
    const reservation = this.#pool.reserve(resourcesFromActorOptions(actorOptions));
    const pool = this.#pool;
    return {
      gpuIds: [...reservation.gpuIds],
      resources: reservation.resources.toJSON(),
      release: () => pool.release(reservation),
    };
  }

  snapshot(): { total: Record<string, number>; available: Record<string, number> } {
    return { total: this.#pool.total.toJSON(), available: this.#pool.available.toJSON() };
  }
}
