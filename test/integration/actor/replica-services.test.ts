// A replica's main-thread services (src/runtime/replica-services.ts, used by MCP Tasks) and its
// lifecycle, with a real worker thread: a graceful stop waits for the work the services count for
// the replica (within the graceful timeout), and every way the thread ends tells the services why.

import { describe, expect, it } from "vitest";
import type { CallTransport } from "../../../src/runtime/call.ts";
import type { ReplicaId } from "../../../src/runtime/ids.ts";
import { withReplicaServices, type ReplicaServices } from "../../../src/runtime/replica-services.ts";
import { fixture, newActor, spec, stopAfterEach, waitFor } from "./helpers.ts";

stopAfterEach();

const noRouter: CallTransport = {
  call: () => Promise.reject(new Error("no router here")),
  stream: () => ({ [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error("no router here")) }) }),
};

class FakeServices implements ReplicaServices {
  pending = 0;
  readonly gone: Array<{ replicaId: ReplicaId; reason: string }> = [];
  forReplica(): CallTransport {
    return noRouter;
  }
  replicaGone(replicaId: ReplicaId, reason: string): void {
    this.gone.push({ replicaId, reason });
  }
  pendingWork(): number {
    return this.pending;
  }
}

function actorWith(services: FakeServices, exportName: "Counter" | "Crashy") {
  const modulePath = fixture(exportName === "Counter" ? "counter.ts" : "crashy.ts");
  return newActor(spec({ modulePath, exportName, initArgs: exportName === "Counter" ? [{ start: 0, label: "svc" }] : [], upcall: withReplicaServices(noRouter, services) }));
}

describe("replica services and the replica's lifecycle", () => {
  it("waits for the services' pending work before ending the thread on a graceful stop", async () => {
    const services = new FakeServices();
    const actor = actorWith(services, "Counter");
    await actor.start();
    services.pending = 1;
    const t0 = Date.now();
    const stopped = actor.stop({ gracefulTimeoutMs: 10_000 });
    setTimeout(() => (services.pending = 0), 300);
    await stopped;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(services.gone).toEqual([{ replicaId: actor.id, reason: expect.stringMatching(new RegExp(`^replica ${actor.id} was stopped`)) }]);
  });

  it("stops waiting for pending work at the graceful timeout", async () => {
    const services = new FakeServices();
    const actor = actorWith(services, "Counter");
    await actor.start();
    services.pending = 3;
    const t0 = Date.now();
    await actor.stop({ gracefulTimeoutMs: 150 });
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(actor.state).toBe("STOPPED");
    expect(services.gone).toHaveLength(1);
  });

  it("tells the services a replica died, and how", async () => {
    const services = new FakeServices();
    const actor = actorWith(services, "Crashy");
    await actor.start();
    await actor.call("throwInTimer", ["boom for the services"]);
    await waitFor(() => services.gone.length === 1, 10_000, "replicaGone");
    expect(services.gone[0]!.reason).toBe(`replica ${actor.id} died: its thread threw an uncaught Error: boom for the services`);
  });

  it("tells the services a replica was terminated", async () => {
    const services = new FakeServices();
    const actor = actorWith(services, "Counter");
    await actor.start();
    await actor.terminate(new Error("wedged"));
    expect(services.gone).toEqual([{ replicaId: actor.id, reason: `replica ${actor.id} was terminated: wedged` }]);
  });
});
