// The per-deployment router: picks a running replica for each request (power of two choices on
// in-flight counts), never puts more than maxOngoingRequests on a replica, and keeps a caller-side
// FIFO queue bounded by maxQueuedRequests (past it: BackPressureError, which HTTP maps to 503).
// Requests wait in the queue while every replica is full or while there are none (scale from
// zero: `onDemand` tells the controller), so a request that never reached a replica is never lost
// when that replica dies or is drained: it simply goes to another one. Calls already running on a
// replica that dies fail with the actor's ReplicaDiedError.
//
// Streams count toward the autoscaling metric only until their first item: after that a stream
// (an SSE answer, a chat token stream) still occupies its replica slot but no longer pins the
// deployment's scale.
//
// Long-lived streams (`longLived`: MCP `subscriptions/listen`, legacy GET SSE streams) are another
// kind of load: idle for hours, costing the replica memory rather than work. They take none of the
// maxOngoingRequests slots and never count as load (least-loaded choice, autoscaling); a replica
// holds at most maxOngoingStreams of them. They never queue behind full replicas (a slot frees
// only when a client leaves, maybe never): past the bound on every replica, StreamLimitError
// (HTTP 503). Only while there is no replica at all do they wait, like requests, for one to start.
//
// The table of replicas, their counts and the choice among them is replica-slots.ts; this module
// is the policy around it: the queue, deadlines, cancellation, busy and idempotent retries.

import {
  BackPressureError,
  CancelledError,
  ReplicaBusyError,
  ReplicaDiedError,
  StreamLimitError,
  TimeoutError,
} from "../errors.ts";
import type { CallOptions } from "./call.ts";
import type { ReplicaId } from "./ids.ts";
import type { ReplicaActor } from "./replica.ts";
import { PowerOfTwoChoicesPicker, type ReplicaPicker, type ReplicaPlacement } from "./replica-picker.ts";
import { ReplicaSlots } from "./replica-slots.ts";
import { deadlineOf, emptyIterable, releasingIterable, sendOptions, type Lease } from "./route-lease.ts";

export interface RouterLimits {
  maxOngoingRequests: number;
  /** -1: unbounded. */
  maxQueuedRequests: number;
  /** Long-lived streams per replica, apart from maxOngoingRequests. */
  maxOngoingStreams: number;
  /**
   * Calls may run twice: one whose replica died with it in flight (a crashed thread, a dead
   * node) is sent once more to another replica instead of failing. Default false.
   */
  idempotent?: boolean;
}

export interface RouterOptions extends RouterLimits {
  /** Names the deployment in error messages, e.g. "app#Adder". */
  name: string;
  picker?: ReplicaPicker;
  /** Called when a request is queued (demand the controller may need to scale for). */
  onDemand?: () => void;
}

export interface RouteOptions extends CallOptions {
  /** Only this replica (sticky sessions); if it is gone the request fails with ReplicaDiedError. */
  replicaId?: ReplicaId;
  /** Chooses among the replicas with room instead of the picker (new MCP sessions: session room). */
  placement?: ReplicaPlacement;
}

/** A stream opened on a replica, its first item already read (so a refusal could be re-routed). */
export interface OpenedStream {
  replicaId: ReplicaId;
  first: IteratorResult<unknown>;
  /** The remaining items; iterating to the end, breaking or an error frees the replica slot. */
  rest: AsyncIterable<unknown>;
}

interface Waiter {
  pin: ReplicaId | undefined;
  placement?: ReplicaPlacement;
  resolve(lease: Lease): void;
  reject(err: Error): void;
}

/** How often a request refused as busy (a stale in-flight count) is re-routed before failing. */
const MAX_BUSY_RETRIES = 20;
/** How often an idempotent call whose replica died is sent again. */
const MAX_DIED_RETRIES = 2;

export class DeploymentRouter {
  readonly #name: string;
  readonly #onDemand: (() => void) | undefined;
  #limits: RouterLimits;
  readonly #slots: ReplicaSlots;
  readonly #queue: Waiter[] = [];
  /** Long-lived streams waiting for the first replica (they never wait for a stream slot). */
  readonly #streamQueue: Waiter[] = [];
  /** Why requests cannot be served while there is no replica (failed deploy), if so. */
  #failure: Error | undefined;
  #closed: Error | undefined;

  constructor(options: RouterOptions) {
    this.#name = options.name;
    this.#slots = new ReplicaSlots({
      picker: options.picker ?? new PowerOfTwoChoicesPicker(),
      limits: () => this.#limits,
      onRelease: () => this.#drain(),
    });
    this.#onDemand = options.onDemand;
    this.#limits = {
      maxOngoingRequests: options.maxOngoingRequests,
      maxQueuedRequests: options.maxQueuedRequests,
      maxOngoingStreams: options.maxOngoingStreams,
      idempotent: options.idempotent === true,
    };
  }

  setLimits(limits: RouterLimits): void {
    this.#limits = { ...limits };
    this.#drain();
  }

  /** This node's replicas requests may go to now; the others stop receiving new requests at once. */
  setReplicas(replicas: readonly ReplicaActor[]): void {
    this.#replaceSlots(replicas, false);
  }

  /**
   * Cluster mode: the replicas of this deployment on other nodes that may take calls now (the
   * cluster's RemoteReplicaSet calls it on every membership update; unchanged sets cost a lookup).
   */
  setRemoteReplicas(replicas: readonly ReplicaActor[]): void {
    this.#replaceSlots(replicas, true);
  }

  /** A routable replica of this node by id (cluster mode: calls from other nodes go to it). */
  localReplica(id: ReplicaId): ReplicaActor | undefined {
    return this.#closed ? undefined : this.#slots.local(id);
  }

  #replaceSlots(replicas: readonly ReplicaActor[], remote: boolean): void {
    if (!this.#slots.replace(replicas, remote)) return;
    this.#rejectOrphanedPins();
    this.#drain();
    this.#failQueueIfUnservable();
  }

  /** Drops a replica at once (it died): queued requests go elsewhere, pinned ones fail. */
  removeReplica(id: ReplicaId): void {
    if (!this.#slots.remove(id)) return;
    this.#rejectOrphanedPins();
    this.#failQueueIfUnservable();
  }

  /**
   * While set and no replica is routable, requests fail with `err` (e.g. the deployment failed to
   * deploy) instead of waiting; queued ones are failed now.
   */
  setFailure(err: Error | undefined): void {
    this.#failure = err;
    this.#failQueueIfUnservable();
  }

  /** Refuses every new request with `err` and fails the queued ones (deleted, shutting down). */
  close(err: Error): void {
    this.#closed = err;
    for (const w of this.#queue.splice(0)) w.reject(err);
    for (const w of this.#streamQueue.splice(0)) w.reject(err);
  }

  hasReplica(id: ReplicaId): boolean {
    return this.#slots.has(id);
  }

  get replicaIds(): ReplicaId[] {
    return this.#slots.ids;
  }

  get queued(): number {
    return this.#queue.length + this.#streamQueue.length;
  }

  /** Requests in flight on replicas through this router (long-lived streams excluded). */
  get running(): number {
    return this.#slots.ongoing;
  }

  /** Queued + running requests the autoscaler should see (streams past their first item excluded). */
  get ongoingForAutoscaling(): number {
    return this.#queue.length + this.#streamQueue.length + this.#slots.counted;
  }

  /** Per-replica in-flight request counts (status, metrics); long-lived streams excluded. */
  ongoingByReplica(): Map<ReplicaId, number> {
    return this.#slots.ongoingByReplica();
  }

  /** Per-replica open long-lived stream counts. */
  streamsByReplica(): Map<ReplicaId, number> {
    return this.#slots.streamsByReplica();
  }

  /** Re-checks capacity; the controller calls it every tick (actor counts can fall on their own). */
  poke(): void {
    this.#slots.clearRefusals();
    this.#drain();
  }

  async call(method: string, args: unknown[], options: RouteOptions = {}): Promise<unknown> {
    const deadline = deadlineOf(options);
    let died = 0;
    for (let attempt = 0; ; attempt++) {
      const lease = await this.#acquireLive(options, deadline);
      try {
        return await lease.slot.replica.call(method, args, sendOptions(options, deadline));
      } catch (err) {
        if (err instanceof ReplicaBusyError && attempt < MAX_BUSY_RETRIES) {
          lease.refuse();
          continue;
        }
        if (this.#retryDied(err, options, deadline, died++)) continue;
        throw err;
      } finally {
        lease.release();
      }
    }
  }

  /** An idempotent deployment's call whose replica died is sent again (not a pinned one). */
  #retryDied(err: unknown, options: RouteOptions, deadline: number | undefined, retries: number): boolean {
    if (!(err instanceof ReplicaDiedError) || !this.#limits.idempotent || options.replicaId !== undefined) return false;
    if (retries >= MAX_DIED_RETRIES || options.signal?.aborted) return false;
    return deadline === undefined || Date.now() < deadline;
  }

  stream(method: string, args: unknown[], options: RouteOptions = {}): AsyncIterable<unknown> {
    return {
      [Symbol.asyncIterator]: () => this.#streamItems(method, args, options)[Symbol.asyncIterator](),
    };
  }

  async *#streamItems(method: string, args: unknown[], options: RouteOptions): AsyncGenerator<unknown> {
    const opened = await this.openStream(method, args, options);
    if (opened.first.done) return;
    yield opened.first.value;
    yield* opened.rest;
  }

  /** Starts a stream on a replica and reads its first item (an HTTP response head, say). */
  async openStream(method: string, args: unknown[], options: RouteOptions = {}): Promise<OpenedStream> {
    const deadline = deadlineOf(options);
    let died = 0;
    for (let attempt = 0; ; attempt++) {
      const lease = await this.#acquireLive(options, deadline);
      let iterator: AsyncIterator<unknown> | undefined;
      let first: IteratorResult<unknown>;
      try {
        iterator = lease.slot.replica.stream(method, args, sendOptions(options, deadline))[Symbol.asyncIterator]();
        first = await iterator.next();
      } catch (err) {
        const busy = err instanceof ReplicaBusyError && attempt < MAX_BUSY_RETRIES;
        if (busy) lease.refuse();
        lease.release();
        // Nothing reached the caller yet, so an idempotent stream may start over elsewhere.
        if (busy || this.#retryDied(err, options, deadline, died++)) continue;
        throw err;
      }
      lease.uncount();
      if (first.done) {
        lease.release();
        return { replicaId: lease.slot.replica.id, first, rest: emptyIterable() };
      }
      return { replicaId: lease.slot.replica.id, first, rest: releasingIterable(iterator, lease) };
    }
  }

  /**
   * A lease on a replica still in the set. One that left it (died, draining) between the pick and
   * now was never reached, so pick again; that costs no busy retry. A pinned call keeps its replica
   * and lets the replica itself answer.
   */
  async #acquireLive(options: RouteOptions, deadline: number | undefined): Promise<Lease> {
    for (;;) {
      const lease = await this.#acquire(options, deadline);
      if (lease.slot.live || options.replicaId !== undefined) return lease;
      lease.release();
    }
  }

  #acquire(options: RouteOptions, deadline: number | undefined): Promise<Lease> {
    if (this.#closed) return Promise.reject(this.#closed);
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(new CancelledError());
    const pin = options.replicaId;
    if (pin !== undefined && !this.#slots.has(pin)) {
      return Promise.reject(new ReplicaDiedError(`replica ${pin} of ${this.#name} is gone`));
    }
    if (options.longLived === true) return this.#acquireStream(pin, signal, deadline);
    if (this.#queue.length === 0 || pin !== undefined) {
      const slot = this.#slots.tryAssign(pin, options.placement);
      if (slot) return Promise.resolve(this.#slots.lease(slot));
    }
    if (this.#failure && this.#slots.size === 0) return Promise.reject(this.#failure);
    const full = this.#queueFull();
    if (full) return Promise.reject(full);
    return this.#wait(this.#queue, pin, signal, deadline, options.placement);
  }

  /** A long-lived stream takes a stream slot now, or fails; it waits only while there is no replica. */
  #acquireStream(pin: ReplicaId | undefined, signal: AbortSignal | undefined, deadline: number | undefined): Promise<Lease> {
    const slot = this.#slots.tryAssignStream(pin);
    if (slot) return Promise.resolve(this.#slots.streamLease(slot));
    if (this.#slots.size > 0) return Promise.reject(this.#streamsFull(pin));
    if (this.#failure) return Promise.reject(this.#failure);
    const full = this.#queueFull();
    if (full) return Promise.reject(full);
    return this.#wait(this.#streamQueue, pin, signal, deadline);
  }

  #queueFull(): BackPressureError | undefined {
    const max = this.#limits.maxQueuedRequests;
    if (max < 0 || this.#queue.length + this.#streamQueue.length < max) return undefined;
    return new BackPressureError(
      `${this.#name}: every replica is at maxOngoingRequests (${this.#limits.maxOngoingRequests}) and the queue is full (maxQueuedRequests ${max})`,
    );
  }

  #streamsFull(pin: ReplicaId | undefined): StreamLimitError {
    const max = this.#limits.maxOngoingStreams;
    return new StreamLimitError(
      pin !== undefined
        ? `${this.#name}: replica ${pin} already holds maxOngoingStreams (${max}) long-lived streams`
        : `${this.#name}: every replica already holds maxOngoingStreams (${max}) long-lived streams`,
    );
  }

  /** Queues a waiter until #drain hands it a lease, its signal aborts or its deadline passes. */
  #wait(
    queue: Waiter[],
    pin: ReplicaId | undefined,
    signal: AbortSignal | undefined,
    deadline: number | undefined,
    placement?: ReplicaPlacement,
  ): Promise<Lease> {
    return new Promise<Lease>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const cleanup = (): void => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      const waiter: Waiter = {
        pin,
        placement,
        resolve: (lease) => {
          cleanup();
          resolve(lease);
        },
        reject: (err) => {
          cleanup();
          reject(err);
        },
      };
      const leave = (err: Error): void => {
        const i = queue.indexOf(waiter);
        if (i !== -1) queue.splice(i, 1);
        waiter.reject(err);
      };
      const onAbort = (): void => leave(new CancelledError("the request was cancelled while queued"));
      signal?.addEventListener("abort", onAbort, { once: true });
      if (deadline !== undefined) {
        timer = setTimeout(
          () => leave(new TimeoutError(`${this.#name}: the request timed out waiting for a replica`)),
          Math.max(0, deadline - Date.now()),
        );
      }
      queue.push(waiter);
      this.#onDemand?.();
    });
  }

  /** Streams that waited for a replica: each gets a stream slot now or StreamLimitError. */
  #placeWaitingStreams(): void {
    for (const waiter of this.#streamQueue.splice(0)) {
      const slot = this.#slots.tryAssignStream(undefined);
      if (slot) waiter.resolve(this.#slots.streamLease(slot));
      else waiter.reject(this.#streamsFull(undefined));
    }
  }

  /** Hands free capacity to queued requests, oldest first (pinned ones skip past full replicas). */
  #drain(): void {
    if (this.#streamQueue.length > 0 && this.#slots.size > 0) this.#placeWaitingStreams();
    for (let i = 0; i < this.#queue.length; ) {
      const waiter = this.#queue[i]!;
      const slot = this.#slots.tryAssign(waiter.pin, waiter.placement);
      if (!slot) {
        if (waiter.pin === undefined) break;
        i++;
        continue;
      }
      this.#queue.splice(i, 1);
      waiter.resolve(this.#slots.lease(slot));
    }
  }

  #rejectOrphanedPins(): void {
    for (let i = 0; i < this.#queue.length; ) {
      const w = this.#queue[i]!;
      if (w.pin !== undefined && !this.#slots.has(w.pin)) {
        this.#queue.splice(i, 1);
        w.reject(new ReplicaDiedError(`replica ${w.pin} of ${this.#name} is gone`));
      } else i++;
    }
  }

  #failQueueIfUnservable(): void {
    if (!this.#failure || this.#slots.size > 0) return;
    for (const w of this.#queue.splice(0)) w.reject(this.#failure);
    for (const w of this.#streamQueue.splice(0)) w.reject(this.#failure);
  }
}
