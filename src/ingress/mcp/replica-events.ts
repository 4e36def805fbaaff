// Change events for 2026-07-28 `subscriptions/listen` streams across a deployment's replicas. The
// SDK delivers an event published on a ServerEventBus to the listen streams of that bus, i.e. of
// one replica thread; a client's listen stream and the tool call that changes the tool list may
// land on different replicas. Every replica of a deployment is a thread of this process, so one
// BroadcastChannel per deployment relays each locally published event to the other replicas,
// which re-publish it to their own streams (never back to the channel).

import type { ServerEvent, ServerEventBus } from "@modelcontextprotocol/server";
import { BroadcastChannel } from "node:worker_threads";

interface Link {
  channel: BroadcastChannel;
  unsubscribe: () => void;
}

const linked = new WeakMap<ServerEventBus, Link>();

/**
 * Relays `bus` to every other bus linked under `channelName` (once per bus and thread). Returns
 * a function that unlinks it.
 */
export function linkAcrossReplicas(bus: ServerEventBus, channelName: string): () => void {
  if (linked.has(bus)) return () => unlink(bus);
  const channel = new BroadcastChannel(channelName);
  // Events that came from the channel: re-published here, but not sent back out.
  const relayed = new WeakSet<ServerEvent>();
  const unsubscribe = bus.subscribe((event) => {
    if (relayed.has(event)) return;
    try {
      channel.postMessage(event);
    } catch {
      // An event whose params cannot be cloned stays local.
    }
  });
  channel.onmessage = (message: unknown) => {
    const event = (message as { data?: ServerEvent }).data;
    if (!event || typeof event.kind !== "string") return;
    relayed.add(event);
    bus.publish(event);
  };
  // The channel must not keep a stopping replica's thread alive.
  channel.unref();
  linked.set(bus, { channel, unsubscribe });
  return () => unlink(bus);
}

function unlink(bus: ServerEventBus): void {
  const link = linked.get(bus);
  if (!link) return;
  linked.delete(bus);
  link.unsubscribe();
  link.channel.close();
}
