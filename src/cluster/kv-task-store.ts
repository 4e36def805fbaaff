// The cluster's task store: MCP Tasks records in a JetStream KV bucket (`stingray_<cluster>_tasks`),
// so a task created through any node is read, answered and cancelled through any other, and a node
// that dies with tasks running has them marked `failed` by the nodes that are left.
//
// - One key per task, `task.<scope>.<taskId>` (both base64url: KV-safe tokens); the value is the
//   shared TaskState (task-transitions.ts) plus the node whose replica owns the task. Every write
//   is a compare-and-set on the key's revision, retried on conflict, so the transition rules hold
//   whichever nodes write at once.
// - A per-node index, `owner.<node>.<scope>.<taskId>`, written before the task and deleted once it
//   is terminal or gone: when a node is declared DEAD each survivor lists that node's index once
//   (one key-filtered listing on the event, no polling) and fails its unfinished tasks, idempotently.
// - Owner signals (cancelled, input answers, expired) go on a core-NATS subject of the owner's node
//   (`stingray.<cluster>.task-signals.<node>`), where the node's TaskWatchers hand them to the
//   replica's watch. A signal lost in transit leaves the record right (the owner's later writes
//   to a cancelled task are ignored); only the work runs on until it next writes.
// - TTLs are checked on every read (an expired record reads as unknown and is deleted); the node
//   remembers the tasks its replicas created and sweeps those when their TTL runs out. The bucket's
//   max age is the backstop for records nobody sweeps (KV per-key TTL is ignored on nats-server 2.9).
// No NATS import: the bucket and the bus come from connection.ts as plain interfaces.

import { systemClock, type Clock } from "../runtime/clock.ts";
import { applyTaskEvent, isExpired, isVisibleTo, newTaskState, type TaskEvent, type TaskState } from "../tasks/task-transitions.ts";
import { isTerminalStatus, type NewTask, type TaskChange, type TaskError, type TaskRecord, type TaskRef, type TaskSignal, type TaskStore } from "../tasks/task-store.ts";
import { TaskWatchers } from "../tasks/task-watchers.ts";
import type { BusSubscription, CallBus } from "./call-bus.ts";
import { decode, encode } from "./call-wire.ts";
import { encodeKey } from "./records.ts";

/** What the store needs from a KV bucket (connection.ts implements it on JetStream KV). */
export interface TaskBucket {
  /** The key's value and revision; undefined when absent or deleted. */
  get(key: string): Promise<{ value: Uint8Array; revision: number } | undefined>;
  /** Fails when the key exists. */
  create(key: string, value: Uint8Array): Promise<number>;
  /** Fails ("wrong last sequence") unless the key is still at `revision`. */
  update(key: string, value: Uint8Array, revision: number): Promise<number>;
  delete(key: string, revision?: number): Promise<void>;
  /** The keys matching `filter` (NATS subject wildcards), listed once. */
  keys(filter: string): Promise<string[]>;
}

export interface KvTaskStoreOptions {
  bucket: TaskBucket;
  bus: CallBus;
  cluster: string;
  nodeId: string;
  clock?: Clock;
  /** How often this node sweeps the expired tasks of its replicas (default 10 s; 0: never). */
  sweepIntervalMs?: number;
  log?: (message: string) => void;
}

/** What a task's key holds. */
interface StoredTask {
  state: TaskState;
  /** The node whose replica runs the task. */
  node: string;
}

interface SignalMessage {
  owner: string;
  signal: TaskSignal;
}

/** Bucket max age: the backstop for records nobody deletes (tasks outliving it read as unknown). */
export const TASK_BUCKET_MAX_AGE_MS = 24 * 3_600_000;
const MAX_CONFLICTS = 50;
const DEFAULT_SWEEP_INTERVAL_MS = 10_000;

export function taskBucketName(cluster: string): string {
  return `stingray_${cluster}_tasks`;
}

export function taskSignalSubject(cluster: string, nodeId: string): string {
  return `stingray.${cluster}.task-signals.${nodeId}`;
}

const taskKey = (scope: string, taskId: string): string => `task.${encodeKey(scope)}.${encodeKey(taskId)}`;
const indexPrefix = (node: string): string => `owner.${encodeKey(node)}.`;
const indexKey = (node: string, key: string): string => indexPrefix(node) + key.slice("task.".length);

const isConflict = (err: unknown): boolean => /wrong last sequence|key exists/i.test(String((err as Error)?.message ?? err));

export class KvTaskStore implements TaskStore {
  readonly #bucket: TaskBucket;
  readonly #bus: CallBus;
  readonly #cluster: string;
  readonly #nodeId: string;
  readonly #clock: Clock;
  readonly #log: (message: string) => void;
  readonly #watchers = new TaskWatchers();
  /** Tasks this node's replicas created, until their TTL runs out (or, without one, they end). */
  readonly #mine = new Map<string, { owner: string; expiresAtMs: number | null; done: boolean }>();
  readonly #sweeper: NodeJS.Timeout | undefined;
  #sub: BusSubscription | undefined;

  constructor(options: KvTaskStoreOptions) {
    this.#bucket = options.bucket;
    this.#bus = options.bus;
    this.#cluster = options.cluster;
    this.#nodeId = options.nodeId;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.log ?? (() => {});
    const sweepMs = options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
    if (sweepMs > 0) {
      this.#sweeper = setInterval(() => void this.expire().catch((err: unknown) => this.#log(`task sweep failed: ${String(err)}`)), sweepMs);
      this.#sweeper.unref();
    }
  }

  /**
   * Listens for the signals other nodes send this node's replicas, after failing the unfinished
   * tasks an earlier run of this node id left (it restarted before anyone declared it dead).
   */
  async start(): Promise<void> {
    const leftover = { code: -32603, message: `The node running the task (${this.#nodeId}) restarted: its work was lost; call the tool again.` };
    const n = await this.failNode(this.#nodeId, leftover).catch((err: unknown) => {
      this.#log(`could not fail the tasks an earlier run of node ${this.#nodeId} left: ${String(err)}`);
      return 0;
    });
    if (n > 0) this.#log(`${n} task(s) an earlier run of node ${this.#nodeId} left unfinished failed`);
    this.#sub = await this.#bus.subscribe(taskSignalSubject(this.#cluster, this.#nodeId), (m) => {
      try {
        const { owner, signal } = decode<SignalMessage>(m.data);
        this.#watchers.push(owner, signal);
      } catch {
        // Not ours or garbled: ignore.
      }
    });
  }

  async create(task: NewTask): Promise<TaskRecord> {
    const state = newTaskState(task, this.#clock.now());
    const key = taskKey(task.scope, task.taskId);
    const value = this.#encode({ state, node: this.#nodeId });
    // The index first: a task the index misses would never be failed when this node dies.
    const index = indexKey(this.#nodeId, key);
    await this.#bucket.create(index, new Uint8Array(0)).catch((err: unknown) => {
      if (!isConflict(err)) throw err;
    });
    try {
      await this.#bucket.create(key, value);
    } catch (err) {
      void this.#bucket.delete(index).catch(() => {});
      if (isConflict(err)) throw new Error(`task ${task.taskId} already exists`, { cause: err });
      throw err;
    }
    this.#mine.set(key, { owner: task.owner, expiresAtMs: task.ttlMs === null ? null : state.record.createdAtMs + task.ttlMs, done: false });
    return state.record;
  }

  async get(ref: TaskRef): Promise<TaskRecord | undefined> {
    const found = await this.#read(taskKey(ref.scope, ref.taskId));
    return found && isVisibleTo(found.stored.state.record, ref) ? found.stored.state.record : undefined;
  }

  update(scope: string, taskId: string, change: TaskChange): Promise<TaskRecord | undefined> {
    return this.#mutate(taskKey(scope, taskId), { kind: "change", change }, (r) => r.scope === scope);
  }

  respond(ref: TaskRef, inputResponses: Record<string, unknown>): Promise<TaskRecord | undefined> {
    return this.#mutate(taskKey(ref.scope, ref.taskId), { kind: "respond", inputResponses }, (r) => isVisibleTo(r, ref));
  }

  cancel(ref: TaskRef): Promise<TaskRecord | undefined> {
    return this.#mutate(taskKey(ref.scope, ref.taskId), { kind: "cancel" }, (r) => isVisibleTo(r, ref));
  }

  /** Deletes the expired tasks of this node's replicas (their watchers hear `expired`). */
  async expire(nowMs: number = this.#clock.now()): Promise<number> {
    let n = 0;
    for (const [key, mine] of [...this.#mine]) {
      if (mine.expiresAtMs === null || nowMs < mine.expiresAtMs) continue;
      this.#mine.delete(key);
      const entry = await this.#bucket.get(key);
      if (!entry) continue;
      const stored = decode<StoredTask>(entry.value);
      if (!isExpired(stored.state.record, nowMs)) continue;
      await this.#drop(key, entry.revision, stored);
      n++;
    }
    return n;
  }

  /** Fails the unfinished tasks of a replica of this node (its thread is gone). */
  async failOwnedBy(owner: string, error: TaskError): Promise<number> {
    let n = 0;
    for (const [key, mine] of [...this.#mine]) {
      if (mine.owner !== owner || mine.done) continue;
      if (await this.#fail(key, error)) n++;
    }
    return n;
  }

  /**
   * Fails the unfinished tasks whose replicas ran on `node` (declared dead). Every survivor may
   * call it at once: compare-and-set makes each task fail exactly once.
   */
  async failNode(node: string, error: TaskError): Promise<number> {
    let n = 0;
    const prefix = indexPrefix(node);
    for (const index of await this.#bucket.keys(`${prefix}>`)) {
      const key = `task.${index.slice(prefix.length)}`;
      if (await this.#fail(key, error)) n++;
      await this.#bucket.delete(index).catch(() => {});
    }
    return n;
  }

  watch(owner: string, signal: AbortSignal): AsyncIterable<TaskSignal> {
    return this.#watchers.watch(owner, signal);
  }

  /** Stops the sweep, ends every local watch and stops hearing signals. */
  async close(): Promise<void> {
    if (this.#sweeper) clearInterval(this.#sweeper);
    this.#watchers.close();
    await this.#sub?.drain().catch(() => {});
  }

  async #fail(key: string, error: TaskError): Promise<boolean> {
    let failed = false;
    await this.#mutate(key, { kind: "fail", error }, () => true, () => (failed = true));
    return failed;
  }

  /** The live record at `key`; an expired one is deleted (its owner hears `expired`). */
  async #read(key: string): Promise<{ stored: StoredTask; revision: number } | undefined> {
    const entry = await this.#bucket.get(key);
    if (!entry) return undefined;
    const stored = decode<StoredTask>(entry.value);
    if (isExpired(stored.state.record, this.#clock.now())) {
      void this.#drop(key, entry.revision, stored).catch(() => {});
      return undefined;
    }
    return { stored, revision: entry.revision };
  }

  /**
   * Applies `event` with compare-and-set, reading again after each conflict. Undefined when the
   * task is unknown, expired, or `visible` refuses it.
   */
  async #mutate(key: string, event: TaskEvent, visible: (r: TaskRecord) => boolean, onChanged?: () => void): Promise<TaskRecord | undefined> {
    for (let conflicts = 0; ; conflicts++) {
      const found = await this.#read(key);
      if (!found || !visible(found.stored.state.record)) return undefined;
      const { stored, revision } = found;
      const t = applyTaskEvent(stored.state, event, this.#clock.now());
      if (!t.changed) return t.state.record;
      try {
        await this.#bucket.update(key, this.#encode({ state: t.state, node: stored.node }), revision);
      } catch (err) {
        if (isConflict(err) && conflicts < MAX_CONFLICTS) continue;
        throw err;
      }
      onChanged?.();
      const record = t.state.record;
      if (t.signal) this.#send(stored.node, record.owner, t.signal);
      if (isTerminalStatus(record.status)) {
        if (stored.node === this.#nodeId) this.#finished(key);
        void this.#bucket.delete(indexKey(stored.node, key)).catch(() => {});
      }
      return record;
    }
  }

  /** A task of this node's replicas ended: kept only for its TTL sweep. */
  #finished(key: string): void {
    const mine = this.#mine.get(key);
    if (!mine) return;
    if (mine.expiresAtMs === null) this.#mine.delete(key);
    else mine.done = true;
  }

  /** Deletes an expired record (only if unchanged since read) and its index entry. */
  async #drop(key: string, revision: number, stored: StoredTask): Promise<void> {
    try {
      await this.#bucket.delete(key, revision);
    } catch (err) {
      if (isConflict(err)) return; // Someone else changed or deleted it: theirs to handle.
      throw err;
    }
    await this.#bucket.delete(indexKey(stored.node, key)).catch(() => {});
    const r = stored.state.record;
    if (!isTerminalStatus(r.status)) this.#send(stored.node, r.owner, { kind: "expired", taskId: r.taskId });
  }

  #send(node: string, owner: string, signal: TaskSignal): void {
    if (node === this.#nodeId) {
      this.#watchers.push(owner, signal);
      return;
    }
    try {
      this.#bus.publish(taskSignalSubject(this.#cluster, node), this.#encode({ owner, signal }));
    } catch (err) {
      this.#log(`could not tell node ${node} about task ${signal.taskId} (${signal.kind}): ${String(err)}`);
    }
  }

  #encode(value: StoredTask | SignalMessage): Uint8Array {
    return encode(value, this.#bus.maxPayload, "a task record");
  }
}
