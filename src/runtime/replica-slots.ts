// The router's table of replicas: one slot per replica it may send requests to (this node's and,
// in cluster mode, other nodes'), with what the router has in flight on each, and the choice of a
// slot with room for a request (power of two choices, local first) or for a long-lived stream.
// Leases taken here give the room back exactly once. The queueing policy (who waits, who fails,
// retries) stays in the router; this module only counts and chooses.

import type { ReplicaId } from "./ids.ts";
import type { ReplicaActor } from "./replica.ts";
import { pickLocalFirst, type ReplicaCandidate, type ReplicaPicker, type ReplicaPlacement } from "./replica-picker.ts";
import type { Lease } from "./route-lease.ts";

export interface Slot {
  readonly replica: ReplicaActor;
  /** On another cluster node: chosen only when no local replica is less loaded. */
  readonly remote: boolean;
  /** Requests this router has in flight on the replica (long-lived streams are in `streams`). */
  ongoing: number;
  /** Of those, the ones the autoscaler counts (streams stop counting after their first item). */
  counted: number;
  /** Long-lived streams this router has open on the replica. */
  streams: number;
  live: boolean;
  /** It refused a call as busy: skip it until one of its calls ends or the next poke(). */
  refused: boolean;
}

/** The per-replica bounds the table enforces. */
export interface SlotLimits {
  maxOngoingRequests: number;
  maxOngoingStreams: number;
}

const noop = (): void => {};

export class ReplicaSlots {
  readonly #slots = new Map<ReplicaId, Slot>();
  readonly #picker: ReplicaPicker;
  readonly #limits: () => SlotLimits;
  /** A request's lease was given back: room may have freed for a queued one. */
  readonly #onRelease: () => void;

  constructor(options: { picker: ReplicaPicker; limits: () => SlotLimits; onRelease: () => void }) {
    this.#picker = options.picker;
    this.#limits = options.limits;
    this.#onRelease = options.onRelease;
  }

  /**
   * Makes the local (or remote) slots exactly `replicas`: the others stop being chosen at once
   * (`live` false, for leases still out on them). True if anything changed.
   */
  replace(replicas: readonly ReplicaActor[], remote: boolean): boolean {
    const keep = new Set(replicas.map((r) => r.id));
    let changed = false;
    for (const [id, slot] of this.#slots) {
      if (slot.remote !== remote || keep.has(id)) continue;
      slot.live = false;
      this.#slots.delete(id);
      changed = true;
    }
    for (const r of replicas) {
      if (this.#slots.has(r.id)) continue;
      this.#slots.set(r.id, { replica: r, remote: r.remote === true, ongoing: 0, counted: 0, streams: 0, live: true, refused: false });
      changed = true;
    }
    return changed;
  }

  /** Drops one replica (it died). True if it was in the table. */
  remove(id: ReplicaId): boolean {
    const slot = this.#slots.get(id);
    if (!slot) return false;
    slot.live = false;
    this.#slots.delete(id);
    return true;
  }

  get size(): number {
    return this.#slots.size;
  }

  has(id: ReplicaId): boolean {
    return this.#slots.has(id);
  }

  get ids(): ReplicaId[] {
    return [...this.#slots.keys()];
  }

  /** A routable replica of this node by id. */
  local(id: ReplicaId): ReplicaActor | undefined {
    const slot = this.#slots.get(id);
    return slot && slot.live && !slot.remote ? slot.replica : undefined;
  }

  /** Requests in flight through this router (long-lived streams excluded). */
  get ongoing(): number {
    let n = 0;
    for (const s of this.#slots.values()) n += s.ongoing;
    return n;
  }

  /** Of those, the ones the autoscaler counts. */
  get counted(): number {
    let n = 0;
    for (const s of this.#slots.values()) n += s.counted;
    return n;
  }

  ongoingByReplica(): Map<ReplicaId, number> {
    return new Map([...this.#slots].map(([id, s]) => [id, s.ongoing]));
  }

  streamsByReplica(): Map<ReplicaId, number> {
    return new Map([...this.#slots].map(([id, s]) => [id, s.streams]));
  }

  /** Forgets busy refusals (actor counts can fall on their own). */
  clearRefusals(): void {
    for (const slot of this.#slots.values()) slot.refused = false;
  }

  /** A slot with room for a request: the pinned one, else the placement's or the picker's choice. */
  tryAssign(pin: ReplicaId | undefined, placement?: ReplicaPlacement): Slot | undefined {
    if (pin !== undefined) {
      const slot = this.#slots.get(pin);
      return slot && slot.live && !slot.refused && this.#capacityLeft(slot) > 0 ? slot : undefined;
    }
    const candidates: ReplicaCandidate[] = [];
    for (const [id, slot] of this.#slots) {
      if (slot.live && !slot.refused && this.#capacityLeft(slot) > 0) {
        candidates.push({ id, ongoing: Math.max(slot.ongoing, slot.replica.ongoing), remote: slot.remote });
      }
    }
    const pick = (c: readonly ReplicaCandidate[]): ReplicaId | undefined => pickLocalFirst(c, this.#picker);
    const id = placement ? placement(candidates, pick) : pick(candidates);
    return id === undefined ? undefined : this.#slots.get(id);
  }

  /** The slot for a long-lived stream: the pinned one, else power of two choices on stream counts. */
  tryAssignStream(pin: ReplicaId | undefined): Slot | undefined {
    if (pin !== undefined) {
      const slot = this.#slots.get(pin);
      return slot && slot.live && this.#streamRoomLeft(slot) > 0 ? slot : undefined;
    }
    const candidates: ReplicaCandidate[] = [];
    for (const [id, slot] of this.#slots) {
      if (slot.live && this.#streamRoomLeft(slot) > 0) candidates.push({ id, ongoing: Math.max(slot.streams, slot.replica.ongoingStreams), remote: slot.remote });
    }
    const id = pickLocalFirst(candidates, this.#picker);
    return id === undefined ? undefined : this.#slots.get(id);
  }

  /** Takes a request's room on `slot` until the lease is released. */
  lease(slot: Slot): Lease {
    slot.ongoing++;
    slot.counted++;
    let released = false;
    let counted = true;
    let refused = false;
    return {
      slot,
      refuse: () => {
        refused = true;
      },
      uncount: () => {
        if (!counted) return;
        counted = false;
        slot.counted--;
      },
      release: () => {
        if (released) return;
        released = true;
        slot.ongoing--;
        if (counted) slot.counted--;
        counted = false;
        // A call that really ran and ended frees room; a refusal says the replica is full.
        slot.refused = refused;
        this.#onRelease();
      },
    };
  }

  /** Takes a long-lived stream's room on `slot` until the lease is released. */
  streamLease(slot: Slot): Lease {
    slot.streams++;
    let released = false;
    return {
      slot,
      // A stream never counted as load, and a refusal of one is final (StreamLimitError).
      refuse: noop,
      uncount: noop,
      release: () => {
        if (released) return;
        released = true;
        slot.streams--;
      },
    };
  }

  #capacityLeft(slot: Slot): number {
    // The actor's own count also holds calls this router did not send (health checks) and
    // cancelled calls still finishing in the worker.
    return this.#limits().maxOngoingRequests - Math.max(slot.ongoing, slot.replica.ongoing);
  }

  #streamRoomLeft(slot: Slot): number {
    // The actor's count also holds cancelled streams still unwinding in the worker.
    return this.#limits().maxOngoingStreams - Math.max(slot.streams, slot.replica.ongoingStreams);
  }
}
