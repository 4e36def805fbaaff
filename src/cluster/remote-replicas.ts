// Replicas on other nodes, as the local routers see them. From every membership update the set
// works out which replicas of which deployments run on ALIVE peers (from their heartbeats) and
// hands each local router its remote replicas; a RemoteReplicaActor sends its calls through the
// CallClient. A replica of a SUSPECT, DRAINING or DEAD node gets no new calls; calls already in
// flight finish, except on a DEAD node, whose calls fail (CallClient.failNode).
//
// A remote replica's load is what its node last reported (every ~500 ms) or what this node has in
// flight on it, whichever is higher; a stale low report is corrected by the owner refusing the
// call as busy, after which the router picks another replica.

import type { CallOptions } from "../runtime/call.ts";
import { replicaId, type ReplicaId } from "../runtime/ids.ts";
import type { ReplicaActor, ReplicaDeath } from "../runtime/replica.ts";
import type { CallClient, RemoteTarget } from "./call-client.ts";
import type { NodeInfo } from "./membership.ts";

/** Hands one deployment's remote replicas to its local router (if the app runs here). */
export type RemoteReplicaSink = (app: string, deployment: string, replicas: readonly ReplicaActor[]) => void;

const ROUTABLE_STATES = new Set(["RUNNING", "UPDATING"]);

export class RemoteReplicaActor implements ReplicaActor {
  readonly id: ReplicaId;
  readonly remote = true;
  readonly nodeId: string;
  readonly methods: ReadonlySet<string> = new Set();
  readonly overdueCalls: ReadonlyMap<number, string> = new Map();
  /** Calls in flight on it as its node last reported. */
  reportedOngoing = 0;
  reportedStreams = 0;
  readonly #client: CallClient;
  readonly #target: RemoteTarget;
  #own = 0;
  #ownStreams = 0;

  constructor(client: CallClient, target: RemoteTarget) {
    this.#client = client;
    this.#target = target;
    this.id = replicaId(target.replicaId);
    this.nodeId = target.node;
  }

  get ongoing(): number {
    return Math.max(this.reportedOngoing, this.#own);
  }

  get ongoingStreams(): number {
    return Math.max(this.reportedStreams, this.#ownStreams);
  }

  async call(method: string, args: unknown[], options?: CallOptions): Promise<unknown> {
    this.#own++;
    try {
      return await this.#client.call(this.#target, method, args, options);
    } finally {
      this.#own--;
    }
  }

  stream(method: string, args: unknown[], options?: CallOptions): AsyncIterable<unknown> {
    const longLived = options?.longLived === true;
    const items = this.#client.stream(this.#target, method, args, options);
    return {
      [Symbol.asyncIterator]: () => {
        const inner = items[Symbol.asyncIterator]();
        if (longLived) this.#ownStreams++;
        else this.#own++;
        let open = true;
        const close = (): void => {
          if (!open) return;
          open = false;
          if (longLived) this.#ownStreams--;
          else this.#own--;
        };
        return {
          next: async () => {
            try {
              const r = await inner.next();
              if (r.done) close();
              return r;
            } catch (err) {
              close();
              throw err;
            }
          },
          return: async (value?: unknown) => {
            close();
            return (await inner.return?.(value)) ?? { done: true, value: undefined };
          },
        };
      },
    };
  }

  // Its node owns the lifecycle: starting, probing and stopping happen there.
  start(): Promise<void> {
    return Promise.resolve();
  }

  probe(): Promise<void> {
    return Promise.resolve();
  }

  terminate(): Promise<void> {
    return Promise.resolve();
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }

  onDeath(_listener: (death: ReplicaDeath) => void): void {}
}

export class RemoteReplicaSet {
  readonly #selfId: string;
  readonly #client: CallClient;
  readonly #sink: RemoteReplicaSink;
  readonly #actors = new Map<string, RemoteReplicaActor>();
  /** Deployments ("app#dep") handed replicas last time: they get an empty set when none are left. */
  #keys = new Set<string>();

  constructor(selfId: string, client: CallClient, sink: RemoteReplicaSink) {
    this.#selfId = selfId;
    this.#client = client;
    this.#sink = sink;
  }

  /** Recomputes every deployment's remote replicas from the membership table. */
  update(nodes: readonly NodeInfo[]): void {
    const groups = new Map<string, { app: string; deployment: string; actors: RemoteReplicaActor[] }>();
    const seen = new Set<string>();
    for (const node of nodes) {
      if (node.id === this.#selfId || node.state !== "ALIVE" || node.beat.state !== "up") continue;
      for (const r of node.beat.replicas) {
        if (!ROUTABLE_STATES.has(r.state)) continue;
        let actor = this.#actors.get(r.id);
        if (!actor || actor.nodeId !== node.id) {
          actor = new RemoteReplicaActor(this.#client, { node: node.id, app: r.app, deployment: r.deployment, replicaId: r.id });
          this.#actors.set(r.id, actor);
        }
        actor.reportedOngoing = r.ongoing ?? 0;
        actor.reportedStreams = r.streams ?? 0;
        seen.add(r.id);
        const key = `${r.app}#${r.deployment}`;
        let group = groups.get(key);
        if (!group) groups.set(key, (group = { app: r.app, deployment: r.deployment, actors: [] }));
        group.actors.push(actor);
      }
    }
    for (const id of [...this.#actors.keys()]) if (!seen.has(id)) this.#actors.delete(id);
    for (const key of this.#keys) {
      if (groups.has(key)) continue;
      const [app, deployment] = splitKey(key);
      this.#sink(app, deployment, []);
    }
    for (const g of groups.values()) this.#sink(g.app, g.deployment, g.actors);
    this.#keys = new Set(groups.keys());
  }

  /** Remote replicas routable now, for status and tests. */
  get size(): number {
    return this.#actors.size;
  }
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf("#");
  return [key.slice(0, i), key.slice(i + 1)];
}
