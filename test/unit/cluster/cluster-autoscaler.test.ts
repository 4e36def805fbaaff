// The leader's cluster-wide autoscaler on heartbeats made by hand: load from every serving node's
// replicas and queues, the single-node policy's formula and delays, a new leader inheriting the
// placed total, fixed deployments untouched.

import { describe, expect, it } from "vitest";
import { ClusterAutoscaler, clusterLoad } from "../../../src/cluster/cluster-autoscaler.ts";
import type { NodeInfo, NodeState } from "../../../src/cluster/membership.ts";
import type { ApplicationRecord, NodeHeartbeat, PlacementRecord } from "../../../src/cluster/records.ts";

function record(autoscaling: boolean, deployedAt = 1): ApplicationRecord {
  return {
    v: 1,
    name: "app",
    routePrefix: "/",
    importPath: "/x.ts:app",
    deployments: [
      autoscaling
        ? { name: "D", autoscalingConfig: { minReplicas: 1, maxReplicas: 6, targetOngoingRequests: 2, upscaleDelayS: 0, downscaleDelayS: 2, lookBackPeriodS: 0.5 } }
        : { name: "D", numReplicas: 3 },
    ],
    demands: [{ name: "D", replicas: autoscaling ? 1 : 3, resources: { CPU: 1 } }],
    codeVersion: "v",
    deployedBy: "a",
    deployedAt,
  };
}

function node(id: string, state: NodeState, ongoing: number[], queued = 0): NodeInfo {
  const beat: NodeHeartbeat = {
    v: 1,
    nodeId: id,
    startedAt: 0,
    seq: 1,
    state: "up",
    labels: {},
    resources: { total: {}, available: {} },
    leader: false,
    replicas: ongoing.map((n, i) => ({ app: "app", deployment: "D", id: `${id}-${i}`, state: "RUNNING", ongoing: n })),
    ...(queued > 0 ? { queued: [{ app: "app", deployment: "D", n: queued }] } : {}),
    codeMismatch: [],
  };
  return { id, state, beat, lastSeenMs: 0, sinceMs: 0 };
}

describe("cluster autoscaler", () => {
  it("counts every serving node's replicas and queues, not a dead node's", () => {
    const load = clusterLoad([node("a", "ALIVE", [3, 1], 4), node("b", "DRAINING", [2]), node("c", "DEAD", [9, 9])]);
    expect(load.get("app#D")).toEqual({ running: 3, ongoing: 10 });
  });

  it("scales up from the cluster's load at once, and down only after the delay", () => {
    const scaler = new ClusterAutoscaler();
    const r = [record(true)];
    // 2 replicas, 12 requests in flight or queued across two nodes: 12 / (2 × 2) = 3 → 6 replicas.
    const busy = [node("a", "ALIVE", [4], 2), node("b", "ALIVE", [6])];
    expect(scaler.apply(r, busy, undefined, 0)[0]!.demands[0]!.replicas).toBe(6);
    expect(scaler.target("app", "D")).toBe(6);
    const idle = [node("a", "ALIVE", [0, 0, 0]), node("b", "ALIVE", [0, 0, 0])];
    // Idle: wants minReplicas, but only after downscaleDelayS (2 s) of wanting it.
    expect(scaler.apply(r, idle, undefined, 1_000)[0]!.demands[0]!.replicas).toBe(6);
    expect(scaler.apply(r, idle, undefined, 2_000)[0]!.demands[0]!.replicas).toBe(6);
    expect(scaler.apply(r, idle, undefined, 3_100)[0]!.demands[0]!.replicas).toBe(1);
  });

  it("a new leader starts from the placed total; a fixed deployment passes through", () => {
    const placement: PlacementRecord = { v: 1, term: 2, leader: "x", apps: { app: { codeVersion: "v", deployments: { D: { nodes: { a: 2, b: 2 }, pending: 1 } } } } };
    const scaler = new ClusterAutoscaler();
    // Load for exactly 5 replicas × 2: stays at the inherited 5 instead of restarting at 1.
    const nodes = [node("a", "ALIVE", [2, 2]), node("b", "ALIVE", [2, 2], 2)];
    expect(scaler.apply([record(true)], nodes, placement, 0)[0]!.demands[0]!.replicas).toBe(5);
    const fixed = [record(false)];
    expect(new ClusterAutoscaler().apply(fixed, nodes, placement, 0)).toEqual(fixed);
  });
});
