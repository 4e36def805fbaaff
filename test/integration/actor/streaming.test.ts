import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CancelledError, ErrorCode, TimeoutError } from "../../../src/errors.ts";
import { STREAM_WINDOW } from "../../../src/runtime/protocol.ts";
import type { PiscinaReplicaActor } from "../../../src/runtime/replica-actor.ts";
import { fixture, newActor, rejection, spec, stopAll, waitFor } from "./helpers.ts";

let actor: PiscinaReplicaActor;

beforeAll(async () => {
  actor = newActor(
    spec({ modulePath: fixture("counter.ts"), exportName: "Counter", initArgs: [{ start: 0, label: "s" }], maxOngoingRequests: 4 }),
  );
  await actor.start();
});
afterAll(stopAll);

async function collect(iterable: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

async function cleanups(): Promise<string[]> {
  return (await actor.call("getCleanups", [])) as string[];
}

describe("streaming", () => {
  it("delivers an async generator's items in order, then ends", async () => {
    expect(await collect(actor.stream("count", [5]))).toEqual([0, 1, 2, 3, 4]);
    expect(await collect(actor.stream("count", [3, 5]))).toEqual([0, 1, 2]);
    expect(await collect(actor.stream("count", [0]))).toEqual([]);
    expect(actor.ongoing).toBe(0);
  });

  it("keeps order across many items and concurrent streams (flow control past the window)", async () => {
    const n = STREAM_WINDOW * 20;
    const expected = Array.from({ length: n }, (_, i) => i);
    const results = await Promise.all([0, 1, 2].map(() => collect(actor.stream("count", [n]))));
    for (const r of results) expect(r).toEqual(expected);
  });

  it("does not let the producer run ahead of a slow consumer by more than the window", async () => {
    const it = actor.stream("tracked", [STREAM_WINDOW * 10])[Symbol.asyncIterator]();
    expect(await it.next()).toEqual({ value: 0, done: false });
    // Let the worker produce everything it is allowed to, then check it stopped at the window.
    await waitFor(async () => ((await actor.call("getProduced", [])) as number) >= STREAM_WINDOW);
    await new Promise((r) => setTimeout(r, 100));
    const produced = (await actor.call("getProduced", [])) as number;
    expect(produced).toBeGreaterThanOrEqual(STREAM_WINDOW);
    expect(produced).toBeLessThanOrEqual(STREAM_WINDOW + 1);
    const rest: unknown[] = [];
    for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value);
    expect(rest).toHaveLength(STREAM_WINDOW * 10 - 1);
    expect(rest[rest.length - 1]).toBe(STREAM_WINDOW * 10 - 1);
  });

  it("streams a method that returns a plain iterable", async () => {
    expect(await collect(actor.stream("syncIterable", []))).toEqual([1, 2, 3]);
  });

  it("says when a method cannot be streamed", async () => {
    const err = await rejection(collect(actor.stream("get", [])));
    expect(err.message).toContain("get() did not return an (async) iterable");
  });

  it("delivers the items before an error thrown mid-stream", async () => {
    const items: unknown[] = [];
    const err = await rejection(
      (async () => {
        for await (const item of actor.stream("failAfter", [3])) items.push(item);
      })(),
    );
    expect(items).toEqual([0, 1, 2]);
    expect(err.name).toBe("TeapotError");
    expect(err.message).toBe("failed after 3");
  });

  it("fails the stream, in order, when an item cannot cross threads, and returns the generator", async () => {
    const items: unknown[] = [];
    const err = await rejection(
      (async () => {
        for await (const item of actor.stream("unclonableItem", [])) items.push(item);
      })(),
    );
    expect(items).toEqual([1]);
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toContain("an item of unclonableItem() cannot be sent to the caller");
    await waitFor(async () => (await cleanups()).includes("unclonableItem:finally"), 10_000, "the generator's finally");
  });

  it("starts the call lazily, on the first next()", async () => {
    const iterable = actor.stream("count", [2]);
    expect(actor.ongoing).toBe(0);
    const it = iterable[Symbol.asyncIterator]();
    expect(actor.ongoing).toBe(1);
    expect(() => iterable[Symbol.asyncIterator]()).toThrow(/only once/);
    expect(await it.next()).toEqual({ value: 0, done: false });
    await it.return!();
  });

  it("breaking out of the loop returns the generator in the replica (its finally runs)", async () => {
    const items: unknown[] = [];
    for await (const item of actor.stream("forever", ["break"])) {
      items.push(item);
      if (items.length === 3) break;
    }
    expect(items).toEqual([0, 1, 2]);
    await waitFor(async () => (await cleanups()).includes("break:finally:true"), 10_000, "the generator's finally");
    await waitFor(() => actor.ongoing === 0);
  });
});

describe("cancellation", () => {
  it("aborting the signal rejects the call at once with CancelledError and aborts the method's signal", async () => {
    const controller = new AbortController();
    const call = rejection(actor.call("wait", [60_000, "cancel1"], { signal: controller.signal }));
    await waitFor(() => actor.ongoing === 1);
    const t0 = Date.now();
    controller.abort();
    const err = await call;
    expect(Date.now() - t0).toBeLessThan(500); // at once, not when the 60 s wait ends
    expect(err).toBeInstanceOf(CancelledError);
    expect(err.code).toBe(ErrorCode.CANCELLED);
    await waitFor(async () => (await cleanups()).includes("cancel1:aborted:CancelledError"), 10_000, "the method to see the abort");
    await waitFor(() => actor.ongoing === 0, 10_000, "the slot to free");
  });

  it("an already aborted signal never starts the call", async () => {
    const err = await rejection(actor.call("wait", [10, "pre"], { signal: AbortSignal.abort() }));
    expect(err.code).toBe(ErrorCode.CANCELLED);
    expect(actor.ongoing).toBe(0);
    expect(await cleanups()).not.toContain("pre:done");
  });

  it("timeoutMs rejects with TimeoutError and cancels in the replica", async () => {
    const err = await rejection(actor.call("wait", [60_000, "timeout1"], { timeoutMs: 50 }));
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err.code).toBe(ErrorCode.TIMEOUT);
    await waitFor(async () => (await cleanups()).includes("timeout1:aborted:TimeoutError"), 10_000, "the method to see the timeout");
  });

  it("a call that finishes before its timeout is not affected", async () => {
    expect(await actor.call("wait", [5, "fast"], { timeoutMs: 10_000 })).toBe("done");
  });

  it("a cancelled call keeps its slot until the method actually finishes", async () => {
    const controller = new AbortController();
    // `count` ignores its signal, so it occupies the replica until its last item.
    const it = actor.stream("count", [5, 100], { signal: controller.signal })[Symbol.asyncIterator]();
    expect(await it.next()).toEqual({ value: 0, done: false });
    controller.abort();
    expect((await rejection(it.next())).code).toBe(ErrorCode.CANCELLED);
    expect(actor.ongoing).toBe(1);
    await waitFor(() => actor.ongoing === 0, 10_000, "the generator to finish");
  });

  it("aborting a stream rejects the pending next() and returns the generator in the replica", async () => {
    const controller = new AbortController();
    const items: unknown[] = [];
    const err = await rejection(
      (async () => {
        for await (const item of actor.stream("forever", ["abort"], { signal: controller.signal })) {
          items.push(item);
          if (items.length === 2) controller.abort();
        }
      })(),
    );
    expect(err).toBeInstanceOf(CancelledError);
    expect(items).toEqual([0, 1]);
    await waitFor(async () => (await cleanups()).includes("abort:finally:true"), 10_000, "the generator's finally");
  });

  it("a stream's timeout covers the whole stream", async () => {
    const items: unknown[] = [];
    const err = await rejection(
      (async () => {
        for await (const item of actor.stream("forever", ["stream-timeout"], { timeoutMs: 100 })) items.push(item);
      })(),
    );
    expect(err).toBeInstanceOf(TimeoutError);
    expect(items.length).toBeGreaterThan(0);
    await waitFor(async () => (await cleanups()).includes("stream-timeout:finally:true"), 10_000, "the generator's finally");
  });

  it("the replica keeps serving after cancellations", async () => {
    await waitFor(() => actor.ongoing === 0);
    expect(await collect(actor.stream("count", [3]))).toEqual([0, 1, 2]);
  });
});
