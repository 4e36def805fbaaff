// How the router chooses a replica: one method over the replicas that still have room. The
// default is power of two choices on in-flight counts (Ray's pow_2_router): sample two distinct
// replicas at random and take the less loaded one, which spreads load nearly as well as "least
// loaded" without every caller herding onto the same replica.

import type { ReplicaId } from "./ids.ts";

export interface ReplicaCandidate {
  readonly id: ReplicaId;
  /** Requests in flight on it now. */
  readonly ongoing: number;
  /** On another cluster node (a hop over NATS away). */
  readonly remote?: boolean;
}

export interface ReplicaPicker {
  /** Picks one of `candidates` (all below their limit), or undefined when there are none. */
  pick(candidates: readonly ReplicaCandidate[]): ReplicaId | undefined;
}

export class PowerOfTwoChoicesPicker implements ReplicaPicker {
  readonly #random: () => number;

  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  pick(candidates: readonly ReplicaCandidate[]): ReplicaId | undefined {
    const n = candidates.length;
    if (n === 0) return undefined;
    if (n === 1) return candidates[0]!.id;
    const i = Math.min(n - 1, Math.floor(this.#random() * n));
    let j = Math.min(n - 2, Math.floor(this.#random() * (n - 1)));
    if (j >= i) j++;
    const a = candidates[i]!;
    const b = candidates[j]!;
    return b.ongoing < a.ongoing ? b.id : a.id;
  }
}

/**
 * A per-request say in where a new request goes (the router's placement hook): it gets the
 * replicas with room and the router's own `pick`, and returns its choice, e.g. only replicas with
 * room for one more MCP session. Called each time the request is assigned (again after a refusal).
 */
export type ReplicaPlacement = (
  candidates: readonly ReplicaCandidate[],
  pick: (candidates: readonly ReplicaCandidate[]) => ReplicaId | undefined,
) => ReplicaId | undefined;

/**
 * Cluster mode: local replicas first while they are not busier than the remote ones. The picker
 * chooses among the local replicas and among the remote ones; the local choice wins unless the
 * remote choice has fewer requests in flight. With only one kind it is the picker alone.
 */
export function pickLocalFirst(candidates: readonly ReplicaCandidate[], picker: ReplicaPicker): ReplicaId | undefined {
  let remote = 0;
  for (const c of candidates) if (c.remote) remote++;
  if (remote === 0 || remote === candidates.length) return picker.pick(candidates);
  const local = candidates.filter((c) => !c.remote);
  const others = candidates.filter((c) => c.remote);
  const localId = picker.pick(local);
  const remoteId = picker.pick(others);
  const l = local.find((c) => c.id === localId);
  const r = others.find((c) => c.id === remoteId);
  if (!l || !r) return l?.id ?? r?.id;
  return r.ongoing < l.ongoing ? r.id : l.id;
}
