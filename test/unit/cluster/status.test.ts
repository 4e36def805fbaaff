import { describe, expect, it } from "vitest";
import { clusterStatus } from "../../../src/cluster/status.ts";
import type { NodeInfo } from "../../../src/cluster/membership.ts";
import type { ApplicationRecord, NodeHeartbeat } from "../../../src/cluster/records.ts";
import type { StatusSnapshot } from "../../../src/observability/status.ts";

const beat = (nodeId: string, extra: Partial<NodeHeartbeat> = {}): NodeHeartbeat => ({
  v: 1, nodeId, startedAt: 1, seq: 1, state: "up", labels: {}, address: `http://h/${nodeId}`,
  resources: { total: { CPU: 2 }, available: { CPU: 2 } }, leader: false, replicas: [], codeMismatch: [], ...extra,
});
const info = (id: string, state: NodeInfo["state"], b: NodeHeartbeat): NodeInfo => ({ id, state, beat: b, lastSeenMs: 0, sinceMs: 0 });

const record: ApplicationRecord = {
  v: 1, name: "echo", routePrefix: "/echo", importPath: "/x.ts:app", deployments: [{ name: "Echo" }],
  demands: [{ name: "Echo", replicas: 3, resources: { CPU: 1 } }], codeVersion: "v1", deployedBy: "a", deployedAt: 0,
};

describe("cluster status", () => {
  it("lists nodes, merges every node's replicas with their node, and shows pending replicas with the reason", () => {
    const local: StatusSnapshot = {
      runtime: {},
      applications: [{ name: "echo", routePrefix: "/echo", status: "RUNNING", deployments: [
        { name: "Echo", status: "HEALTHY", targetReplicas: 1, replicaStates: { RUNNING: 1 }, replicas: [{ id: "r1", state: "RUNNING" }] },
      ] }],
    };
    const snap = clusterStatus(local, {
      cluster: "c", selfId: "a", selfIsLeader: true, term: 7, codeMismatch: [], nowMs: 0,
      nodes: [
        info("a", "ALIVE", beat("a")),
        info("b", "ALIVE", beat("b", { replicas: [{ app: "echo", deployment: "Echo", id: "r2", state: "RUNNING" }] })),
        info("c", "DEAD", beat("c", { replicas: [{ app: "echo", deployment: "Echo", id: "r3", state: "RUNNING" }] })),
      ],
      records: [record],
      placement: { v: 1, term: 7, leader: "a", apps: { echo: { codeVersion: "v1", deployments: { Echo: { nodes: { a: 1, b: 1 }, pending: 1, pendingReason: "not enough CPU: requested 1, available 0 on any node" } } } } },
    });
    expect(snap.nodes!.map((n) => [n.id, n.state, n.leader])).toEqual([["a", "ALIVE", true], ["b", "ALIVE", false], ["c", "DEAD", false]]);
    expect(snap.cluster).toEqual({ name: "c", nodeId: "a", leader: "a", term: 7 });
    const d = snap.applications[0]!.deployments[0]!;
    // The dead node's replica is not counted.
    expect(d.replicas!.map((r) => [r.id, r.state, r.node])).toEqual([["r1", "RUNNING", "a"], ["r2", "RUNNING", "b"], ["pending-1", "PENDING", undefined]]);
    expect(d.targetReplicas).toBe(3);
    expect(snap.applications[0]!.status).toBe("DEPLOYING");
    expect(snap.applications[0]!.message).toBe("1 replica(s) pending: not enough CPU: requested 1, available 0 on any node");
  });
});
