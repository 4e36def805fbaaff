import { describe, expect, it } from "vitest";
import { ErrorCode, ReplicaDiedError } from "../../../src/errors.ts";
import type { ReplicaDeath } from "../../../src/runtime/replica.ts";
import { fixture, newActor, rejection, spec, stopAfterEach, waitFor } from "./helpers.ts";

stopAfterEach();

async function crashyActor(memoryMb?: number) {
  const actor = newActor(
    spec({ modulePath: fixture("crashy.ts"), exportName: "Crashy", maxOngoingRequests: 4, ...(memoryMb ? { memoryMb } : {}) }),
  );
  const deaths: ReplicaDeath[] = [];
  actor.onDeath((d) => deaths.push(d));
  await actor.start();
  return { actor, deaths };
}

describe("replica death", () => {
  it.each([
    ["an uncaught exception in a timer", "throwInTimer", ["timer boom"], /threw an uncaught Error: timer boom/],
    ["an uncaught exception thrown from a method's work", "throwInMethod", ["method boom"], /threw an uncaught SyntaxError: method boom/],
    ["an unhandled promise rejection", "unhandledRejection", ["nobody caught me"], /nobody caught me/],
    ["process.exit() in a method", "exit", [3], /exited with code 3/],
    ["process.exit() in a timer", "exitLater", [0], /exited with code 0/],
  ])("%s kills the replica: in-flight calls fail with ReplicaDiedError", async (_kind, method, args, reason) => {
    const { actor, deaths } = await crashyActor();
    const inFlight = [rejection(actor.call("hang", [])), rejection(actor.call("hang", []))];
    await waitFor(() => actor.ongoing === 2);
    const trigger = actor.call(method, args).catch((err: Error) => err);
    for (const err of await Promise.all(inFlight)) {
      expect(err).toBeInstanceOf(ReplicaDiedError);
      expect(err.code).toBe(ErrorCode.REPLICA_DIED);
      expect(err.message).toMatch(reason);
      expect(err.message).toContain(actor.id);
    }
    await trigger;
    expect(actor.state).toBe("DEAD");
    expect(actor.ongoing).toBe(0);
    expect(deaths).toHaveLength(1);
    expect(deaths[0]!.replicaId).toBe(actor.id);
    expect(deaths[0]!.error).toBeInstanceOf(ReplicaDiedError);
    expect(deaths[0]!.error.message).toMatch(reason);
    // Death is final: no silent respawn, later calls are refused.
    const later = await rejection(actor.call("ping", []));
    expect(later.code).toBe(ErrorCode.REPLICA_DIED);
    // The death event fires once, even if more happens.
    await actor.stop();
    expect(deaths).toHaveLength(1);
  });

  it("an in-flight stream fails with ReplicaDiedError", async () => {
    const { actor } = await crashyActor();
    const it = actor.stream("hang", [])[Symbol.asyncIterator]();
    const next = rejection(it.next());
    await waitFor(() => actor.ongoing === 1);
    await actor.call("exitLater", [1]);
    const err = await next;
    expect(err.code).toBe(ErrorCode.REPLICA_DIED);
  });

  it("hitting the memory limit (memoryMb) kills only that replica", async () => {
    const { actor, deaths } = await crashyActor(64);
    const bystander = newActor(spec({ modulePath: fixture("crashy.ts"), exportName: "Crashy" }));
    await bystander.start();
    const hanging = rejection(actor.call("hang", []));
    const err = await rejection(actor.call("oom", []));
    expect(err.code).toBe(ErrorCode.REPLICA_DIED);
    expect(err.message).toContain("ran out of memory (memoryMb: 64)");
    expect((err.cause as { code?: string }).code).toBe("ERR_WORKER_OUT_OF_MEMORY");
    expect((await hanging).code).toBe(ErrorCode.REPLICA_DIED);
    expect(deaths).toHaveLength(1);
    // The main process and the other replica carry on.
    expect(await bystander.call("ping", [])).toBe("pong");
  });

  it.each([
    ["running out of memory in the constructor", "HungryConstructor", /its thread ran out of memory \(memoryMb: 64\)/],
    ["process.exit() in init()", "ExitsInInit", /its thread exited with code 9/],
  ])("%s is a start failure, not a hang", async (_kind, exportName, reason) => {
    const actor = newActor(spec({ modulePath: fixture("crashy.ts"), exportName, memoryMb: 64 }));
    const deaths: ReplicaDeath[] = [];
    actor.onDeath((d) => deaths.push(d));
    const err = await rejection(actor.start());
    expect(err.code).toBe(ErrorCode.REPLICA_START_FAILED);
    expect(err.message).toMatch(reason);
    expect(actor.state).toBe("DEAD");
    expect(deaths).toEqual([]); // start()'s rejection is the signal
  });

  it("a listener that throws does not stop the others", async () => {
    const { actor, deaths } = await crashyActor();
    const errors: unknown[] = [];
    const onUncaught = (err: unknown) => errors.push(err);
    // The failing listener's error is rethrown asynchronously; capture it instead of failing the run.
    process.prependListener("uncaughtException", onUncaught);
    try {
      actor.onDeath(() => {
        throw new Error("listener bug");
      });
      const seen: string[] = [];
      actor.onDeath((d) => seen.push(d.replicaId));
      await rejection(actor.call("exit", [2]));
      expect(deaths).toHaveLength(1);
      expect(seen).toEqual([actor.id]);
      await waitFor(() => errors.length === 1, 5_000, "the listener error to surface");
    } finally {
      process.removeListener("uncaughtException", onUncaught);
    }
  });
});
