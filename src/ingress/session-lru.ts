// The least-recently-used order of legacy MCP sessions, shared by the proxy's session table (one
// per replica) and a replica's session host. A Map keeps insertion order, so "use" re-inserts an
// entry at the end: the first entry is always the least recently used, every operation is O(1),
// and the idle-expiry scan stops at the first entry that is still fresh. What counts as busy (an
// open stream, a request in flight) is the caller's to say: a busy session is never evicted and
// never expires; it is treated as used when the scan meets it.

interface Slot<V> {
  value: V;
  lastSeenMs: number;
}

export class SessionLru<V> {
  readonly #slots = new Map<string, Slot<V>>();
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#slots.size;
  }

  get(id: string): V | undefined {
    return this.#slots.get(id)?.value;
  }

  has(id: string): boolean {
    return this.#slots.has(id);
  }

  /** When the entry was last used (epoch ms of the injected clock), or undefined. */
  lastSeenMs(id: string): number | undefined {
    return this.#slots.get(id)?.lastSeenMs;
  }

  /** Adds (or replaces) an entry as the most recently used. */
  set(id: string, value: V): void {
    this.#slots.delete(id);
    this.#slots.set(id, { value, lastSeenMs: this.#now() });
  }

  /** Marks an entry used now: it becomes the last to be evicted. */
  touch(id: string): void {
    const slot = this.#slots.get(id);
    if (!slot) return;
    this.#slots.delete(id);
    slot.lastSeenMs = this.#now();
    this.#slots.set(id, slot);
  }

  delete(id: string): boolean {
    return this.#slots.delete(id);
  }

  /**
   * The least recently used entry that is not busy, or undefined when every entry is busy. Busy
   * entries are passed over, not moved: usually the first entry is idle and this is O(1).
   */
  oldestIdle(isBusy: (value: V) => boolean): [string, V] | undefined {
    for (const [id, slot] of this.#slots) {
      if (!isBusy(slot.value)) return [id, slot.value];
    }
    return undefined;
  }

  /**
   * Removes and returns the entries unused for longer than `idleMs`, oldest first. A busy one met
   * on the way is marked used instead (its idle time starts when its stream or request ends).
   */
  takeExpired(idleMs: number, isBusy: (value: V) => boolean): Array<[string, V]> {
    const deadline = this.#now() - idleMs;
    const expired: Array<[string, V]> = [];
    const busy: string[] = [];
    for (const [id, slot] of this.#slots) {
      if (slot.lastSeenMs >= deadline) break;
      if (isBusy(slot.value)) busy.push(id);
      else expired.push([id, slot.value]);
    }
    for (const [id] of expired) this.#slots.delete(id);
    for (const id of busy) this.touch(id);
    return expired;
  }

  /** Whether an entry has been unused for longer than `idleMs`. */
  isExpired(id: string, idleMs: number): boolean {
    const slot = this.#slots.get(id);
    return slot !== undefined && this.#now() - slot.lastSeenMs > idleMs;
  }

  keys(): IterableIterator<string> {
    return this.#slots.keys();
  }
}
