// Test doubles for the control plane: a fake replica actor whose start, calls and death the test
// drives by hand, a factory that records every replica it built, and a fake clock. Like the real
// actor, a call whose caller timed out keeps its slot until the replica finishes it (`timeOut`,
// `finishLate`), liveness probes run outside the slots (`probes`; `wedged` stops answering them),
// and `terminate` ends the thread without a drain (`exitGate` holds its exit, as native code would).

import {
  CancelledError,
  ReplicaBusyError,
  ReplicaDiedError,
  ReplicaStoppedError,
  StreamLimitError,
  TimeoutError,
} from "../../../src/errors.ts";
import type { CallOptions } from "../../../src/runtime/call.ts";
import type { ReplicaId } from "../../../src/runtime/ids.ts";
import type { ReplicaActor, ReplicaDeath, ReplicaFactory, ReplicaSpec } from "../../../src/runtime/replica.ts";
import { replicaId } from "../../../src/runtime/ids.ts";

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: Error): void;
  settled: boolean;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const d = { settled: false } as Deferred<T>;
  d.promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  d.resolve = (v) => {
    d.settled = true;
    resolve(v);
  };
  d.reject = (e) => {
    d.settled = true;
    reject(e);
  };
  return d;
}

export interface FakeCall {
  method: string;
  args: unknown[];
  options?: CallOptions;
  result: Deferred<unknown>;
  /** Its caller got a TimeoutError but the replica has not finished it: it still holds a slot. */
  overdue?: boolean;
}

export interface FakeProbe {
  checkHealth: boolean;
  result: Deferred<void>;
}

export type Responder = (method: string, args: unknown[]) => unknown;

export class FakeReplica implements ReplicaActor {
  readonly id: ReplicaId;
  readonly spec: ReplicaSpec | undefined;
  methods: ReadonlySet<string> = new Set(["work"]);
  readonly calls: FakeCall[] = [];
  readonly #start = deferred<void>();
  readonly #deathListeners: Array<(d: ReplicaDeath) => void> = [];
  /** When set, calls answer at once with its value instead of waiting for the test. */
  respond: Responder | undefined;
  readonly maxOngoing: number;
  state: "NEW" | "STARTING" | "RUNNING" | "STOPPING" | "STOPPED" | "DEAD" = "NEW";
  stopOptions: { gracefulTimeoutMs?: number } | undefined;
  /** Resolves stop(); tests may hold it to observe STOPPING. */
  readonly stopGate = deferred<void>();
  autoStop = true;
  /** Liveness probes sent on the control path, in order. */
  readonly probes: FakeProbe[] = [];
  /** Its thread's event loop is blocked: probes get no answer. */
  wedged = false;
  /** What terminate() was called with. */
  terminatedWith: Error | undefined;
  /** Resolves the terminated thread's exit; with autoExit false, tests hold it (native code). */
  readonly exitGate = deferred<void>();
  autoExit = true;

  constructor(id: string, spec?: ReplicaSpec, maxOngoing = spec?.maxOngoingRequests ?? 100) {
    this.id = replicaId(id);
    this.spec = spec;
    this.maxOngoing = maxOngoing;
  }

  /** Like the real actor: long-lived streams are counted apart from requests. */
  get ongoing(): number {
    return this.calls.filter((c) => (!c.result.settled || c.overdue) && c.options?.longLived !== true).length;
  }

  get ongoingStreams(): number {
    return this.calls.filter((c) => !c.result.settled && c.options?.longLived === true).length;
  }

  get pending(): FakeCall[] {
    return this.calls.filter((c) => !c.result.settled);
  }

  start(): Promise<void> {
    this.state = "STARTING";
    return this.#start.promise;
  }

  succeedStart(methods?: string[]): void {
    if (methods) this.methods = new Set(methods);
    this.state = "RUNNING";
    this.#start.resolve();
  }

  failStart(err: Error): void {
    this.state = "DEAD";
    this.#start.reject(err);
  }

  call(method: string, args: unknown[], options?: CallOptions): Promise<unknown> {
    if (this.state === "DEAD") return Promise.reject(new ReplicaDiedError(`replica ${this.id} is dead`));
    if (this.state !== "RUNNING") return Promise.reject(new ReplicaStoppedError(`replica ${this.id} is ${this.state}`));
    if (options?.longLived === true) {
      if (this.ongoingStreams >= (this.spec?.maxOngoingStreams ?? Number.POSITIVE_INFINITY)) {
        return Promise.reject(new StreamLimitError(`replica ${this.id} holds its maximum of streams`));
      }
    } else if (this.ongoing >= this.maxOngoing) return Promise.reject(new ReplicaBusyError(`replica ${this.id} is full`));
    const call: FakeCall = { method, args, options, result: deferred() };
    this.calls.push(call);
    options?.signal?.addEventListener("abort", () => call.result.reject(new CancelledError()), { once: true });
    if (this.respond) {
      try {
        Promise.resolve(this.respond(method, args)).then(call.result.resolve, call.result.reject);
      } catch (err) {
        call.result.reject(err as Error);
      }
    }
    return call.result.promise;
  }

  get overdueCalls(): ReadonlyMap<number, string> {
    const out = new Map<number, string>();
    this.calls.forEach((c, i) => {
      if (c.overdue) out.set(i, c.method);
    });
    return out;
  }

  /** The call's deadline passes: its caller gets a TimeoutError, the replica keeps working on it. */
  timeOut(call: FakeCall): void {
    call.overdue = true;
    call.result.reject(new TimeoutError(`the call to ${call.method}() timed out`));
  }

  /** The replica finally finishes a call that had timed out: its slot frees. */
  finishLate(call: FakeCall): void {
    call.overdue = false;
  }

  probe(options: { checkHealth: boolean }): Promise<void> {
    if (this.state === "DEAD") return Promise.reject(new ReplicaDiedError(`replica ${this.id} is dead`));
    if (this.state !== "RUNNING") return Promise.reject(new ReplicaStoppedError(`replica ${this.id} is ${this.state}`));
    const probe: FakeProbe = { checkHealth: options.checkHealth, result: deferred() };
    this.probes.push(probe);
    if (this.wedged) return probe.result.promise;
    if (!options.checkHealth) {
      probe.result.resolve();
    } else if (this.respond) {
      // checkHealth() answers like any method; without a responder it hangs until the test settles it.
      try {
        Promise.resolve(this.respond("checkHealth", [])).then(() => probe.result.resolve(), probe.result.reject);
      } catch (err) {
        probe.result.reject(err as Error);
      }
    }
    return probe.result.promise;
  }

  terminate(reason: Error): Promise<void> {
    this.terminatedWith = reason;
    if (this.state === "DEAD" || this.state === "STOPPED") return Promise.resolve();
    this.state = "DEAD";
    for (const c of this.calls) {
      c.overdue = false;
      if (!c.result.settled) c.result.reject(new ReplicaDiedError(`replica ${this.id} was terminated: ${reason.message}`));
    }
    for (const p of this.probes) if (!p.result.settled) p.result.reject(new ReplicaDiedError(reason.message));
    if (this.autoExit) this.exitGate.resolve();
    return this.exitGate.promise.then(() => {
      this.state = "STOPPED";
    });
  }

  stream(method: string, args: unknown[], options?: CallOptions): AsyncIterable<unknown> {
    const self = this;
    return (async function* () {
      const items = (await self.call(method, args, options)) as unknown[];
      for (const item of items) yield item;
    })();
  }

  onDeath(listener: (death: ReplicaDeath) => void): void {
    this.#deathListeners.push(listener);
  }

  /** The thread dies: in-flight calls fail, listeners hear once. */
  die(message = "boom"): void {
    const wasStopping = this.state === "STOPPING";
    this.state = "DEAD";
    for (const c of this.pending) c.result.reject(new ReplicaDiedError(`replica ${this.id} died: ${message}`));
    if (!this.#start.settled) this.#start.reject(new ReplicaDiedError(message));
    if (wasStopping) return;
    for (const l of this.#deathListeners.splice(0)) l({ replicaId: this.id, error: new ReplicaDiedError(message) });
  }

  stop(options?: { gracefulTimeoutMs?: number }): Promise<void> {
    this.stopOptions = options ?? {};
    if (this.state === "DEAD" || this.state === "STOPPED") return Promise.resolve();
    this.state = "STOPPING";
    if (this.autoStop) this.stopGate.resolve();
    return this.stopGate.promise.then(() => {
      this.state = "STOPPED";
    });
  }
}

export interface FakeFactory {
  factory: ReplicaFactory;
  replicas: FakeReplica[];
  /** Replicas built for one deployment, in creation order. */
  of(deployment: string): FakeReplica[];
  /** Called on each new replica (e.g. to auto-start it). */
  onCreate?: (r: FakeReplica) => void;
}

export function fakeFactory(): FakeFactory {
  const out: FakeFactory = {
    replicas: [],
    factory: (spec) => {
      const r = new FakeReplica(spec.replicaId, spec);
      out.replicas.push(r);
      out.onCreate?.(r);
      return r;
    },
    of: (deployment) => out.replicas.filter((r) => r.spec?.deploymentName === deployment),
  };
  return out;
}

export class FakeClock {
  #now: number;
  constructor(startMs = 1_000_000) {
    this.#now = startMs;
  }
  now(): number {
    return this.#now;
  }
  advance(ms: number): void {
    this.#now += ms;
  }
}

/** Lets settled promises run their callbacks. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
}
