// The contract between the control plane (controller, router) and one live replica.
// `ReplicaActor` is implemented by the piscina-backed actor (src/runtime/replica-actor.ts) and by
// fakes in unit tests. Nothing outside src/runtime/replica-actor.ts touches piscina.

import type { CallOptions, CallTransport } from "./call.ts";
import type { ReplicaId } from "./ids.ts";
import type { ResolvedTracingOptions } from "../observability/tracing-options.ts";
import type { UpcallTransport } from "./replica-services.ts";

export interface ReplicaSpec {
  replicaId: ReplicaId;
  appName: string;
  deploymentName: string;
  /** Absolute path or file: URL of the module that declares the class (.ts or .js, ESM). */
  modulePath: string;
  /**
   * Which class: an export of that module (a class, or a deployment/bound deployment wrapping
   * one), else a name registered by `@deployment` while the module was imported.
   */
  exportName: string;
  /** Constructor arguments, structured-clone safe. Handle references are revived in the worker. */
  initArgs: unknown[];
  /** Passed to `reconfigure(userConfig)` after construction when defined. */
  userConfig?: unknown;
  /** Concurrent calls the replica accepts; past it `call` rejects with ReplicaBusyError. */
  maxOngoingRequests: number;
  /**
   * Long-lived streams (`CallOptions.longLived`) it holds besides those calls; past it they are
   * refused with StreamLimitError. Unset: no bound here (the router enforces the deployment's).
   */
  maxOngoingStreams?: number;
  /** Concrete GPU ids assigned by the scheduler (fractional requests share an id). */
  gpuIds: number[];
  /** Resources reserved for this replica, in user units (e.g. { CPU: 0.2, GPU: 0.5 }). */
  resources: Record<string, number>;
  /** Heap limit for the thread (worker resourceLimits.maxOldGenerationSizeMb). */
  memoryMb?: number;
  /** The cluster node that runs it (cluster mode only; `getReplicaContext().nodeId`). */
  nodeId?: string;
  /** Tracing is on: the replica's thread traces its calls and exports with these settings. */
  tracing?: ResolvedTracingOptions;
  /** Handle calls made inside the replica are sent here (the main thread's router and services). */
  upcall?: UpcallTransport;
}

export interface ReplicaDeath {
  replicaId: ReplicaId;
  /** What killed it: the uncaught error, an exit code, or the memory limit. */
  error: Error;
}

export interface ReplicaActor {
  readonly id: ReplicaId;
  /** True for a replica on another cluster node (src/cluster/remote-replicas.ts). */
  readonly remote?: boolean;
  /** Calls in flight on this replica right now, long-lived streams excluded. */
  readonly ongoing: number;
  /** Long-lived streams open on this replica right now. */
  readonly ongoingStreams: number;
  /** Method names the replica's class has (known once `start()` resolved). */
  readonly methods: ReadonlySet<string>;
  /** Starts the thread, constructs the class, runs async init; rejects with ReplicaStartError. */
  start(): Promise<void>;
  call(method: string, args: unknown[], options?: CallOptions): Promise<unknown>;
  stream(method: string, args: unknown[], options?: CallOptions): AsyncIterable<unknown>;
  /**
   * Calls whose caller already got a TimeoutError but that the replica never finished (id →
   * method): each still holds a request slot. The liveness check counts them against the replica.
   */
  readonly overdueCalls: ReadonlyMap<number, string>;
  /**
   * The liveness probe, on a control path outside the request slots (never refused as busy):
   * resolves once the thread's event loop answered and, with `checkHealth`, the class's
   * checkHealth() passed; rejects with its error, or when the replica is not running.
   */
  probe(options: { checkHealth: boolean }): Promise<void>;
  /**
   * Ends the thread now, without a drain (the replica was declared dead): calls in flight fail
   * with ReplicaDiedError naming `reason`; no death event. Resolves once the thread has exited,
   * which a thread blocked in native code may not do for a long time: callers bound the wait.
   */
  terminate(reason: Error): Promise<void>;
  /** Called once if the thread dies unexpectedly (not after `stop()` or `terminate()`). */
  onDeath(listener: (death: ReplicaDeath) => void): void;
  /** Stops accepting calls, waits for in-flight calls up to the timeout, then ends the thread. */
  stop(options?: { gracefulTimeoutMs?: number }): Promise<void>;
}

export type ReplicaFactory = (spec: ReplicaSpec) => ReplicaActor;
