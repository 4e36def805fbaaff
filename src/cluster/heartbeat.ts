// What a node says about itself every 500 ms: built from its local status snapshot (each
// replica's state and load, the requests queued in its routers, its resources) plus who it is.
// Pure: node.ts publishes it; heartbeats of other nodes feed membership, routing and autoscaling.

import type { StatusSnapshot } from "../observability/status.ts";
import { WIRE_VERSION, type NodeHeartbeat } from "./records.ts";

export type HeartbeatIdentity = Pick<NodeHeartbeat, "nodeId" | "startedAt" | "seq" | "state" | "labels" | "leader" | "epoch" | "codeMismatch" | "address">;

export function buildHeartbeat(local: StatusSnapshot, who: HeartbeatIdentity): NodeHeartbeat {
  const replicas: NodeHeartbeat["replicas"] = [];
  const queued: NonNullable<NodeHeartbeat["queued"]> = [];
  for (const app of local.applications) {
    for (const d of app.deployments) {
      if (d.queued) queued.push({ app: app.name, deployment: d.name, n: d.queued });
      for (const r of d.replicas ?? []) {
        replicas.push({
          app: app.name,
          deployment: d.name,
          id: r.id,
          state: r.state,
          ...(r.ongoing !== undefined ? { ongoing: r.ongoing } : {}),
          ...(r.streams !== undefined ? { streams: r.streams } : {}),
        });
      }
    }
  }
  const { address, ...rest } = who;
  return {
    v: WIRE_VERSION,
    ...rest,
    resources: local.runtime.resources ?? { total: {}, available: {} },
    replicas,
    ...(queued.length > 0 ? { queued } : {}),
    ...(address ? { address } : {}),
  };
}
