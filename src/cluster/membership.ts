// The membership table: which nodes exist and in what state, from core-NATS heartbeats alone
// (CLUSTER.md rule 2: KV TTLs are not a liveness signal on nats-server 2.9). A pure state machine
// over a clock: `observe()` a heartbeat, `tick()` to age silence; no timers, no NATS.
//
//   ALIVE     beats arrive (state "up")
//   SUSPECT   no beat for suspectAfterMs, or a caller saw a timeout (`suspect()`), until a newer beat
//   DRAINING  the node said "draining": it keeps serving what it has, gets nothing new
//   DEAD      no beat for deadAfterMs (~3 missed beats at 500 ms plus slack); a later beat revives it
// A node that sends its final "stopped" beat, or stays DEAD for forgetAfterMs, leaves the table.

import type { Clock } from "../runtime/clock.ts";
import type { NodeHeartbeat } from "./records.ts";

export type NodeState = "ALIVE" | "SUSPECT" | "DRAINING" | "DEAD";

export interface MembershipTimings {
  /** Silence after which a node is SUSPECT; default 1500 ms (3 beats at 500 ms). */
  suspectAfterMs: number;
  /** Silence after which a node is DEAD; default 3000 ms. */
  deadAfterMs: number;
  /** How long a DEAD node stays listed before it is forgotten; default 60 s. */
  forgetAfterMs: number;
}

export const DEFAULT_MEMBERSHIP_TIMINGS: MembershipTimings = {
  suspectAfterMs: 1_500,
  deadAfterMs: 3_000,
  forgetAfterMs: 60_000,
};

export interface NodeInfo {
  id: string;
  state: NodeState;
  /** The latest heartbeat. */
  beat: NodeHeartbeat;
  /** Clock ms of the latest heartbeat. */
  lastSeenMs: number;
  /** Clock ms of the last state change. */
  sinceMs: number;
}

export interface MembershipChange {
  id: string;
  from: NodeState | "ABSENT";
  to: NodeState | "GONE";
}

interface Entry {
  state: NodeState;
  beat: NodeHeartbeat;
  lastSeenMs: number;
  sinceMs: number;
  /** A caller saw a timeout: SUSPECT until a beat with a higher seq arrives. */
  suspectUntilSeq?: number;
}

export class Membership {
  readonly #clock: Clock;
  readonly #timings: MembershipTimings;
  readonly #nodes = new Map<string, Entry>();

  constructor(clock: Clock, timings: Partial<MembershipTimings> = {}) {
    this.#clock = clock;
    this.#timings = { ...DEFAULT_MEMBERSHIP_TIMINGS, ...timings };
  }

  /** Records a heartbeat; returns the state change it caused, if any. */
  observe(beat: NodeHeartbeat): MembershipChange | undefined {
    const now = this.#clock.now();
    const entry = this.#nodes.get(beat.nodeId);
    if (beat.state === "stopped") {
      if (!entry) return undefined;
      this.#nodes.delete(beat.nodeId);
      return { id: beat.nodeId, from: entry.state, to: "GONE" };
    }
    if (entry) {
      // A restarted process (newer incarnation) resets the sequence; an older one is a late packet.
      const newer = beat.startedAt > entry.beat.startedAt || (beat.startedAt === entry.beat.startedAt && beat.seq > entry.beat.seq);
      if (!newer) return undefined;
      if (entry.suspectUntilSeq !== undefined && (beat.startedAt > entry.beat.startedAt || beat.seq > entry.suspectUntilSeq)) {
        entry.suspectUntilSeq = undefined;
      }
      entry.beat = beat;
      entry.lastSeenMs = now;
      return this.#set(beat.nodeId, entry, this.#stateFromBeat(entry), now);
    }
    const fresh: Entry = { state: beat.state === "draining" ? "DRAINING" : "ALIVE", beat, lastSeenMs: now, sinceMs: now };
    this.#nodes.set(beat.nodeId, fresh);
    return { id: beat.nodeId, from: "ABSENT", to: fresh.state };
  }

  /** A call to the node timed out: SUSPECT until it beats again. */
  suspect(id: string): MembershipChange | undefined {
    const entry = this.#nodes.get(id);
    if (!entry || entry.state === "DEAD") return undefined;
    entry.suspectUntilSeq = entry.beat.seq;
    return this.#set(id, entry, "SUSPECT", this.#clock.now());
  }

  /** Ages every node by its silence; returns the changes. */
  tick(): MembershipChange[] {
    const now = this.#clock.now();
    const changes: MembershipChange[] = [];
    for (const [id, entry] of this.#nodes) {
      const silentMs = now - entry.lastSeenMs;
      if (entry.state === "DEAD" && silentMs >= this.#timings.forgetAfterMs) {
        this.#nodes.delete(id);
        changes.push({ id, from: "DEAD", to: "GONE" });
        continue;
      }
      let next: NodeState = this.#stateFromBeat(entry);
      if (silentMs >= this.#timings.deadAfterMs) next = "DEAD";
      else if (silentMs >= this.#timings.suspectAfterMs && next !== "DRAINING") next = "SUSPECT";
      const change = this.#set(id, entry, next, now);
      if (change) changes.push(change);
    }
    return changes;
  }

  get(id: string): NodeInfo | undefined {
    const e = this.#nodes.get(id);
    return e ? { id, state: e.state, beat: e.beat, lastSeenMs: e.lastSeenMs, sinceMs: e.sinceMs } : undefined;
  }

  /** Every known node, sorted by id. */
  nodes(): NodeInfo[] {
    return [...this.#nodes.keys()].sort().map((id) => this.get(id)!);
  }

  /** Nodes that may get new replicas. */
  alive(): NodeInfo[] {
    return this.nodes().filter((n) => n.state === "ALIVE");
  }

  #stateFromBeat(entry: Entry): NodeState {
    if (entry.beat.state === "draining") return "DRAINING";
    if (entry.suspectUntilSeq !== undefined) return "SUSPECT";
    return "ALIVE";
  }

  #set(id: string, entry: Entry, next: NodeState, now: number): MembershipChange | undefined {
    if (entry.state === next) return undefined;
    const from = entry.state;
    entry.state = next;
    entry.sinceMs = now;
    return { id, from, to: next };
  }
}
