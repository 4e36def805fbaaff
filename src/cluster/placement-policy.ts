// Where the leader puts replicas: a pure function (applications, nodes, previous placement) →
// placement, tested as a table. Spread by default (each replica goes to the eligible node with the
// fewest replicas of that deployment, then the fewest replicas overall), within each node's
// capacity (its `--num-cpus/--num-gpus/...` totals) and labels. Replicas already placed on a node
// that still holds them stay there, so a new node or a redeploy never reshuffles running replicas;
// a DRAINING or DEAD node's replicas are re-placed on the others. What fits nowhere is pending with
// the short resource named. Amounts are fixed-point integers, as in the node's ResourcePool.

import type { ApplicationPlacement, ApplicationRecord, DeploymentPlacement, ResourceAmounts } from "./records.ts";

export interface PlacementNode {
  id: string;
  labels: Record<string, string>;
  /** The node's total logical resources in user units. */
  total: ResourceAmounts;
  /** true: may get new replicas (ALIVE); false: keeps what it has, gets nothing new (SUSPECT). */
  acceptsNew: boolean;
  /** Applications whose code differs on this node: it gets none of their replicas. */
  codeMismatch: ReadonlySet<string>;
}

const SCALE = 10_000;
const fixed = (x: number) => Math.round(x * SCALE);
const user = (x: number) => x / SCALE;

export function placeReplicas(
  apps: readonly ApplicationRecord[],
  nodes: readonly PlacementNode[],
  previous: Readonly<Record<string, ApplicationPlacement>> = {},
): Record<string, ApplicationPlacement> {
  const free = new Map<string, Map<string, number>>();
  const totalCount = new Map<string, number>();
  for (const n of nodes) {
    free.set(n.id, new Map(Object.entries(n.total).map(([k, v]) => [k, fixed(v)])));
    totalCount.set(n.id, 0);
  }
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const fits = (nodeId: string, demand: ResourceAmounts): boolean => {
    const f = free.get(nodeId)!;
    return Object.entries(demand).every(([k, v]) => fixed(v) === 0 || (f.get(k) ?? 0) >= fixed(v));
  };
  const take = (nodeId: string, demand: ResourceAmounts): void => {
    const f = free.get(nodeId)!;
    for (const [k, v] of Object.entries(demand)) f.set(k, (f.get(k) ?? 0) - fixed(v));
    totalCount.set(nodeId, totalCount.get(nodeId)! + 1);
  };
  const eligible = (app: ApplicationRecord, n: PlacementNode): boolean =>
    !n.codeMismatch.has(app.name) && Object.entries(app.nodeSelector ?? {}).every(([k, v]) => n.labels[k] === v);

  const out: Record<string, ApplicationPlacement> = {};
  const sorted = [...apps].sort((a, b) => a.name.localeCompare(b.name));
  // Pass 1: keep what is already placed on nodes that still hold it (stability), in app order.
  const counts = new Map<string, Map<string, number>>();
  for (const app of sorted) {
    for (const d of app.demands) {
      const key = `${app.name}#${d.name}`;
      const mine = new Map<string, number>();
      counts.set(key, mine);
      const before = previous[app.name]?.deployments[d.name]?.nodes ?? {};
      let budget = d.replicas;
      const holders = Object.entries(before).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
      const keptPer = new Map<string, number>();
      for (const [nodeId] of holders) keptPer.set(nodeId, 0);
      // Round-robin over the holders, so a scale-down trims the fullest nodes first.
      let progress = true;
      while (budget > 0 && progress) {
        progress = false;
        for (const [nodeId, n] of holders) {
          const node = byId.get(nodeId);
          if (!node || !eligible(app, node) || budget === 0) continue;
          if (keptPer.get(nodeId)! >= n || !fits(nodeId, d.resources)) continue;
          take(nodeId, d.resources);
          keptPer.set(nodeId, keptPer.get(nodeId)! + 1);
          mine.set(nodeId, (mine.get(nodeId) ?? 0) + 1);
          budget--;
          progress = true;
        }
      }
    }
  }
  // Pass 2: place the rest, spreading.
  for (const app of sorted) {
    const deployments: Record<string, DeploymentPlacement> = {};
    for (const d of app.demands) {
      const mine = counts.get(`${app.name}#${d.name}`)!;
      let placed = [...mine.values()].reduce((a, b) => a + b, 0);
      while (placed < d.replicas) {
        const candidates = nodes.filter((n) => n.acceptsNew && eligible(app, n) && fits(n.id, d.resources));
        if (candidates.length === 0) break;
        candidates.sort(
          (a, b) =>
            (mine.get(a.id) ?? 0) - (mine.get(b.id) ?? 0) ||
            totalCount.get(a.id)! - totalCount.get(b.id)! ||
            a.id.localeCompare(b.id),
        );
        const pick = candidates[0]!;
        take(pick.id, d.resources);
        mine.set(pick.id, (mine.get(pick.id) ?? 0) + 1);
        placed++;
      }
      const placement: DeploymentPlacement = { nodes: Object.fromEntries([...mine].filter(([, n]) => n > 0).sort()), pending: d.replicas - placed };
      if (placement.pending > 0) placement.pendingReason = pendingReason(app, d.resources, nodes, free, eligible);
      deployments[d.name] = placement;
    }
    out[app.name] = { codeVersion: app.codeVersion, deployments };
  }
  return out;
}

/** Why a replica fits nowhere, naming the short resource when that is the reason. */
function pendingReason(
  app: ApplicationRecord,
  demand: ResourceAmounts,
  nodes: readonly PlacementNode[],
  free: Map<string, Map<string, number>>,
  eligible: (app: ApplicationRecord, n: PlacementNode) => boolean,
): string {
  const open = nodes.filter((n) => n.acceptsNew);
  if (open.length === 0) return "no ALIVE node";
  const selected = open.filter((n) => Object.entries(app.nodeSelector ?? {}).every(([k, v]) => n.labels[k] === v));
  if (selected.length === 0) {
    const sel = Object.entries(app.nodeSelector ?? {}).map(([k, v]) => `${k}=${v}`).join(",");
    return `no ALIVE node has the labels ${sel}`;
  }
  const same = selected.filter((n) => eligible(app, n));
  if (same.length === 0) return "every eligible node runs a different code version of this application";
  for (const [resource, amount] of Object.entries(demand)) {
    if (fixed(amount) === 0) continue;
    const best = Math.max(...same.map((n) => free.get(n.id)!.get(resource) ?? 0));
    if (best < fixed(amount)) {
      return `not enough ${resource}: requested ${amount}, available ${user(Math.max(0, best))} on any node`;
    }
  }
  return "no node has room for all the resources one replica needs";
}
