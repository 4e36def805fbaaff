// A bounded in-memory EventStore for one legacy MCP session: the SDK's sessionful transport stores
// every SSE event here so a client that lost its stream can reconnect with `Last-Event-ID` and get
// what it missed. It lives in the replica next to the session (sessions are pinned to a replica),
// and keeps at most `maxEvents` events, dropping the oldest, so a chatty session cannot grow
// without bound.

import type { EventId, EventStore, JSONRPCMessage, StreamId } from "@modelcontextprotocol/server";
import { randomBytes } from "node:crypto";

interface StoredEvent {
  streamId: StreamId;
  message: JSONRPCMessage;
}

export class BoundedEventStore implements EventStore {
  readonly #maxEvents: number;
  // Insertion-ordered: Map iteration order is the order events were stored.
  readonly #events = new Map<EventId, StoredEvent>();
  // A per-store prefix keeps event ids of different sessions apart (and unguessable across them).
  readonly #prefix = randomBytes(6).toString("base64url");
  #seq = 0;

  constructor(maxEvents: number) {
    this.#maxEvents = maxEvents;
  }

  get size(): number {
    return this.#events.size;
  }

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    const id = `${this.#prefix}.${(++this.#seq).toString(36)}`;
    this.#events.set(id, { streamId, message });
    while (this.#events.size > this.#maxEvents) {
      const oldest = this.#events.keys().next().value as EventId;
      this.#events.delete(oldest);
    }
    return id;
  }

  async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    return this.#events.get(eventId)?.streamId;
  }

  async replayEventsAfter(
    lastEventId: EventId,
    { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> },
  ): Promise<StreamId> {
    const last = this.#events.get(lastEventId);
    if (!last) return "";
    let after = false;
    for (const [id, event] of [...this.#events]) {
      if (id === lastEventId) {
        after = true;
        continue;
      }
      if (after && event.streamId === last.streamId) await send(id, event.message);
    }
    return last.streamId;
  }
}
