// Shared helpers for actor integration tests: real worker threads, stopped after each test.
import { fileURLToPath } from "node:url";
import { afterEach } from "vitest";
import { PiscinaReplicaActor } from "../../../src/runtime/replica-actor.ts";
import { replicaId } from "../../../src/runtime/ids.ts";
import type { ReplicaSpec } from "../../../src/runtime/replica.ts";

export function fixture(name: string): string {
  return fileURLToPath(new URL(`../../fixtures/actors/${name}`, import.meta.url));
}

let seq = 0;

export function spec(overrides: Partial<ReplicaSpec> & Pick<ReplicaSpec, "modulePath" | "exportName">): ReplicaSpec {
  seq++;
  return {
    replicaId: replicaId(`test-replica-${seq}`),
    appName: "test-app",
    deploymentName: overrides.exportName,
    initArgs: [],
    maxOngoingRequests: 8,
    gpuIds: [],
    resources: { CPU: 1 },
    ...overrides,
  };
}

const opened = new Set<PiscinaReplicaActor>();

/** Creates an actor that is stopped after the current test (or file, for beforeAll actors). */
export function track(actor: PiscinaReplicaActor): PiscinaReplicaActor {
  opened.add(actor);
  return actor;
}

export function newActor(s: ReplicaSpec): PiscinaReplicaActor {
  return track(new PiscinaReplicaActor(s));
}

export async function stopAll(): Promise<void> {
  const actors = [...opened];
  opened.clear();
  await Promise.all(actors.map((a) => a.stop({ gracefulTimeoutMs: 0 })));
}

export function stopAfterEach(): void {
  afterEach(stopAll);
}

/** Polls until `check` returns true (no fixed sleeps: the machine is shared and slow). */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function rejection(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error("expected the promise to reject");
}
