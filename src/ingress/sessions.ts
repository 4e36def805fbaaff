// The proxy's session table for legacy MCP sessions: session id → the replica that minted it and
// the identity that opened it. It is what makes a session sticky (every later POST, GET and DELETE
// is pinned to that replica) and what answers 404 without a replica hop for ids that are unknown,
// expired, evicted, bound to another identity, or whose replica died. Entries are recorded only
// from an initialize response, so a client cannot plant an id of its choosing.
//
// It mirrors each replica's bounded session cache (src/ingress/mcp/session-host.ts): sessions per
// replica in least-recently-used order, which requests are in flight on each (a session with an
// open stream is busy, never idle), and the initializes on their way to each replica. That is what
// placement reads to send a new session to a replica with room (`placeNewSession`), and what
// /metrics reports per replica. The replica stays the authority on its limit: it evicts, and the
// initialize response names the evicted id (`forget`). The table is bounded too: past a replica's
// maxSessions (the two views can drift, e.g. on expiry) its own least recently used idle entry goes.

import type { ReplicaId } from "../runtime/ids.ts";
import type { ReplicaCandidate } from "../runtime/replica-picker.ts";
import { SessionLru } from "./session-lru.ts";

interface SessionEntry {
  appName: string;
  replicaId: ReplicaId;
  principal: string | null;
  idleTimeoutMs: number;
  /** Exchanges of this session the proxy is forwarding now (an open GET stream is one). */
  inflight: number;
}

/** One replica's sessions, least recently used first, and the initializes heading there. */
interface ReplicaSessions {
  appName: string;
  lru: SessionLru<SessionEntry>;
  opening: number;
}

export type SessionLookup =
  | { ok: true; replicaId: ReplicaId }
  | { ok: false; reason: "unknown" | "expired" | "forbidden" | "replica-gone" };

export interface BindOptions {
  appName: string;
  replicaId: ReplicaId;
  principal: string | null;
  idleTimeoutMs: number;
  /** The replica's limit; the table never keeps more for one replica. Default: unbounded. */
  maxSessions?: number;
}

/** Sessions held per replica, for /metrics. */
export interface ReplicaSessionCount {
  appName: string;
  replicaId: ReplicaId;
  sessions: number;
}

/**
 * Internal header of an initialize response that evicted a session on the replica: the evicted id.
 * The proxy forgets that id and removes the header before the response leaves.
 */
export const EVICTED_SESSION_HEADER = "x-stingray-evicted-session";

const isBusy = (e: SessionEntry): boolean => e.inflight > 0;

export class SessionTable {
  readonly #entries = new Map<string, SessionEntry>();
  readonly #replicas = new Map<ReplicaId, ReplicaSessions>();
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  bind(sessionId: string, options: BindOptions): void {
    this.remove(sessionId);
    const entry: SessionEntry = {
      appName: options.appName,
      replicaId: options.replicaId,
      principal: options.principal,
      idleTimeoutMs: options.idleTimeoutMs,
      inflight: 0,
    };
    const replica = this.#replica(options.replicaId, options.appName);
    this.#purgeExpired(replica);
    if (options.maxSessions !== undefined) {
      while (replica.lru.size >= options.maxSessions) {
        const victim = replica.lru.oldestIdle(isBusy);
        if (!victim) break;
        this.remove(victim[0]);
      }
    }
    replica.lru.set(sessionId, entry);
    this.#entries.set(sessionId, entry);
  }

  /** Finds the replica for a session and marks it used; every failure reads as "not found" to the client. */
  lookup(appName: string, sessionId: string, principal: string | null, isAlive: (id: ReplicaId) => boolean): SessionLookup {
    const entry = this.#entries.get(sessionId);
    if (!entry || entry.appName !== appName) return { ok: false, reason: "unknown" };
    if (entry.principal !== principal) return { ok: false, reason: "forbidden" };
    const replica = this.#replicas.get(entry.replicaId)!;
    if (entry.inflight === 0 && replica.lru.isExpired(sessionId, entry.idleTimeoutMs)) {
      this.remove(sessionId);
      return { ok: false, reason: "expired" };
    }
    if (!isAlive(entry.replicaId)) {
      this.remove(sessionId);
      return { ok: false, reason: "replica-gone" };
    }
    replica.lru.touch(sessionId);
    return { ok: true, replicaId: entry.replicaId };
  }

  /**
   * Counts an exchange of the session as in flight until the returned function is called: a
   * session with an open stream or a pending request is not idle (neither evicted nor expired),
   * and its idle time starts when its last exchange ends.
   */
  begin(sessionId: string): () => void {
    const entry = this.#entries.get(sessionId);
    if (!entry) return () => {};
    entry.inflight++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      entry.inflight--;
      if (entry.inflight === 0 && this.#entries.get(sessionId) === entry) this.#replicas.get(entry.replicaId)?.lru.touch(sessionId);
    };
  }

  remove(sessionId: string): void {
    const entry = this.#entries.get(sessionId);
    if (!entry) return;
    this.#entries.delete(sessionId);
    const replica = this.#replicas.get(entry.replicaId);
    if (!replica) return;
    replica.lru.delete(sessionId);
    this.#dropIfEmpty(entry.replicaId, replica);
  }

  /** Forgets sessions a replica evicted (named by its initialize response). */
  forget(replicaId: ReplicaId, sessionIds: Iterable<string>): void {
    for (const id of sessionIds) {
      if (this.#entries.get(id)?.replicaId === replicaId) this.remove(id);
    }
  }

  /**
   * The router's placement hook for an initialize that will bind a new session: narrows the
   * candidates to the replicas with room (sessions + initializes under way < maxSessions), and when
   * none has room, to those with an idle session to evict (else: all, and the replica answers 503
   * if it cannot make room). Then `pick` (power of two choices) decides among them, and the choice
   * is counted as an initialize under way until the returned reservation is released.
   */
  placeNewSession(
    appName: string,
    maxSessions: number,
  ): { place: (candidates: readonly ReplicaCandidate[], pick: (c: readonly ReplicaCandidate[]) => ReplicaId | undefined) => ReplicaId | undefined; release: () => void } {
    let held: ReplicaSessions | undefined;
    let heldId: ReplicaId | undefined;
    const release = (): void => {
      if (!held) return;
      held.opening--;
      this.#dropIfEmpty(heldId!, held);
      held = undefined;
      heldId = undefined;
    };
    const place = (
      candidates: readonly ReplicaCandidate[],
      pick: (c: readonly ReplicaCandidate[]) => ReplicaId | undefined,
    ): ReplicaId | undefined => {
      // A busy retry places again: the earlier choice no longer holds a slot.
      release();
      const withRoom: ReplicaCandidate[] = [];
      const withIdle: ReplicaCandidate[] = [];
      for (const c of candidates) {
        const r = this.#replicas.get(c.id);
        if (!r) {
          withRoom.push(c);
          continue;
        }
        this.#purgeExpired(r);
        if (r.lru.size + r.opening < maxSessions) withRoom.push(c);
        else if (r.lru.oldestIdle(isBusy)) withIdle.push(c);
      }
      const chosen = pick(withRoom.length > 0 ? withRoom : withIdle.length > 0 ? withIdle : candidates);
      if (chosen !== undefined) {
        held = this.#replica(chosen, appName);
        heldId = chosen;
        held.opening++;
      }
      return chosen;
    };
    return { place, release };
  }

  /** Sessions held per replica (replicas with none are left out). */
  countsByReplica(): ReplicaSessionCount[] {
    const out: ReplicaSessionCount[] = [];
    for (const [replicaId, r] of this.#replicas) {
      if (r.lru.size > 0) out.push({ appName: r.appName, replicaId, sessions: r.lru.size });
    }
    return out;
  }

  /** Drops expired entries and those on dead replicas; returns how many went. */
  sweep(isAlive: (id: ReplicaId) => boolean): number {
    let removed = 0;
    for (const [replicaId, replica] of [...this.#replicas]) {
      if (!isAlive(replicaId)) {
        removed += replica.lru.size;
        for (const id of replica.lru.keys()) this.#entries.delete(id);
        this.#replicas.delete(replicaId);
        continue;
      }
      removed += this.#purgeExpired(replica);
      this.#dropIfEmpty(replicaId, replica);
    }
    return removed;
  }

  #replica(replicaId: ReplicaId, appName: string): ReplicaSessions {
    let r = this.#replicas.get(replicaId);
    if (!r) {
      r = { appName, lru: new SessionLru({ now: this.#now }), opening: 0 };
      this.#replicas.set(replicaId, r);
    }
    return r;
  }

  /** Removes the replica's expired entries (oldest first, so the scan stops at the first fresh one). */
  #purgeExpired(replica: ReplicaSessions): number {
    const first = replica.lru.keys().next();
    if (first.done) return 0;
    const idleMs = this.#entries.get(first.value)?.idleTimeoutMs;
    if (idleMs === undefined) return 0;
    const expired = replica.lru.takeExpired(idleMs, isBusy);
    for (const [id] of expired) this.#entries.delete(id);
    return expired.length;
  }

  #dropIfEmpty(replicaId: ReplicaId, replica: ReplicaSessions): void {
    if (replica.lru.size === 0 && replica.opening === 0) this.#replicas.delete(replicaId);
  }
}
