// The replica side of an actor: runs inside the worker thread as ONE long-lived piscina task per
// replica (`runActor`). It imports the user's module, builds the instance, then serves calls that
// arrive on the replica's MessagePort until the main thread closes the port or ends the thread.
//
// Start-up convention (Ray's async __init__, in JS terms):
//   1. `new Cls(...initArgs)` — constructor arguments are revived first (handles become live);
//   2. `await instance.init()` when the instance has an `init` method — the async init step;
//   3. `await instance.reconfigure(userConfig)` when the spec carries a userConfig.
// A failure in any step is reported as `start-failed` with the step's name; `init` is not
// callable as a method afterwards (so it cannot run twice).
//
// Calls run inside an AsyncLocalStorage scope (call-context.ts) so user code can observe its own
// cancellation; streams are pulled from the method's async iterator under credit-based flow
// control (protocol.ts). Anything a method leaves uncaught (a throwing timer, an unhandled
// rejection) is deliberately NOT caught here: it kills the thread, which the main thread reports
// as replica death.

import { pathToFileURL } from "node:url";
import type { MessagePort } from "node:worker_threads";
import { CancelledError, MethodNotFoundError, TimeoutError, serializeError } from "../errors.ts";
import { findDeploymentClass } from "../deployments/registry.ts";
import type { ReplicaTracer } from "../observability/tracing.ts";
import { reviveInitArgs } from "../deployments/revive.ts";
import { CallScope, runInCallScope } from "./call-context.ts";
import { replicaId } from "./ids.ts";
import {
  PortWriter,
  StreamCredit,
  unbatch,
  type ActorTask,
  type CancelReason,
  type FromReplica,
  type ReplicaInit,
  type StartPhase,
  type ToReplica,
} from "./protocol.ts";
import { setReplicaContext } from "./replica-context.ts";
import { WorkerCallTransport, setWorkerTransport } from "./worker-transport.ts";

/** The serve layer marks deployment wrappers (and bound deployments) with the class under this key. */
export const DEPLOYMENT_CLASS = Symbol.for("stingray.deploymentClass");

/** Start-up hooks that are not callable as methods. */
const HIDDEN_METHODS = new Set(["constructor", "init"]);

type Instance = Record<string, unknown>;
type Method = (...args: unknown[]) => unknown;

class ActiveCall {
  readonly scope = new CallScope();
  credit: StreamCredit | undefined;
  iterator: AsyncIterator<unknown> | Iterator<unknown> | undefined;
}

class StartFailure extends Error {
  constructor(
    readonly phase: StartPhase,
    readonly error: unknown,
  ) {
    super(phase);
  }
}

/** The piscina task that hosts one replica; settles when the main thread closes the port. */
export async function runActor(task: ActorTask): Promise<void> {
  const { port, init } = task;
  const closed = new Promise<void>((resolve) => port.once("close", () => resolve()));
  const actor = new ReplicaHost(port, init);
  const handle = (msg: ToReplica): void => actor.onMessage(msg);
  port.on("message", (msg: ToReplica) => unbatch(msg, handle));
  await actor.start();
  await closed;
  await actor.stopTracing();
}

class ReplicaHost {
  readonly #port: MessagePort;
  readonly #writer: PortWriter<FromReplica>;
  readonly #init: ReplicaInit;
  readonly #transport: WorkerCallTransport;
  readonly #active = new Map<number, ActiveCall>();
  /** Which method produced a queued result or item, for the error if it cannot be cloned. */
  readonly #producedBy = new WeakMap<object, string>();
  #instance: Instance | undefined;
  #methods = new Set<string>();
  /** Set when tracing is on (the SDK is imported only then). */
  #tracer: ReplicaTracer | undefined;

  constructor(port: MessagePort, init: ReplicaInit) {
    this.#port = port;
    this.#init = init;
    this.#writer = new PortWriter<FromReplica>(port, (msg, err) => this.#unclonable(msg, err));
    this.#transport = new WorkerCallTransport((msg) => this.#writer.send(msg));
  }

  async start(): Promise<void> {
    const init = this.#init;
    setReplicaContext({
      replicaId: replicaId(init.replicaId),
      appName: init.appName,
      deploymentName: init.deploymentName,
      gpuIds: init.gpuIds,
      resources: init.resources,
      ...(init.nodeId !== undefined ? { nodeId: init.nodeId } : {}),
    });
    setWorkerTransport(this.#transport);
    if (init.tracing !== undefined) this.#tracer = await loadTracer(init);
    try {
      this.#instance = await this.#construct();
      this.#methods = collectMethods(this.#instance);
    } catch (err) {
      const failure = err instanceof StartFailure ? err : new StartFailure("constructor", err);
      this.#send({ type: "start-failed", phase: failure.phase, error: serializeError(failure.error) });
      this.#writer.flush();
      this.#port.close();
      return;
    }
    this.#send({ type: "ready", methods: [...this.#methods] });
  }

  async #construct(): Promise<Instance> {
    const init = this.#init;
    const url = /^[a-z][a-z0-9+.-]*:/i.test(init.modulePath) && !/^[a-z]:[\\/]/i.test(init.modulePath)
      ? init.modulePath
      : pathToFileURL(init.modulePath).href;
    const mod = await step("import", () => import(url) as Promise<Record<string, unknown>>);
    const Cls = await step("resolve-class", () => resolveClass(mod, init.exportName, init.modulePath));
    const instance = await step("constructor", () => {
      const args = reviveInitArgs(init.initArgs, this.#transport);
      return new Cls(...args) as Instance;
    });
    if (typeof instance.init === "function") {
      await step("init", () => (instance.init as Method).call(instance));
    }
    if (init.hasUserConfig) {
      if (typeof instance.reconfigure !== "function") {
        throw new StartFailure(
          "reconfigure",
          new TypeError(`a userConfig was given but ${Cls.name || init.exportName} has no reconfigure(userConfig) method`),
        );
      }
      await step("reconfigure", () => (instance.reconfigure as Method).call(instance, init.userConfig));
    }
    return instance;
  }

  onMessage(msg: ToReplica): void {
    switch (msg.type) {
      case "call":
        this.#startCall(msg.id, msg.method, msg.args, msg.stream, msg.traceparent, msg.tracestate);
        return;
      case "cancel":
        this.#cancel(msg.id, msg.reason);
        return;
      case "credit":
        this.#active.get(msg.id)?.credit?.grant(msg.n);
        return;
      case "ping":
        void this.#ping(msg.id, msg.checkHealth, msg.flushTraces === true);
        return;
      case "batch":
        for (const m of msg.messages) this.onMessage(m);
        return;
      default:
        this.#transport.handle(msg);
    }
  }

  /** Exports what is left and stops the exporter (the port closed: the thread is ending). */
  async stopTracing(): Promise<void> {
    await this.#tracer?.shutdown().catch(() => {});
  }

  #startCall(id: number, method: string, args: unknown[], stream: boolean, traceparent: string | undefined, tracestate: string | undefined): void {
    const fn = this.#methods.has(method) ? this.#instance![method] : undefined;
    if (typeof fn !== "function") {
      const err = new MethodNotFoundError(`${this.#init.deploymentName} has no method "${method}"`);
      this.#send({ type: "error", id, error: serializeError(err) });
      return;
    }
    const call = new ActiveCall();
    if (this.#tracer !== undefined) call.scope.span = this.#tracer.startCall(traceparent, method, tracestate);
    this.#active.set(id, call);
    if (stream) {
      runInCallScope(call.scope, () => this.#runStream(id, call, method, fn as Method, args));
    } else {
      runInCallScope(call.scope, () => this.#runUnary(id, call, method, fn as Method, args));
    }
  }

  async #runUnary(id: number, call: ActiveCall, method: string, fn: Method, args: unknown[]): Promise<void> {
    try {
      const value = await fn.apply(this.#instance, args);
      if (isAsyncIterable(value)) {
        throw new TypeError(`${method}() returns an async iterator: call it as a stream`);
      }
      // A cancelled call's caller is gone; only the slot needs freeing.
      this.#sendValue({ type: "result", id, value: call.scope.aborted ? undefined : value }, method);
      call.scope.span?.end();
    } catch (err) {
      this.#send({ type: "error", id, error: serializeError(err) });
      call.scope.span?.end(err);
    } finally {
      this.#active.delete(id);
    }
  }

  async #runStream(id: number, call: ActiveCall, method: string, fn: Method, args: unknown[]): Promise<void> {
    const aborted = (): boolean => call.scope.aborted;
    try {
      const produced = await fn.apply(this.#instance, args);
      const iterator = toIterator(produced, method);
      call.iterator = iterator;
      const credit = (call.credit = new StreamCredit());
      if (aborted()) await iterator.return?.();
      while (!aborted()) {
        const wait = credit.ready();
        if (wait) await wait;
        if (aborted()) break;
        const r = await iterator.next();
        if (r.done || aborted()) break;
        credit.spend();
        this.#sendValue({ type: "item", id, value: r.value }, method);
      }
      this.#send({ type: "end", id });
      call.scope.span?.end();
    } catch (err) {
      this.#send({ type: "error", id, error: serializeError(err) });
      call.scope.span?.end(err);
    } finally {
      this.#active.delete(id);
    }
  }

  /**
   * Answers the liveness probe. Not an ActiveCall: it takes no request slot, so a replica at its
   * limit still answers, and an answer at all proves this thread's event loop turns.
   */
  async #ping(id: number, checkHealth: boolean, flushTraces: boolean): Promise<void> {
    const check = checkHealth ? this.#instance?.checkHealth : undefined;
    try {
      if (flushTraces) await this.#tracer?.flush().catch(() => {});
      if (typeof check === "function") await (check as Method).call(this.#instance);
      this.#send({ type: "pong", id });
    } catch (err) {
      this.#send({ type: "pong", id, error: serializeError(err) });
    }
  }

  #cancel(id: number, reason: CancelReason): void {
    const call = this.#active.get(id);
    if (!call || call.scope.aborted) return;
    call.scope.abort(
      reason === "timeout" ? new TimeoutError("the call timed out") : new CancelledError(),
    );
    call.credit?.close();
    // For an async generator suspended at a yield this runs its finally blocks now; if it is
    // mid-step, the return is queued behind that step (and the signal tells it to hurry).
    const ret = call.iterator?.return?.();
    if (ret && typeof (ret as Promise<unknown>).catch === "function") (ret as Promise<unknown>).catch(() => {});
  }

  /** A result or item that cannot be cloned becomes its call's error (and ends its stream). */
  #unclonable(msg: FromReplica, err: Error): void {
    if (msg.type === "upcall") {
      const error = new TypeError(
        `the arguments of ${msg.method}() must be structured-clone safe: ${err.message}`,
        { cause: err },
      );
      this.#transport.handle({ type: "upcall-error", id: msg.id, error: serializeError(error) });
      return;
    }
    if (msg.type !== "result" && msg.type !== "item") throw err;
    const call = this.#active.get(msg.id);
    const method = this.#producedBy.get(msg) ?? "the method";
    const what = msg.type === "item" ? "an item" : "the result";
    const error = new TypeError(
      `${what} of ${method}() cannot be sent to the caller (it must be structured-clone safe): ${err.message}`,
      { cause: err },
    );
    this.#writer.postNow({ type: "error", id: msg.id, error: serializeError(error) });
    if (call) this.#cancel(msg.id, "cancelled");
  }

  #sendValue(msg: FromReplica, method: string): void {
    this.#producedBy.set(msg, method);
    this.#writer.send(msg);
  }

  #send(msg: FromReplica): void {
    this.#writer.send(msg);
  }
}

/** The replica's tracer; tracing that cannot start is reported and left off (the replica still serves). */
async function loadTracer(init: ReplicaInit): Promise<ReplicaTracer | undefined> {
  try {
    const { startReplicaTracing } = await import("../observability/tracing.ts");
    return await startReplicaTracing(init.tracing!, init);
  } catch (err) {
    console.warn(`stingray: replica ${init.replicaId} runs without tracing: ${(err as Error).message}`);
    return undefined;
  }
}

async function step<T>(phase: StartPhase, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new StartFailure(phase, err);
  }
}

type Constructor = new (...args: unknown[]) => unknown;

/**
 * Finds the class: the named export (a class, or a wrapper carrying it under DEPLOYMENT_CLASS),
 * else a class registered under that name by `@deployment` while the module was imported.
 */
export function resolveClass(mod: Record<string, unknown>, exportName: string, modulePath: string): Constructor {
  let candidate: unknown = mod[exportName];
  for (let depth = 0; depth < 4 && isObjectLike(candidate) && DEPLOYMENT_CLASS in candidate; depth++) {
    const inner = (candidate as { [DEPLOYMENT_CLASS]: unknown })[DEPLOYMENT_CLASS];
    if (inner === candidate) break;
    candidate = inner;
  }
  if (typeof candidate === "function") return candidate as Constructor;
  const registered = findDeploymentClass(exportName);
  if (registered) return registered as unknown as Constructor;
  const found = candidate === undefined ? "no such export" : `the export is a ${typeof candidate}, not a class`;
  throw new TypeError(
    `cannot find class "${exportName}" in ${modulePath}: ${found}, and no deployment named "${exportName}" was registered`,
  );
}

/** Callable method names along the prototype chain (getters are not invoked), minus hooks. */
export function collectMethods(instance: object): Set<string> {
  const names = new Set<string>();
  for (const [name, desc] of Object.entries(Object.getOwnPropertyDescriptors(instance))) {
    if (typeof desc.value === "function") names.add(name);
  }
  for (let proto = Object.getPrototypeOf(instance); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      const desc = Object.getOwnPropertyDescriptor(proto, name);
      if (desc && typeof desc.value === "function") names.add(name);
    }
  }
  for (const name of HIDDEN_METHODS) names.delete(name);
  return names;
}

function toIterator(value: unknown, method: string): AsyncIterator<unknown> | Iterator<unknown> {
  if (isObjectLike(value)) {
    const v = value as { [Symbol.asyncIterator]?: () => AsyncIterator<unknown>; [Symbol.iterator]?: () => Iterator<unknown> };
    if (typeof v[Symbol.asyncIterator] === "function") return v[Symbol.asyncIterator]!();
    if (typeof v[Symbol.iterator] === "function") return v[Symbol.iterator]!();
  }
  throw new TypeError(`${method}() did not return an (async) iterable, so it cannot be streamed: call it without streaming`);
}

function isAsyncIterable(value: unknown): boolean {
  return isObjectLike(value) && typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === "function";
}

function isObjectLike(value: unknown): value is object {
  return (typeof value === "object" && value !== null) || typeof value === "function";
}
