// One node of a cluster: joins NATS, publishes its heartbeat every 500 ms, keeps the membership
// table from everyone's heartbeats, competes for the leader lease, and runs the node agent. While
// it holds the lease it is also the cluster controller: it places every application's replicas
// over the ALIVE nodes and writes the placement (with its term) to KV. The data plane never waits
// for any of this: the local proxy keeps serving the replicas this node runs.
//
// Loaded only in cluster mode (the runtime imports it dynamically), together with connection.ts.

import { DeployFailedError, InvalidOptionsError, ReplicaDiedError, ShuttingDownError } from "../errors.ts";
import type { Application } from "../deployments/deployment.ts";
import type { ReplicaActor } from "../runtime/replica.ts";
import type { Logger } from "../observability/logger.ts";
import type { StatusSnapshot } from "../observability/status.ts";
import { systemClock, type Clock } from "../runtime/clock.ts";
import { NodeAgent, type LocalRuntime } from "./agent.ts";
import { buildApplicationRecord, type ClusterDeploySource } from "./app-record.ts";
import { CallClient } from "./call-client.ts";
import { CallServer, type LocalReplicaLookup } from "./call-server.ts";
import { ClusterAutoscaler } from "./cluster-autoscaler.ts";
import { buildHeartbeat } from "./heartbeat.ts";
import { McpEventRelay } from "./event-relay.ts";
import { RemoteReplicaSet, type RemoteReplicaSink } from "./remote-replicas.ts";
import { ClusterConnection } from "./connection.ts";
import { KvTaskStore } from "./kv-task-store.ts";
import type { TaskStore } from "../tasks/task-store.ts";
import { LeaderLease, DEFAULT_LEASE_TIMINGS } from "./lease.ts";
import { Membership, type MembershipChange } from "./membership.ts";
import type { ResolvedClusterOptions } from "./options.ts";
import { placeReplicas, type PlacementNode } from "./placement-policy.ts";
import { WIRE_VERSION, clusterNames, type NodeHeartbeat, type NodeBeatState, type PlacementRecord } from "./records.ts";
import { clusterStatus } from "./status.ts";

export const HEARTBEAT_EVERY_MS = 500;
const TICK_MS = 250;
/** A new leader waits this long after joining before placing, so it has heard every node's beat. */
const LEADER_WARMUP_MS = 1_500;

/** What the node reads from the local runtime besides deploy/delete. */
export interface NodeRuntime extends LocalRuntime {
  address(): string | undefined;
  localStatus(): StatusSnapshot;
  /** A routable replica this node runs (calls from other nodes go to it). */
  localReplica: LocalReplicaLookup;
  /** Gives a deployment's router the replicas other nodes run. */
  setRemoteReplicas: RemoteReplicaSink;
  /** The cluster-wide MCP Tasks store, handed over before any replica can start. */
  useTaskStore?(store: TaskStore): void;
}

/** How long a deploy keeps trying to write the desired state while JetStream is unavailable. */
const DEPLOY_WRITE_TIMEOUT_MS = 15_000;

/** How long a stopping node waits for calls other nodes sent it to answer. */
const CALL_DRAIN_MS = 5_000;

export class ClusterNode {
  readonly #options: ResolvedClusterOptions;
  readonly #runtime: NodeRuntime;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #conn: ClusterConnection;
  readonly #membership: Membership;
  readonly #lease: LeaderLease;
  readonly #agent: NodeAgent;
  readonly #client: CallClient;
  readonly #server: CallServer;
  readonly #remote: RemoteReplicaSet;
  readonly #events: McpEventRelay;
  readonly #tasks: KvTaskStore;
  readonly #autoscaler = new ClusterAutoscaler();
  readonly #startedAt = Date.now();
  readonly #joinedAtMs: number;
  #seq = 0;
  /** Reconnects of this node's NATS connection (in its heartbeat). */
  #epoch = 0;
  /** The last epoch heard from each peer. */
  readonly #peerEpochs = new Map<string, number>();
  #state: NodeBeatState = "up";
  #placementRevision = 0;
  #beatTimer: NodeJS.Timeout | undefined;
  #tickTimer: NodeJS.Timeout | undefined;
  #writing = false;

  private constructor(options: ResolvedClusterOptions, runtime: NodeRuntime, log: Logger, conn: ClusterConnection, clock: Clock) {
    this.#options = options;
    this.#runtime = runtime;
    this.#log = log;
    this.#conn = conn;
    this.#clock = clock;
    this.#joinedAtMs = clock.now();
    this.#membership = new Membership(clock);
    this.#agent = new NodeAgent(options.nodeId, runtime, log);
    const bus = conn.callBus;
    this.#client = new CallClient({ bus, cluster: options.name, nodeId: options.nodeId, onSuspect: (id) => this.#suspect(id) });
    this.#server = new CallServer({ bus, cluster: options.name, nodeId: options.nodeId, lookup: (a, d, r) => runtime.localReplica(a, d, r), log });
    this.#events = new McpEventRelay({ bus, cluster: options.name, nodeId: options.nodeId });
    this.#tasks = new KvTaskStore({ bucket: conn.taskBucket, bus, cluster: options.name, nodeId: options.nodeId, clock, log: (m) => log.warn(m) });
    this.#remote = new RemoteReplicaSet(options.nodeId, this.#client, (a, d, replicas: readonly ReplicaActor[]) => runtime.setRemoteReplicas(a, d, replicas));
    this.#lease = new LeaderLease({
      store: conn.leaseStore,
      clock,
      key: clusterNames(options.name).leaseKey,
      nodeId: options.nodeId,
      onEvent: (e) => {
        if (e.kind === "acquired") this.#log.info({ term: e.term }, `node ${options.nodeId} is the cluster leader (term ${e.term})`);
        else this.#log.warn({ term: e.term, reason: e.reason }, `node ${options.nodeId} is no longer the leader: ${e.reason}`);
        this.#beat();
      },
    });
  }

  static async start(options: ResolvedClusterOptions, runtime: NodeRuntime, log: Logger, clock: Clock = systemClock): Promise<ClusterNode> {
    const conn = await ClusterConnection.open({
      servers: options.servers,
      cluster: options.name,
      nodeId: options.nodeId,
      leaseTtlMs: DEFAULT_LEASE_TIMINGS.ttlMs,
      kvReplicas: options.kvReplicas,
    });
    const node = new ClusterNode(options, runtime, log, conn, clock);
    await node.#join();
    return node;
  }

  get nodeId(): string {
    return this.#options.nodeId;
  }

  get isLeader(): boolean {
    return this.#lease.isLeader;
  }

  async #join(): Promise<void> {
    // The tasks store before any replica: none may create a task in a store only this node sees.
    await this.#tasks.start();
    this.#runtime.useTaskStore?.(this.#tasks);
    // Ready to take and send calls before the first beat tells anyone about our replicas.
    await this.#client.start();
    await this.#server.start();
    await this.#events.start();
    await this.#conn.subscribeHeartbeats((beat) => {
      this.#checkEpoch(beat);
      this.#onBeat(this.#membership.observe(beat));
    });
    await this.#conn.watchState((e) => {
      if (e.kind === "app") {
        this.#agent.setRecord(e.name, e.record);
        this.#events.watch(this.#agent.records().flatMap((r) => r.deployments.map((d) => ({ app: r.name, deployment: d.name }))));
      } else {
        this.#placementRevision = Math.max(this.#placementRevision, e.revision);
        this.#agent.setPlacement(e.record);
      }
    });
    this.#conn.onReconnect(() => {
      this.#epoch++;
      // Messages in transit through the lost server are gone: ask about every call in flight.
      const asked = this.#client.probe();
      this.#log.info({ epoch: this.#epoch, asked }, "reconnected to NATS; announcing this node again");
      this.#beat();
    });
    this.#beat();
    this.#beatTimer = setInterval(() => this.#beat(), HEARTBEAT_EVERY_MS);
    this.#tickTimer = setInterval(() => void this.#tick(), TICK_MS);
    this.#log.info(
      { cluster: this.#options.name, servers: this.#options.servers, natsServer: this.#conn.serverVersion },
      `node ${this.#options.nodeId} joined cluster "${this.#options.name}"`,
    );
  }

  /** Writes the application to the desired state (compare-and-set); the leader places it. */
  async deploy(app: Application, source: ClusterDeploySource): Promise<void> {
    const record = buildApplicationRecord(app, source, this.#options.nodeId);
    // Conflicts (someone wrote it between our read and write) are read again at once: last writer
    // wins, but never blindly. JetStream being briefly unavailable (a server died, its cluster
    // electing a new leader) is waited out for a while.
    const deadline = Date.now() + DEPLOY_WRITE_TIMEOUT_MS;
    let conflicts = 0;
    for (;;) {
      try {
        const current = await this.#conn.getApplication(source.name);
        await this.#conn.putApplication(record, current?.revision ?? 0);
        return;
      } catch (err) {
        const conflict = /wrong last sequence|key exists/i.test((err as Error).message);
        if (conflict && ++conflicts < 5) continue;
        if (conflict) throw new InvalidOptionsError(`deploying "${source.name}" to the cluster kept conflicting with other writers: ${(err as Error).message}`, { cause: err });
        if (Date.now() > deadline) {
          throw new InvalidOptionsError(`deploying "${source.name}": the cluster's state store (JetStream KV) did not accept the write within ${DEPLOY_WRITE_TIMEOUT_MS / 1000} s: ${(err as Error).message}`, { cause: err });
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  async delete(name: string): Promise<boolean> {
    const current = await this.#conn.getApplication(name);
    if (!current) return false;
    await this.#conn.deleteApplication(name);
    return true;
  }

  /**
   * Resolves once the application runs everywhere it was placed, or once what is left is pending
   * (fits on no node: status names the short resource); rejects when it failed to deploy.
   */
  async waitForApplication(name: string): Promise<void> {
    for (;;) {
      const status = this.decorateStatus(this.#runtime.localStatus()).applications.find((a) => a.name === name);
      if (status?.status === "RUNNING") return;
      if (status?.status === "DEPLOY_FAILED") throw new DeployFailedError(`application "${name}" failed to deploy: ${status.message ?? "unknown error"}`);
      if (status?.message?.includes("pending:") && status.deployments.every((d) => (d.replicaStates.RUNNING ?? 0) + (d.replicaStates.PENDING ?? 0) >= d.targetReplicas)) return;
      if (this.#state === "stopped") throw new ShuttingDownError();
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The local status with the cluster's nodes, and replicas of every node (each names its node). */
  decorateStatus<T extends StatusSnapshot>(local: T): T {
    return clusterStatus(local, {
      cluster: this.#options.name,
      selfId: this.#options.nodeId,
      selfIsLeader: this.#lease.isLeader,
      term: this.#lease.term,
      nodes: this.#membership.nodes(),
      records: this.#agent.records(),
      placement: this.#agent.placement,
      codeMismatch: this.#agent.codeMismatch(),
      natsServer: this.#conn.connectedServer,
    });
  }

  /**
   * The first half of a graceful stop (CLUSTER.md rule 5): say "draining" so the leader moves this
   * node's replicas elsewhere and gives it nothing new, and hand the lease over at once.
   */
  async beginDrain(): Promise<void> {
    if (this.#state !== "up") return;
    this.#state = "draining";
    this.#beat();
    await this.#lease.release();
    this.#beat();
  }

  /** The second half, after the local runtime drained: the last beat says "stopped", then close. */
  async close(): Promise<void> {
    if (this.#state === "stopped") return;
    this.#agent.close();
    clearInterval(this.#beatTimer);
    clearInterval(this.#tickTimer);
    // Rule 5: no new calls from other nodes (they get no-responders and re-route), the answers of
    // those running go out, then the last beat.
    await this.#server.drain(CALL_DRAIN_MS);
    await this.#client.close();
    await this.#events.close();
    await this.#tasks.close();
    this.#state = "stopped";
    this.#beat();
    await this.#conn.close();
  }

  #onBeat(change: MembershipChange | undefined): void {
    if (change) this.#onChange(change);
    this.#remote.update(this.#membership.nodes());
  }

  /** A peer whose NATS connection was re-established may have lost our calls' messages: ask. */
  #checkEpoch(beat: NodeHeartbeat): void {
    if (beat.nodeId === this.#options.nodeId) return;
    const epoch = beat.epoch ?? 0;
    const seen = this.#peerEpochs.get(beat.nodeId);
    this.#peerEpochs.set(beat.nodeId, epoch);
    if (seen !== undefined && epoch > seen) {
      const asked = this.#client.probe(beat.nodeId);
      if (asked > 0) this.#log.info({ peer: beat.nodeId, asked }, `node ${beat.nodeId} reconnected to NATS; asked about ${asked} calls in flight there`);
    }
  }

  /** A call to the node timed out or found no responder: no new calls until it beats again. */
  #suspect(id: string): void {
    if (id === this.#options.nodeId) return;
    const change = this.#membership.suspect(id);
    if (!change) return;
    this.#onChange(change);
    this.#remote.update(this.#membership.nodes());
  }

  #onChange(c: MembershipChange): void {
    this.#logChange(c);
    if (c.to !== "DEAD" && c.to !== "GONE") return;
    // Nobody will answer what is in flight there, and nobody reads what we run for it.
    const failed = this.#client.failNode(c.id, new ReplicaDiedError(`node ${c.id} ${c.to === "DEAD" ? "died (no heartbeat)" : "left the cluster"} with the call in flight`));
    const cancelled = this.#server.cancelFrom(c.id);
    if (failed + cancelled > 0) this.#log.warn({ peer: c.id, failed, cancelled }, `node ${c.id}: ${failed} calls to it failed, ${cancelled} calls from it cancelled`);
    if (c.to === "DEAD") this.#failTasksOf(c.id);
  }

  /** Every survivor fails a dead node's unfinished tasks (compare-and-set: each fails once). */
  #failTasksOf(id: string): void {
    const error = { code: -32603, message: `The node running the task (${id}) died (no heartbeat): its work was lost; call the tool again.` };
    this.#tasks.failNode(id, error).then(
      (n) => {
        if (n > 0) this.#log.warn({ peer: id, tasks: n }, `node ${id} died: ${n} of its tasks failed`);
      },
      (err: unknown) => this.#log.warn({ err, peer: id }, `could not fail the tasks of dead node ${id}`),
    );
  }

  #logChange(c: MembershipChange): void {
    const msg = `node ${c.id}: ${c.from} → ${c.to}`;
    if (c.to === "DEAD" || c.to === "SUSPECT") this.#log.warn({ peer: c.id, from: c.from, to: c.to }, msg);
    else this.#log.info({ peer: c.id, from: c.from, to: c.to }, msg);
  }

  async #tick(): Promise<void> {
    const changes = this.#membership.tick();
    for (const c of changes) this.#onChange(c);
    if (changes.length > 0) this.#remote.update(this.#membership.nodes());
    if (this.#state !== "up") return;
    await this.#lease.tick();
    if (this.#lease.isLeader && this.#clock.now() - this.#joinedAtMs >= LEADER_WARMUP_MS) await this.#place();
  }

  /** The cluster controller's step: recompute the placement; write it when it changed. */
  async #place(): Promise<void> {
    if (this.#writing) return;
    const nodes: PlacementNode[] = this.#membership
      .nodes()
      .filter((n) => n.state === "ALIVE" || n.state === "SUSPECT")
      .map((n) => ({
        id: n.id,
        labels: n.beat.labels,
        total: n.beat.resources.total,
        acceptsNew: n.state === "ALIVE",
        codeMismatch: new Set(n.beat.codeMismatch.map((m) => m.app)),
      }));
    const current = this.#agent.placement;
    const wanted = this.#autoscaler.apply(this.#agent.records(), this.#membership.nodes(), current, this.#clock.now());
    const apps = placeReplicas(wanted, nodes, current?.apps ?? {});
    const term = this.#lease.term;
    if (current && current.term === term && JSON.stringify(current.apps) === JSON.stringify(apps)) return;
    const record: PlacementRecord = { v: WIRE_VERSION, term, leader: this.#options.nodeId, apps };
    this.#writing = true;
    try {
      // Checked again right before the write: a lease that lapsed meanwhile must not write.
      if (!this.#lease.isLeader) return;
      const revision = await this.#conn.putPlacement(record, this.#placementRevision);
      this.#placementRevision = Math.max(this.#placementRevision, revision);
      this.#agent.setPlacement(record);
    } catch (err) {
      // Another writer got in between (a stale leader's last write, or ours seen late): re-read.
      this.#log.debug({ err }, "placement write conflicted; re-reading its revision");
      this.#placementRevision = await this.#conn.getPlacementRevision().catch(() => this.#placementRevision);
    } finally {
      this.#writing = false;
    }
  }

  #beat(): void {
    let local: StatusSnapshot;
    try {
      local = this.#runtime.localStatus();
    } catch {
      return;
    }
    const address = this.#runtime.address();
    this.#conn.publishHeartbeat(
      buildHeartbeat(local, {
        nodeId: this.#options.nodeId,
        startedAt: this.#startedAt,
        seq: ++this.#seq,
        state: this.#state,
        labels: this.#options.labels,
        leader: this.#lease.isLeader,
        epoch: this.#epoch,
        codeMismatch: this.#agent.codeMismatch(),
        ...(address ? { address } : {}),
      }),
    );
  }
}
