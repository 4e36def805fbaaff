import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, MethodNotFoundError, ReplicaBusyError, ReplicaStoppedError } from "../../../src/errors.ts";
import type { PiscinaReplicaActor } from "../../../src/runtime/replica-actor.ts";
import { fixture, newActor, rejection, spec, stopAll, waitFor } from "./helpers.ts";

let actor: PiscinaReplicaActor;

beforeAll(async () => {
  actor = newActor(
    spec({ modulePath: fixture("counter.ts"), exportName: "Counter", initArgs: [{ start: 0, label: "calls" }], maxOngoingRequests: 3 }),
  );
  await actor.start();
});
afterAll(stopAll);

describe("replica calls", () => {
  it("keeps state between calls and returns structured-clone values", async () => {
    const before = (await actor.call("get", [])) as number;
    expect(await actor.call("add", [2])).toBe(before + 2);
    expect(await actor.call("add", [3])).toBe(before + 5);
    const value = { date: new Date(0), map: new Map([["k", 1]]), bytes: new Uint8Array([1, 2]), nested: [{ a: null }] };
    expect(await actor.call("echo", [value])).toEqual(value);
    expect(await actor.call("noop", [])).toBeUndefined();
  });

  it("rebuilds a user error with its name, message, stack and data", async () => {
    const err = await rejection(actor.call("fail", ["short and stout"]));
    expect(err.name).toBe("TeapotError");
    expect(err.message).toBe("short and stout");
    expect(err.stack).toContain("counter.ts");
    expect((err as unknown as { status: number }).status).toBe(418);
  });

  it("keeps built-in error classes and causes", async () => {
    const err = await rejection(actor.call("failWithCause", []));
    expect(err).toBeInstanceOf(RangeError);
    expect(err.message).toBe("outer");
    expect(err.cause).toBeInstanceOf(TypeError);
    expect((err.cause as Error).message).toBe("inner");
  });

  it("turns a thrown non-error into an Error", async () => {
    const err = await rejection(actor.call("throwString", []));
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toBe("just a string");
  });

  it("explains a result that cannot cross threads", async () => {
    const err = await rejection(actor.call("unclonable", []));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toContain("the result of unclonable() cannot be sent to the caller");
    expect(await actor.call("get", [])).toEqual(expect.any(Number)); // the replica is fine
  });

  it("explains arguments that cannot cross threads", async () => {
    const err = await rejection(actor.call("echo", [{ fn: () => 1 }]));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toContain("the arguments of echo() must be structured-clone safe");
    expect(actor.ongoing).toBe(0);
  });

  it("rejects unknown methods with MethodNotFoundError", async () => {
    for (const method of ["nope", "constructor", "init", "computed", "__proto__"]) {
      const err = await rejection(actor.call(method, []));
      expect(err).toBeInstanceOf(MethodNotFoundError);
      expect(err.code).toBe(ErrorCode.METHOD_NOT_FOUND);
      expect(err.message).toContain(`no method "${method}"`);
    }
  });

  it("says to stream an async generator method", async () => {
    const err = await rejection(actor.call("count", [3]));
    expect(err.message).toContain("count() returns an async iterator: call it as a stream");
  });

  it("exposes the call's AbortSignal to the method", async () => {
    expect(await actor.call("hasSignal", [])).toBe(true);
  });

  it("rejects calls past maxOngoingRequests with ReplicaBusyError at once", async () => {
    const running = [0, 1, 2].map((i) => actor.call("wait", [200, `busy${i}`]));
    expect(actor.ongoing).toBe(3);
    const t0 = Date.now();
    const err = await rejection(actor.call("get", []));
    expect(err).toBeInstanceOf(ReplicaBusyError);
    expect(err.code).toBe(ErrorCode.REPLICA_BUSY);
    expect(Date.now() - t0).toBeLessThan(100);
    expect(await Promise.all(running)).toEqual(["done", "done", "done"]);
    expect(actor.ongoing).toBe(0);
    expect(typeof (await actor.call("get", []))).toBe("number");
  });

  it("runs calls concurrently on the replica (async methods interleave)", async () => {
    const t0 = Date.now();
    await Promise.all([0, 1, 2].map((i) => actor.call("wait", [400, `par${i}`])));
    // Sequential would take >= 1200 ms; allow a slow shared machine plenty of room below that.
    expect(Date.now() - t0).toBeLessThan(1100);
  });
});

describe("stopping a replica", () => {
  it("rejects new calls, lets in-flight calls finish, then ends the thread without a death event", async () => {
    const s = newActor(spec({ modulePath: fixture("counter.ts"), exportName: "Counter", initArgs: [{ start: 0, label: "stop" }] }));
    await s.start();
    const deaths: unknown[] = [];
    s.onDeath((d) => deaths.push(d));
    const inFlight = s.call("wait", [150]);
    const stopped = s.stop({ gracefulTimeoutMs: 10_000 });
    expect(s.state).toBe("STOPPING");
    const refused = await rejection(s.call("get", []));
    expect(refused).toBeInstanceOf(ReplicaStoppedError);
    expect(refused.code).toBe(ErrorCode.REPLICA_STOPPED);
    expect(await inFlight).toBe("done");
    await stopped;
    expect(s.state).toBe("STOPPED");
    expect(s.ongoing).toBe(0);
    expect(deaths).toEqual([]);
    await s.stop(); // idempotent
  });

  it("fails calls still running after the graceful timeout with ReplicaStoppedError", async () => {
    const s = newActor(spec({ modulePath: fixture("counter.ts"), exportName: "Counter", initArgs: [{ start: 0, label: "stop2" }] }));
    await s.start();
    const inFlight = rejection(s.call("wait", [60_000]));
    await waitFor(() => s.ongoing === 1);
    const t0 = Date.now();
    await s.stop({ gracefulTimeoutMs: 50 });
    expect(Date.now() - t0).toBeLessThan(5_000);
    const err = await inFlight;
    expect(err.code).toBe(ErrorCode.REPLICA_STOPPED);
    expect(err.message).toContain("was stopped before the call finished");
  });
});
