// The main-thread proxy for one replica living in its own worker thread — the ONLY module that
// touches piscina. Design (measured, see DESIGN.md §3):
//   - one piscina pool per replica with exactly one thread, `atomics: 'disabled'` (the default
//     freezes idle workers in Atomics.wait, stopping their timers and sockets);
//   - piscina owns the thread's lifecycle through ONE long-lived task per replica (worker-entry's
//     `runActor`), handed the replica's MessagePort; every call, result, stream item, cancel and
//     upcall travels over that single ordered port, which is ~3x cheaper than a piscina task per
//     call and keeps a stream's items ahead of its end;
//   - that task settling, or the pool's error event, means the thread is gone: death is final for
//     this replica (piscina would silently start a fresh thread; minThreads 0 and destroying the
//     pool prevent it), every call in flight rejects with ReplicaDiedError, listeners hear once;
//   - calls are never cancelled by aborting piscina tasks (that kills the thread): a `cancel`
//     message aborts the call's signal in the worker and returns its async generator.
// A cancelled call rejects at once but keeps counting in `ongoing` until the worker reports that
// the method actually finished, because until then it still occupies the replica (timed-out ones
// are listed in `overdueCalls`, which the liveness check counts against the replica).
// Liveness: `probe()` is a ping on the same port that takes no request slot (the worker answers it
// from its event loop, after checkHealth() when asked); `terminate()` ends the thread without a
// drain once the controller declared the replica dead.
// Long-lived streams (`CallOptions.longLived`: SSE subscriptions) are counted apart: they take
// none of the maxOngoingRequests slots, and at most maxOngoingStreams of them run at once.
// The table of calls in flight is pending-calls.ts; the start message and failure texts are
// replica-start.ts.

import { MessageChannel, type MessagePort } from "node:worker_threads";
import { fileURLToPath } from "node:url";
import { Piscina } from "piscina";
import {
  CancelledError,
  InvalidOptionsError,
  MethodNotFoundError,
  ReplicaBusyError,
  ReplicaDiedError,
  ReplicaStartError,
  ReplicaStoppedError,
  StreamLimitError,
  TimeoutError,
  deserializeError,
} from "../errors.ts";
import type { CallOptions } from "./call.ts";
import type { ReplicaId } from "./ids.ts";
import {
  PortWriter,
  StreamReceiver,
  type ActorTask,
  type CancelReason,
  type FromReplica,
  type ReplicaInit,
  type ToReplica,
} from "./protocol.ts";
import { PendingCalls, failCaller, pendingCall, type PendingCall } from "./pending-calls.ts";
import type { ReplicaActor, ReplicaDeath, ReplicaFactory, ReplicaSpec } from "./replica.ts";
import { describeDeath, replicaInit, startPhaseText } from "./replica-start.ts";
import { UpcallServer } from "./upcall-server.ts";

const BOOTSTRAP = fileURLToPath(new URL("./worker-bootstrap.mjs", import.meta.url));
const DEFAULT_GRACEFUL_TIMEOUT_MS = 20_000;
/** How long a graceful stop waits for the thread to export its spans (tracing on). */
const TRACE_FLUSH_TIMEOUT_MS = 2_000;

export type ReplicaActorState = "NEW" | "STARTING" | "RUNNING" | "STOPPING" | "STOPPED" | "DEAD";

export class PiscinaReplicaActor implements ReplicaActor {
  readonly id: ReplicaId;
  readonly #spec: ReplicaSpec;
  #state: ReplicaActorState = "NEW";
  #pool: Piscina | undefined;
  #port: MessagePort | undefined;
  #writer: PortWriter<ToReplica> | undefined;
  #methods: ReadonlySet<string> = new Set();
  readonly #calls = new PendingCalls();
  #upcalls: UpcallServer | undefined;
  #starting: { resolve: () => void; reject: (err: Error) => void } | undefined;
  #drained: (() => void) | undefined;
  #stopping: Promise<void> | undefined;
  /** Settles once the thread has exited (set by the first teardown). */
  #exited: Promise<void> | undefined;
  readonly #pings = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  #nextPingId = 1;
  readonly #deathListeners: Array<(death: ReplicaDeath) => void> = [];

  constructor(spec: ReplicaSpec) {
    if (!Number.isInteger(spec.maxOngoingRequests) || spec.maxOngoingRequests < 1) {
      throw new InvalidOptionsError(`maxOngoingRequests must be a whole number >= 1, got ${spec.maxOngoingRequests}`);
    }
    if (spec.maxOngoingStreams !== undefined && !(Number.isInteger(spec.maxOngoingStreams) && spec.maxOngoingStreams >= 0)) {
      throw new InvalidOptionsError(`maxOngoingStreams must be a whole number >= 0, got ${spec.maxOngoingStreams}`);
    }
    if (spec.memoryMb !== undefined && !(Number.isFinite(spec.memoryMb) && spec.memoryMb > 0)) {
      throw new InvalidOptionsError(`memoryMb must be a number > 0, got ${spec.memoryMb}`);
    }
    this.id = spec.replicaId;
    this.#spec = spec;
  }

  get state(): ReplicaActorState {
    return this.#state;
  }

  get ongoing(): number {
    return this.#calls.requests;
  }

  get ongoingStreams(): number {
    return this.#calls.streams;
  }

  get methods(): ReadonlySet<string> {
    return this.#methods;
  }

  get overdueCalls(): ReadonlyMap<number, string> {
    return this.#calls.overdue();
  }

  probe(options: { checkHealth: boolean }): Promise<void> {
    if (this.#state !== "RUNNING") {
      const refused = this.#state === "DEAD" ? new ReplicaDiedError(`replica ${this.id} is dead`) : new ReplicaStoppedError(`replica ${this.id} is ${this.#state}`);
      return Promise.reject(refused);
    }
    const id = this.#nextPingId++;
    return new Promise((resolve, reject) => {
      this.#pings.set(id, { resolve, reject });
      this.#post({ type: "ping", id, checkHealth: options.checkHealth });
    });
  }

  terminate(reason: Error): Promise<void> {
    const state = this.#state;
    if (state === "NEW" || state === "STOPPED" || state === "DEAD") return this.#exited ?? Promise.resolve();
    this.#state = "DEAD";
    if (state === "STARTING") {
      this.#starting?.reject(new ReplicaStartError(`replica ${this.id} was terminated while starting: ${reason.message}`, { cause: reason }));
      this.#starting = undefined;
    }
    this.#failAll(() => new ReplicaDiedError(`replica ${this.id} was terminated with this call in flight: ${reason.message}`, { cause: reason }));
    this.#drained?.();
    // No drain: Worker.terminate() interrupts running JavaScript at once (a busy loop included).
    return this.#teardown(`was terminated: ${reason.message}`);
  }

  start(): Promise<void> {
    if (this.#state !== "NEW") return Promise.reject(new ReplicaStartError(`replica ${this.id} was already started`));
    this.#state = "STARTING";
    const spec = this.#spec;
    let init: ReplicaInit;
    try {
      init = replicaInit(spec);
    } catch (err) {
      this.#state = "DEAD";
      return Promise.reject(err);
    }

    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    const writer = new PortWriter<ToReplica>(port1, (msg, err) => this.#unclonable(msg, err));
    this.#writer = writer;
    this.#upcalls = new UpcallServer(spec.upcall, writer, spec.replicaId);
    port1.on("message", (msg: FromReplica) => this.#onMessage(msg));

    const pool = new Piscina({
      filename: BOOTSTRAP,
      minThreads: 0, // never respawn a dead replica's thread
      maxThreads: 1,
      idleTimeout: Number.POSITIVE_INFINITY,
      concurrentTasksPerWorker: 1,
      atomics: "disabled",
      ...(spec.memoryMb !== undefined ? { resourceLimits: { maxOldGenerationSizeMb: spec.memoryMb } } : {}),
    });
    this.#pool = pool;
    pool.on("error", (err: Error) => this.#onThreadGone(err));
    const task: ActorTask = { port: port2, init };
    pool.run(task, { transferList: [port2] }).then(
      () => this.#onThreadGone(new Error("the replica's thread finished on its own")),
      (err: Error) => this.#onThreadGone(err),
    );
    return new Promise((resolve, reject) => {
      this.#starting = { resolve, reject };
    });
  }

  call(method: string, args: unknown[], options?: CallOptions): Promise<unknown> {
    const refused = this.#refuse(method, options);
    if (refused) return Promise.reject(refused);
    const id = this.#calls.newId();
    return new Promise((resolve, reject) => this.#begin(id, pendingCall(method, { resolve, reject }), args, false, options));
  }

  /** The call starts on the first `next()`, like calling an async generator function. */
  stream(method: string, args: unknown[], options?: CallOptions): AsyncIterable<unknown> {
    let iterated = false;
    return {
      [Symbol.asyncIterator]: (): AsyncIterator<unknown> => {
        if (iterated) throw new TypeError("a replica stream can be iterated only once");
        iterated = true;
        const id = this.#calls.newId();
        const receiver = new StreamReceiver(
          (n) => this.#post({ type: "credit", id, n }),
          () => this.#cancel(id, "cancelled", false),
        );
        const refused = this.#refuse(method, options);
        if (refused) {
          receiver.fail(refused);
          return receiver;
        }
        this.#begin(id, pendingCall(method, { receiver }), args, true, options);
        return receiver;
      },
    };
  }

  onDeath(listener: (death: ReplicaDeath) => void): void {
    this.#deathListeners.push(listener);
  }

  stop(options?: { gracefulTimeoutMs?: number }): Promise<void> {
    if (this.#stopping) return this.#stopping;
    const timeoutMs = options?.gracefulTimeoutMs ?? DEFAULT_GRACEFUL_TIMEOUT_MS;
    this.#stopping = this.#stop(timeoutMs);
    return this.#stopping;
  }

  async #stop(timeoutMs: number): Promise<void> {
    if (this.#state === "NEW" || this.#state === "DEAD") {
      this.#state = this.#state === "NEW" ? "STOPPED" : this.#state;
      return;
    }
    if (this.#state === "STARTING") {
      this.#state = "STOPPED";
      this.#starting?.reject(
        new ReplicaStartError(`replica ${this.id} was stopped before it finished starting`, {
          cause: new ReplicaStoppedError("stopped while starting"),
        }),
      );
      this.#starting = undefined;
      await this.#teardown("was stopped while starting");
      return;
    }
    this.#state = "STOPPING";
    const deadlineMs = Date.now() + timeoutMs;
    if (this.#calls.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#drained = resolve;
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
      this.#drained = undefined;
    }
    // Work it runs outside calls (MCP tasks) may finish within the same timeout.
    await this.#upcalls?.drainServiceWork(deadlineMs, () => this.#state !== "STOPPING");
    if (this.#state !== "STOPPING") return; // it died while draining
    if (this.#spec.tracing !== undefined) await this.#flushTraces();
    if (this.#state !== "STOPPING") return;
    this.#state = "STOPPED";
    this.#failAll(() => new ReplicaStoppedError(`replica ${this.id} was stopped before the call finished`));
    await this.#teardown("was stopped (scaled down, replaced by an update, or shut down)");
  }

  /** Why a new call cannot start, or undefined when it can. */
  #refuse(method: string, options: CallOptions | undefined): Error | undefined {
    if (this.#state !== "RUNNING") {
      if (this.#state === "DEAD") return new ReplicaDiedError(`replica ${this.id} is dead`);
      return new ReplicaStoppedError(`replica ${this.id} is not accepting calls (${this.#state})`);
    }
    if (!this.#methods.has(method)) {
      return new MethodNotFoundError(`${this.#spec.deploymentName} has no method "${method}"`);
    }
    if (options?.longLived === true) {
      const maxStreams = this.#spec.maxOngoingStreams ?? Number.POSITIVE_INFINITY;
      if (this.#calls.streams >= maxStreams) {
        return new StreamLimitError(`replica ${this.id} is at its limit of ${maxStreams} long-lived streams`);
      }
    } else if (this.#calls.requests >= this.#spec.maxOngoingRequests) {
      return new ReplicaBusyError(
        `replica ${this.id} is at its limit of ${this.#spec.maxOngoingRequests} ongoing requests`,
      );
    }
    if (options?.signal?.aborted) return new CancelledError();
    return undefined;
  }

  #begin(id: number, pending: PendingCall, args: unknown[], stream: boolean, options: CallOptions | undefined): void {
    this.#calls.add(id, pending, options?.longLived === true);
    const msg: Extract<ToReplica, { type: "call" }> = { type: "call", id, method: pending.method, args, stream };
    // Only the keys that are set: every call message is cloned to the worker.
    if (options?.traceparent !== undefined) msg.traceparent = options.traceparent;
    if (options?.tracestate !== undefined) msg.tracestate = options.tracestate;
    this.#writer!.send(msg);
    this.#calls.arm(pending, options?.signal, options?.timeoutMs, (reason) => this.#cancel(id, reason, true));
  }

  /** Answers the caller now and tells the worker; the slot frees when the worker finishes. */
  #cancel(id: number, reason: CancelReason, answerCaller: boolean): void {
    const pending = this.#calls.detach(id, reason === "timeout");
    if (!pending) return;
    this.#post({ type: "cancel", id, reason });
    if (!answerCaller) return;
    const err =
      reason === "timeout"
        ? new TimeoutError(`the call to ${pending.method}() on replica ${this.id} timed out`)
        : new CancelledError(`the call to ${pending.method}() was cancelled`);
    failCaller(pending, err);
  }

  /** Arguments that cannot be cloned fail their call; upcall replies are the upcall server's. */
  #unclonable(msg: ToReplica, err: Error): void {
    if (msg.type !== "call") {
      this.#upcalls?.unclonable(msg, err);
      return;
    }
    const pending = this.#finish(msg.id);
    if (!pending || pending.detached) return;
    const error = new TypeError(
      `the arguments of ${pending.method}() must be structured-clone safe: ${err.message}`,
      { cause: err },
    );
    failCaller(pending, error);
  }

  #onMessage(msg: FromReplica): void {
    switch (msg.type) {
      case "batch":
        for (const m of msg.messages) this.#onMessage(m);
        return;
      case "result": {
        const pending = this.#finish(msg.id);
        if (pending && !pending.detached) pending.resolve!(msg.value);
        return;
      }
      case "item":
        this.#calls.get(msg.id)?.receiver?.push(msg.value);
        return;
      case "end": {
        const pending = this.#finish(msg.id);
        if (pending && !pending.detached) pending.receiver!.end();
        return;
      }
      case "error": {
        const pending = this.#finish(msg.id);
        if (!pending || pending.detached) return;
        const err = deserializeError(msg.error);
        if (pending.receiver) pending.receiver.failAfterQueued(err);
        else pending.reject!(err);
        return;
      }
      case "pong": {
        const ping = this.#pings.get(msg.id);
        this.#pings.delete(msg.id);
        if (msg.error) ping?.reject(deserializeError(msg.error));
        else ping?.resolve();
        return;
      }
      case "ready":
        if (this.#state !== "STARTING") return;
        this.#methods = new Set(msg.methods);
        this.#state = "RUNNING";
        this.#starting?.resolve();
        this.#starting = undefined;
        return;
      case "start-failed": {
        if (this.#state !== "STARTING") return;
        this.#state = "DEAD";
        const cause = deserializeError(msg.error);
        this.#starting?.reject(
          new ReplicaStartError(
            `replica ${this.id} of ${this.#spec.appName}#${this.#spec.deploymentName} failed to start: ${startPhaseText(msg.phase)}: ${cause.message}`,
            { cause },
          ),
        );
        this.#starting = undefined;
        void this.#teardown("failed to start");
        return;
      }
      default:
        this.#upcalls?.handle(msg);
    }
  }

  #finish(id: number): PendingCall | undefined {
    const pending = this.#calls.finish(id);
    if (!pending) return undefined;
    if (this.#drained && this.#calls.size === 0) this.#drained();
    return pending;
  }

  #onThreadGone(err: Error): void {
    const state = this.#state;
    if (state === "STOPPED" || state === "DEAD" || state === "NEW") return;
    this.#state = "DEAD";
    const cause = describeDeath(err, this.#spec.memoryMb);
    if (state === "STARTING") {
      this.#starting?.reject(
        new ReplicaStartError(`replica ${this.id} failed to start: its thread ${cause.text}`, { cause: err }),
      );
      this.#starting = undefined;
      void this.#teardown("failed to start");
      return;
    }
    const died = new ReplicaDiedError(`replica ${this.id} died: its thread ${cause.text}`, { cause: err });
    this.#failAll(() => new ReplicaDiedError(`replica ${this.id} died with this call in flight: its thread ${cause.text}`, { cause: err }));
    this.#drained?.();
    void this.#teardown(`died: its thread ${cause.text}`);
    if (state === "STOPPING") return; // stop() was asked for: no death event
    for (const listener of this.#deathListeners.splice(0)) {
      try {
        listener({ replicaId: this.id, error: died });
      } catch (listenerErr) {
        // A listener's bug must not stop the others from hearing about the death.
        queueMicrotask(() => {
          throw listenerErr;
        });
      }
    }
  }

  #failAll(makeError: () => Error): void {
    const pings = [...this.#pings.values()];
    this.#pings.clear();
    for (const ping of pings) ping.reject(makeError());
    for (const pending of this.#calls.takeAll()) failCaller(pending, makeError());
  }

  /**
   * Ends the thread once; every caller gets the same promise, settled when it has exited. `why`
   * (the first caller's) tells the replica services what became of the replica.
   */
  #teardown(why: string): Promise<void> {
    this.#exited ??= (async () => {
      this.#upcalls?.closeAll(`replica ${this.id} ${why}`);
      this.#port?.close();
      const pool = this.#pool;
      this.#pool = undefined;
      // piscina's destroy() terminates the worker and waits for its exit event: milliseconds for
      // JavaScript (a busy loop included), but not before a native call it is blocked in returns.
      await pool?.destroy().catch(() => {});
    })();
    return this.#exited;
  }

  /** Lets the thread export its ended spans before it is ended (bounded: a stop never hangs on it). */
  async #flushTraces(): Promise<void> {
    const id = this.#nextPingId++;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.#pings.set(id, { resolve, reject: () => resolve() });
      this.#post({ type: "ping", id, checkHealth: false, flushTraces: true });
      timer = setTimeout(resolve, TRACE_FLUSH_TIMEOUT_MS);
    });
    clearTimeout(timer);
    this.#pings.delete(id);
  }

  #post(msg: ToReplica): void {
    this.#writer?.send(msg);
  }
}

/** Builds piscina-backed replicas; the control plane's default ReplicaFactory. */
export const createReplicaActor: ReplicaFactory = (spec) => new PiscinaReplicaActor(spec);
