// Cluster-wide autoscaling, run by the leader: the same policy a single node uses (Ray's
// replica-queue-length policy, src/runtime/autoscaling-policy.ts) fed with the load of the whole
// cluster, read from heartbeats: requests in flight on every replica of the deployment on any node
// that still serves (each replica counted once, by the node that runs it) plus the requests
// queued in every node's router. Its output is the number of replicas to place; placement decides
// where. Nodes run their share at a fixed count, so no node scales on its own view.
// A new leader starts from the placement it inherits (the running total), not from scratch.

import { resolveDeploymentConfig } from "../deployments/options.ts";
import { replicaQueueLengthPolicy, type AutoscalingPolicy } from "../runtime/autoscaling-policy.ts";
import { AutoscalingState } from "../runtime/autoscaling-state.ts";
import type { NodeInfo } from "./membership.ts";
import type { ApplicationRecord, PlacementRecord } from "./records.ts";

interface DeploymentScaling {
  /** Which desired-state record this belongs to (a redeploy starts over). */
  deployedAt: number;
  state: AutoscalingState;
  target: number;
}

/** Nodes whose replicas still serve (and whose load and queue count). */
const SERVING = new Set(["ALIVE", "SUSPECT", "DRAINING"]);

export class ClusterAutoscaler {
  readonly #policy: AutoscalingPolicy;
  readonly #scaling = new Map<string, DeploymentScaling>();

  constructor(policy: AutoscalingPolicy = replicaQueueLengthPolicy) {
    this.#policy = policy;
  }

  /**
   * The records with each autoscaling deployment's demand set to what the cluster's load asks
   * for now (deployments with a fixed numReplicas pass through unchanged).
   */
  apply(records: readonly ApplicationRecord[], nodes: readonly NodeInfo[], placement: PlacementRecord | undefined, nowMs: number): ApplicationRecord[] {
    const load = clusterLoad(nodes);
    const live = new Set<string>();
    const out = records.map((record) => {
      const demands = record.demands.map((demand) => {
        const options = record.deployments.find((d) => d.name === demand.name);
        const config = options ? resolveDeploymentConfig(options).autoscaling : undefined;
        if (!config) return demand;
        const key = `${record.name}#${demand.name}`;
        live.add(key);
        let s = this.#scaling.get(key);
        if (!s || s.deployedAt !== record.deployedAt) {
          const placed = placement?.apps[record.name]?.deployments[demand.name];
          const inherited = placed ? Object.values(placed.nodes).reduce((a, b) => a + b, 0) + placed.pending : undefined;
          s = { deployedAt: record.deployedAt, state: new AutoscalingState(this.#policy), target: inherited ?? config.initialReplicas };
          this.#scaling.set(key, s);
        }
        const l = load.get(key) ?? { running: 0, ongoing: 0 };
        s.target = s.state.decide(config, nowMs, { currentReplicas: s.target, runningReplicas: l.running, ongoingRequests: l.ongoing });
        return { ...demand, replicas: s.target };
      });
      return { ...record, demands };
    });
    for (const key of [...this.#scaling.keys()]) if (!live.has(key)) this.#scaling.delete(key);
    return out;
  }

  /** The current cluster-wide target of one deployment, if it autoscales (status, tests). */
  target(app: string, deployment: string): number | undefined {
    return this.#scaling.get(`${app}#${deployment}`)?.target;
  }
}

/** Per "app#deployment": RUNNING replicas, and requests in flight on them plus queued for them. */
export function clusterLoad(nodes: readonly NodeInfo[]): Map<string, { running: number; ongoing: number }> {
  const out = new Map<string, { running: number; ongoing: number }>();
  const entry = (key: string) => {
    let e = out.get(key);
    if (!e) out.set(key, (e = { running: 0, ongoing: 0 }));
    return e;
  };
  for (const n of nodes) {
    if (!SERVING.has(n.state)) continue;
    for (const r of n.beat.replicas) {
      const e = entry(`${r.app}#${r.deployment}`);
      if (r.state === "RUNNING") e.running++;
      e.ongoing += r.ongoing ?? 0;
    }
    for (const q of n.beat.queued ?? []) entry(`${q.app}#${q.deployment}`).ongoing += q.n;
  }
  return out;
}
