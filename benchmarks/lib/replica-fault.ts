// One fault trial against a 2-replica deployment under closed-loop load, shared by the
// crash-recovery and wedge-recovery benchmarks: deploy, keep `clients` handle calls in flight,
// inject the fault, then time fault → the router stops sending to the replica → its replacement
// RUNNING, and count what failed (only calls already on the faulty replica may fail, with
// ReplicaDiedError; any other failure is a request lost that had not reached it).

import type { Application } from "../../src/deployments/deployment.ts";
import type { DeploymentHandle } from "../../src/deployments/handle.ts";
import { ErrorCode } from "../../src/errors.ts";
import type { Runtime } from "../../src/runtime/runtime.ts";
import { median } from "./stats.ts";

/** Polls every 2 ms; the time `check` first held, or null past `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs: number): Promise<number | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return Date.now();
    await new Promise((r) => setTimeout(r, 2));
  }
  return null;
}

export interface FaultTrial {
  faultToUnroutedMs: number | null;
  faultToReplacementRunningMs: number | null;
  requests: number;
  failed: number;
  failedNotReplicaDied: number;
  requestsDuringRecovery: number;
}

/** What the benchmark's deployment offers: a unit of work, and the fault (which replica, when). */
interface FaultableMethods {
  work(ms: number): unknown;
}

export interface FaultTrialSpec<T extends FaultableMethods> {
  runtime: Runtime;
  name: string;
  app: Application;
  deployment: string;
  clients: number;
  workMs: number;
  /** Runs once the load is steady, before the fault (e.g. a cold start measured under load). */
  underLoad?: () => Promise<void>;
  fault: (handle: DeploymentHandle<T>) => Promise<{ replicaId: string; atMs: number }>;
  unroutedTimeoutMs: number;
}

export async function faultTrial<T extends FaultableMethods>(spec: FaultTrialSpec<T>): Promise<FaultTrial> {
  const { runtime, name } = spec;
  const handle = (await runtime.deploy(spec.app, { name, routePrefix: null })) as unknown as DeploymentHandle<T>;
  const router = runtime.controller.router({ app: name, deployment: spec.deployment });
  const status = () => runtime.status().applications.find((a) => a.name === name)!.deployments[0]!;
  let stop = false;
  let ok = 0;
  let failed = 0;
  let otherFailures = 0;
  const work = (handle as unknown as DeploymentHandle<FaultableMethods>).work;
  const client = async () => {
    while (!stop) {
      try {
        await work.remote(spec.workMs);
        ok++;
      } catch (err) {
        failed++;
        if ((err as { code?: string }).code !== ErrorCode.REPLICA_DIED) otherFailures++;
      }
    }
  };
  const clients = Array.from({ length: spec.clients }, client);
  await until(() => ok > 100, 10_000);
  await spec.underLoad?.();
  const { replicaId, atMs } = await spec.fault(handle);
  const unroutedAt = await until(() => !router.hasReplica(replicaId as never), spec.unroutedTimeoutMs);
  const okAtFault = ok;
  const runningAt =
    unroutedAt === null ? null : await until(() => status().restarts === 1 && (status().replicaStates.RUNNING ?? 0) === 2, 20_000);
  const duringRecovery = ok - okAtFault;
  await until(() => ok > okAtFault + 100, 5_000);
  stop = true;
  await Promise.all(clients);
  await runtime.delete(name);
  return {
    faultToUnroutedMs: unroutedAt === null ? null : Math.max(0, unroutedAt - atMs),
    faultToReplacementRunningMs: runningAt === null ? null : runningAt - atMs,
    requests: ok + failed,
    failed,
    failedNotReplicaDied: otherFailures,
    requestsDuringRecovery: duringRecovery,
  };
}

/** The median of a figure over trials, or null when any trial lacks it. */
export function medianOfAll<T>(trials: readonly T[], pick: (t: T) => number | null): number | null {
  const v = trials.map(pick).filter((x): x is number => x !== null);
  return v.length === trials.length && v.length > 0 ? median(v) : null;
}
