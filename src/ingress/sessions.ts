// The proxy's session table for legacy MCP sessions: session id → the replica that minted it and
// the identity that opened it. It is what makes a session sticky (every later POST, GET and DELETE
// is pinned to that replica) and what answers 404 without a replica hop for ids that are unknown,
// expired, bound to another identity, or whose replica died. Entries are recorded only from an
// initialize response, so a client cannot plant an id of its choosing.

import type { ReplicaId } from "../runtime/ids.ts";

interface SessionEntry {
  appName: string;
  replicaId: ReplicaId;
  principal: string | null;
  idleTimeoutMs: number;
  lastSeenMs: number;
}

export type SessionLookup =
  | { ok: true; replicaId: ReplicaId }
  | { ok: false; reason: "unknown" | "expired" | "forbidden" | "replica-gone" };

export class SessionTable {
  readonly #entries = new Map<string, SessionEntry>();
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  bind(sessionId: string, entry: { appName: string; replicaId: ReplicaId; principal: string | null; idleTimeoutMs: number }): void {
    this.#entries.set(sessionId, { ...entry, lastSeenMs: this.#now() });
  }

  /** Finds the replica for a session and marks it used; every failure reads as "not found" to the client. */
  lookup(appName: string, sessionId: string, principal: string | null, isAlive: (id: ReplicaId) => boolean): SessionLookup {
    const entry = this.#entries.get(sessionId);
    if (!entry || entry.appName !== appName) return { ok: false, reason: "unknown" };
    if (entry.principal !== principal) return { ok: false, reason: "forbidden" };
    const now = this.#now();
    if (now - entry.lastSeenMs > entry.idleTimeoutMs) {
      this.#entries.delete(sessionId);
      return { ok: false, reason: "expired" };
    }
    if (!isAlive(entry.replicaId)) {
      this.#entries.delete(sessionId);
      return { ok: false, reason: "replica-gone" };
    }
    entry.lastSeenMs = now;
    return { ok: true, replicaId: entry.replicaId };
  }

  remove(sessionId: string): void {
    this.#entries.delete(sessionId);
  }

  /** Drops expired entries and those on dead replicas; returns how many went. */
  sweep(isAlive: (id: ReplicaId) => boolean): number {
    const now = this.#now();
    let removed = 0;
    for (const [id, entry] of this.#entries) {
      if (now - entry.lastSeenMs > entry.idleTimeoutMs || !isAlive(entry.replicaId)) {
        this.#entries.delete(id);
        removed++;
      }
    }
    return removed;
  }
}
