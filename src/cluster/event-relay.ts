// MCP change events (2026-07-28 `subscriptions/listen`) across nodes. Inside one process the
// replicas of a deployment relay events to each other over a BroadcastChannel named after the
// deployment (src/ingress/mcp/replica-events.ts). This node's main thread joins each of those
// channels and forwards what its replicas publish to a core-NATS subject of the cluster; events
// from other nodes go into the local channel, where every local replica re-publishes them to its
// own listen streams. The main thread never hears its own posts on a channel, and events from NATS
// are never sent back to NATS, so nothing loops.

import { BroadcastChannel } from "node:worker_threads";
import type { BusSubscription, CallBus } from "./call-bus.ts";
import { decode, encode } from "./call-wire.ts";

interface RelayedEvent {
  from: string;
  channel: string;
  event: unknown;
}

/** The channel replica-events.ts uses for one deployment. */
export function mcpEventChannelName(app: string, deployment: string): string {
  return `stingray:mcp-events:${app}/${deployment}`;
}

export class McpEventRelay {
  readonly #bus: CallBus;
  readonly #subject: string;
  readonly #nodeId: string;
  readonly #channels = new Map<string, BroadcastChannel>();
  #sub: BusSubscription | undefined;

  constructor(options: { bus: CallBus; cluster: string; nodeId: string }) {
    this.#bus = options.bus;
    this.#subject = `stingray.${options.cluster}.mcp-events`;
    this.#nodeId = options.nodeId;
  }

  async start(): Promise<void> {
    this.#sub = await this.#bus.subscribe(this.#subject, (m) => {
      let relayed: RelayedEvent;
      try {
        relayed = decode<RelayedEvent>(m.data);
      } catch {
        return;
      }
      if (relayed.from === this.#nodeId) return;
      this.#channels.get(relayed.channel)?.postMessage(relayed.event);
    });
  }

  /** Joins the channels of exactly these deployments (every deployment of every application). */
  watch(deployments: ReadonlyArray<{ app: string; deployment: string }>): void {
    const wanted = new Set(deployments.map((d) => mcpEventChannelName(d.app, d.deployment)));
    for (const [name, channel] of this.#channels) {
      if (wanted.has(name)) continue;
      channel.close();
      this.#channels.delete(name);
    }
    for (const name of wanted) {
      if (this.#channels.has(name)) continue;
      const channel = new BroadcastChannel(name);
      channel.onmessage = (message: unknown) => this.#forward(name, (message as { data?: unknown }).data);
      // Must not keep the process alive.
      channel.unref();
      this.#channels.set(name, channel);
    }
  }

  async close(): Promise<void> {
    for (const channel of this.#channels.values()) channel.close();
    this.#channels.clear();
    await this.#sub?.drain().catch(() => {});
  }

  #forward(channel: string, event: unknown): void {
    try {
      this.#bus.publish(this.#subject, encode({ from: this.#nodeId, channel, event }, this.#bus.maxPayload, "an MCP change event"));
    } catch {
      // Too large or disconnected: the event reaches this node's streams only.
    }
  }
}
