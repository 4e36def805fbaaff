// The only module that talks to NATS. It connects with the timings of CLUSTER.md rule 6 (client
// ping every 1 s, 2 missed pongs, endless reconnects over the full server list), opens the
// cluster's KV buckets (desired state; the leader lease with the lease TTL as max age; MCP Tasks), and
// offers the node what it needs as plain methods: heartbeats on a core-NATS subject, application
// records and the placement in KV (compare-and-set writes, read through one `watch()`), and the
// lease store. Loaded with a dynamic import from the runtime only in cluster mode, so a
// single-node process never loads `@nats-io`.

import { connect, createInbox } from "@nats-io/transport-node";
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { Kvm, type KV, type KvWatchEntry } from "@nats-io/kv";
import type { CallBus } from "./call-bus.ts";
import type { LeaseStore } from "./lease.ts";
import { TASK_BUCKET_MAX_AGE_MS, taskBucketName, type TaskBucket } from "./kv-task-store.ts";
import { WIRE_VERSION, clusterNames, decodeKey, type ApplicationRecord, type NodeHeartbeat, type PlacementRecord } from "./records.ts";

export type StateEvent =
  | { kind: "app"; name: string; record: ApplicationRecord | null; revision: number }
  | { kind: "placement"; record: PlacementRecord | null; revision: number };

export interface ConnectOptions {
  servers: string[];
  cluster: string;
  nodeId: string;
  leaseTtlMs: number;
  /** JetStream replicas of the KV buckets when this node creates them. */
  kvReplicas: number;
}

/** How often a node checks that its KV watch has not fallen behind the placement. */
const WATCH_CHECK_MS = 2_000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class ClusterConnection {
  readonly #nc: NatsConnection;
  readonly #state: KV;
  readonly #lease: KV;
  readonly #tasks: KV;
  readonly #names: ReturnType<typeof clusterNames>;
  #heartbeatSub: Subscription | undefined;
  #watchStop: (() => void) | undefined;

  private constructor(nc: NatsConnection, state: KV, lease: KV, tasks: KV, names: ReturnType<typeof clusterNames>) {
    this.#nc = nc;
    this.#state = state;
    this.#lease = lease;
    this.#tasks = tasks;
    this.#names = names;
  }

  static async open(options: ConnectOptions): Promise<ClusterConnection> {
    const nc = await connect({
      servers: options.servers,
      name: `stingray-${options.nodeId}`,
      pingInterval: 1_000,
      maxPingOut: 2,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      waitOnFirstConnect: false,
    });
    try {
      const names = clusterNames(options.cluster);
      const kvm = new Kvm(nc);
      const replicas = options.kvReplicas;
      const state = await openOrCreate(kvm, names.stateBucket, { history: 1, replicas });
      // Bucket max age is the lease TTL: KV per-key TTL is silently ignored on nats-server 2.9.
      const lease = await openOrCreate(kvm, names.leaseBucket, { history: 1, ttl: options.leaseTtlMs, replicas });
      // MCP Tasks records (kv-task-store.ts); max age is the backstop for records nobody deletes.
      const tasks = await openOrCreate(kvm, taskBucketName(options.cluster), { history: 1, ttl: TASK_BUCKET_MAX_AGE_MS, replicas });
      return new ClusterConnection(nc, state, lease, tasks, names);
    } catch (err) {
      await nc.close().catch(() => {});
      throw err;
    }
  }

  /** The server this connection uses now, "host:port" (it changes on reconnect). */
  get connectedServer(): string {
    return this.#nc.getServer();
  }

  /** e.g. "2.9.10": newer server features are detected from this. */
  get serverVersion(): string {
    return this.#nc.info?.version ?? "unknown";
  }

  get leaseStore(): LeaseStore {
    const kv = this.#lease;
    return {
      create: (key, value) => kv.create(key, encoder.encode(value)),
      update: (key, value, revision) => kv.update(key, encoder.encode(value), revision),
      delete: (key, revision) => kv.delete(key, { previousSeq: revision }),
    };
  }

  /** The MCP Tasks bucket, for kv-task-store.ts. */
  get taskBucket(): TaskBucket {
    const kv = this.#tasks;
    return {
      get: async (key) => {
        const e = await kv.get(key);
        return e && e.operation === "PUT" ? { value: e.value, revision: e.revision } : undefined;
      },
      create: (key, value) => kv.create(key, value),
      update: (key, value, revision) => kv.update(key, value, revision),
      delete: (key, revision) => kv.delete(key, revision === undefined ? {} : { previousSeq: revision }),
      keys: async (filter) => {
        const out: string[] = [];
        for await (const key of await kv.keys(filter)) out.push(key);
        return [...new Set(out)];
      },
    };
  }

  /** Core NATS for cross-node calls (call-client.ts, call-server.ts). */
  get callBus(): CallBus {
    const nc = this.#nc;
    return {
      get maxPayload() {
        return nc.info?.max_payload ?? 1024 * 1024;
      },
      publish: (subject, data, reply) => nc.publish(subject, data, reply ? { reply } : undefined),
      subscribe: async (subject, handler) => {
        const sub = nc.subscribe(subject, {
          callback: (err, msg) => {
            if (err) return;
            const reply = msg.reply || undefined;
            handler({
              subject: msg.subject,
              data: msg.data,
              ...(reply ? { reply } : {}),
              // The server's status message when a request found no subscriber (rule 3).
              noResponders: msg.data.length === 0 && msg.headers?.code === 503,
            });
          },
        });
        // The server must know the subscription before this node says it serves (rule 6).
        await nc.flush();
        return { drain: () => sub.drain() };
      },
      inbox: () => createInbox(),
    };
  }

  /** Calls `listener` with every heartbeat on the cluster's subject (this node's own included). */
  async subscribeHeartbeats(listener: (beat: NodeHeartbeat) => void): Promise<void> {
    this.#heartbeatSub = this.#nc.subscribe(this.#names.heartbeatSubject, {
      callback: (err, msg) => {
        if (err) return;
        try {
          const beat = JSON.parse(decoder.decode(msg.data)) as NodeHeartbeat;
          if (beat.v === WIRE_VERSION && typeof beat.nodeId === "string") listener(beat);
        } catch {
          // Not ours or garbled: ignore.
        }
      },
    });
    // Without the flush the server may not know the subscription when we announce (rule 6).
    await this.#nc.flush();
  }

  publishHeartbeat(beat: NodeHeartbeat): void {
    if (this.#nc.isClosed()) return;
    try {
      this.#nc.publish(this.#names.heartbeatSubject, encoder.encode(JSON.stringify(beat)));
    } catch {
      // Disconnected: the client buffers or drops; the next beat tries again.
    }
  }

  /** Calls `listener` after every reconnect (the node re-announces itself then). */
  onReconnect(listener: () => void): void {
    void (async () => {
      for await (const s of this.#nc.status()) {
        if (s.type === "reconnect") listener();
      }
    })().catch(() => {});
  }

  /**
   * Streams every application record and placement change: current values first, then updates.
   * The watch is a JetStream consumer on one server; when it ends (its server died) or this
   * connection was re-established, or a placement newer than any it delivered exists (checked every
   * few seconds: a stalled watch), it starts over, delivering the current values again (listeners
   * are idempotent: records are replaced, placements fenced by term and revision).
   */
  async watchState(listener: (event: StateEvent) => void): Promise<void> {
    let seenPlacement = 0;
    let restart: (() => void) | undefined;
    const start = async (): Promise<AsyncIterable<KvWatchEntry>> => {
      const iter = await this.#state.watch();
      restart = () => iter.stop();
      return iter;
    };
    const deliver = (e: KvWatchEntry): void => {
      const deleted = e.operation !== "PUT";
      if (e.key === this.#names.placementKey) {
        seenPlacement = Math.max(seenPlacement, e.revision);
        listener({ kind: "placement", record: deleted ? null : e.json<PlacementRecord>(), revision: e.revision });
      } else if (e.key.startsWith(this.#names.appKeyPrefix)) {
        const name = decodeKey(e.key.slice(this.#names.appKeyPrefix.length));
        listener({ kind: "app", name, record: deleted ? null : e.json<ApplicationRecord>(), revision: e.revision });
      }
    };
    let iter: AsyncIterable<KvWatchEntry> | undefined = await start();
    let closed = false;
    const checker = setInterval(() => {
      void this.getPlacementRevision()
        .then((rev) => {
          if (rev > seenPlacement) restart?.();
        })
        .catch(() => {});
    }, WATCH_CHECK_MS);
    checker.unref();
    this.onReconnect(() => restart?.());
    this.#watchStop = () => {
      closed = true;
      clearInterval(checker);
      restart?.();
    };
    void (async () => {
      while (!closed) {
        try {
          iter ??= await start();
          for await (const e of iter) deliver(e);
        } catch {
          // The server holding the consumer went away mid-watch: start over below.
        }
        iter = undefined;
        if (!closed) await new Promise((r) => setTimeout(r, 250));
      }
    })();
  }

  /** Writes an application record; `revision` 0 means "must not exist yet" (compare-and-set). */
  async putApplication(record: ApplicationRecord, revision: number): Promise<number> {
    const key = this.#names.appKey(record.name);
    const data = encoder.encode(JSON.stringify(record));
    return revision === 0 ? this.#state.create(key, data) : this.#state.update(key, data, revision);
  }

  async getApplication(name: string): Promise<{ record: ApplicationRecord; revision: number } | undefined> {
    const e = await this.#state.get(this.#names.appKey(name));
    if (!e || e.operation !== "PUT") return undefined;
    return { record: e.json<ApplicationRecord>(), revision: e.revision };
  }

  async deleteApplication(name: string): Promise<void> {
    await this.#state.delete(this.#names.appKey(name));
  }

  /** Writes the placement with compare-and-set on its last revision (0: none yet). */
  async putPlacement(record: PlacementRecord, revision: number): Promise<number> {
    const data = encoder.encode(JSON.stringify(record));
    return revision === 0 ? this.#state.create(this.#names.placementKey, data) : this.#state.update(this.#names.placementKey, data, revision);
  }

  async getPlacementRevision(): Promise<number> {
    const e = await this.#state.get(this.#names.placementKey);
    return e && e.operation === "PUT" ? e.revision : 0;
  }

  /** Rule 5's tail: stop the heartbeat subscription and the watch, flush, close. */
  async close(): Promise<void> {
    this.#watchStop?.();
    try {
      await this.#heartbeatSub?.drain();
      await this.#nc.flush();
    } catch {
      // Already disconnected.
    }
    await this.#nc.close().catch(() => {});
  }
}

/**
 * Creates the bucket, or opens it when it exists with other settings (another node created it, or
 * an earlier run had other servers): the first creator's settings stand.
 */
async function openOrCreate(kvm: Kvm, name: string, options: { history: number; replicas: number; ttl?: number }): Promise<KV> {
  // A JetStream cluster that is still electing its leader answers "temporarily unavailable" (or
  // not at all) for a few seconds after its servers start: keep trying for a while.
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return await kvm.create(name, options);
    } catch (err) {
      try {
        return await kvm.open(name);
      } catch {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }
}
