// The cluster view of `status`: the local snapshot plus every node this node knows of (`nodes`),
// and for each application in the desired state the replicas of every node, each naming its node,
// with the leader's pending replicas (and the short resource) listed too. Built from heartbeats
// and KV only, so any node answers without asking the others. Pure; no NATS.

import type {
  ApplicationStatusInfo,
  ClusterNodeStatusInfo,
  DeploymentStatusInfo,
  ReplicaStatusInfo,
  StatusSnapshot,
} from "../observability/status.ts";
import type { NodeInfo } from "./membership.ts";
import type { ApplicationRecord, CodeMismatch, PlacementRecord } from "./records.ts";

export interface ClusterStatusContext {
  cluster: string;
  selfId: string;
  selfIsLeader: boolean;
  term: number;
  nodes: NodeInfo[];
  records: ApplicationRecord[];
  placement: PlacementRecord | undefined;
  codeMismatch: CodeMismatch[];
  natsServer?: string;
  nowMs?: number;
}

export function clusterStatus<T extends StatusSnapshot>(local: T, ctx: ClusterStatusContext): T {
  const now = ctx.nowMs ?? performance.timeOrigin + performance.now();
  const nodes: ClusterNodeStatusInfo[] = ctx.nodes.map((n) => {
    const info: ClusterNodeStatusInfo = {
      id: n.id,
      state: n.state,
      leader: n.id === ctx.selfId ? ctx.selfIsLeader : n.beat.leader && n.state !== "DEAD",
      resources: n.beat.resources,
      labels: n.beat.labels,
      lastSeenMsAgo: Math.max(0, Math.round(now - n.lastSeenMs)),
    };
    if (n.beat.address) info.address = n.beat.address;
    if (n.beat.codeMismatch.length > 0) info.codeMismatch = n.beat.codeMismatch;
    return info;
  });
  const leader = nodes.find((n) => n.leader)?.id ?? ctx.placement?.leader;
  const remote = ctx.nodes.filter((n) => n.id !== ctx.selfId && n.state !== "DEAD");

  const localApps = new Map(local.applications.map((a) => [a.name, a]));
  const applications: ApplicationStatusInfo[] = local.applications
    .filter((a) => !ctx.records.some((r) => r.name === a.name))
    .map((a) => withNode(a, ctx.selfId));
  for (const record of ctx.records) {
    const mine = localApps.get(record.name);
    const placed = ctx.placement?.apps[record.name];
    const deployments: DeploymentStatusInfo[] = record.demands.map((demand) => {
      const base = mine?.deployments.find((d) => d.name === demand.name);
      const replicas: ReplicaStatusInfo[] = (base?.replicas ?? []).map((r) => ({ ...r, node: ctx.selfId }));
      for (const n of remote) {
        for (const r of n.beat.replicas) {
          if (r.app !== record.name || r.deployment !== demand.name) continue;
          replicas.push({ id: r.id, state: r.state, node: n.id, ...(r.ongoing !== undefined ? { ongoing: r.ongoing } : {}) });
        }
      }
      const p = placed?.deployments[demand.name];
      for (let i = 0; i < (p?.pending ?? 0); i++) {
        replicas.push({ id: `pending-${i + 1}`, state: "PENDING", ...(p?.pendingReason ? { message: p.pendingReason } : {}) });
      }
      const replicaStates: Record<string, number> = {};
      for (const r of replicas) replicaStates[r.state] = (replicaStates[r.state] ?? 0) + 1;
      const running = replicaStates.RUNNING ?? 0;
      // The leader's placement holds the current target (autoscaling moves it); before the first
      // placement, the desired state's.
      const target = p ? Object.values(p.nodes).reduce((a, b) => a + b, 0) + p.pending : demand.replicas;
      const info: DeploymentStatusInfo = {
        ...(base ?? {}),
        name: demand.name,
        status: running >= target ? "HEALTHY" : "UPDATING",
        targetReplicas: target,
        replicaStates,
        replicas,
        resourcesPerReplica: demand.resources,
      };
      if (p?.pending) info.message = `${p.pending} replica(s) pending: ${p.pendingReason ?? "no room"}`;
      else delete info.message;
      return info;
    });
    const current = placed?.codeVersion === record.codeVersion;
    const healthy = current && deployments.every((d) => d.status === "HEALTHY");
    const app: ApplicationStatusInfo = {
      name: record.name,
      routePrefix: record.routePrefix ?? "",
      status: mine?.status === "DEPLOY_FAILED" ? "DEPLOY_FAILED" : healthy ? "RUNNING" : "DEPLOYING",
      ingressDeployment: record.demands[record.demands.length - 1]?.name,
      deployments,
    };
    const pending = deployments.find((d) => d.message)?.message;
    const mismatch = ctx.codeMismatch.find((m) => m.app === record.name);
    if (mine?.status === "DEPLOY_FAILED" && mine.message) app.message = mine.message;
    else if (mismatch) app.message = `this node's code differs (version ${mismatch.actual}, cluster ${mismatch.expected}): not served here`;
    else if (pending) app.message = pending;
    else if (!placed) app.message = "waiting for the leader to place it";
    applications.push(mine ? { ...mine, ...app } : app);
  }
  const cluster: StatusSnapshot["cluster"] = { name: ctx.cluster, nodeId: ctx.selfId };
  if (leader) cluster.leader = leader;
  if (ctx.placement) cluster.term = ctx.placement.term;
  if (ctx.natsServer) cluster.natsServer = ctx.natsServer;
  return { ...local, applications, nodes, cluster };
}

function withNode(app: ApplicationStatusInfo, node: string): ApplicationStatusInfo {
  return {
    ...app,
    deployments: app.deployments.map((d) => ({ ...d, ...(d.replicas ? { replicas: d.replicas.map((r) => ({ ...r, node })) } : {}) })),
  };
}
