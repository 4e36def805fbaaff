// The actor counts long-lived streams (CallOptions.longLived) apart from requests, on a real
// worker thread: they take none of the maxOngoingRequests slots, at most maxOngoingStreams run at
// once (StreamLimitError past it), and a closed one keeps its slot until the worker unwound it.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode } from "../../../src/errors.ts";
import { PiscinaReplicaActor } from "../../../src/runtime/replica-actor.ts";
import { fixture, newActor, rejection, spec, stopAll, waitFor } from "./helpers.ts";

let actor: PiscinaReplicaActor;

beforeAll(async () => {
  actor = newActor(
    spec({
      modulePath: fixture("counter.ts"),
      exportName: "Counter",
      initArgs: [{ start: 0, label: "long-lived" }],
      maxOngoingRequests: 1,
      maxOngoingStreams: 2,
    }),
  );
  await actor.start();
});
afterAll(stopAll);

/** Opens a `forever` stream (an idle subscription, as far as counting goes) and reads its first item. */
async function openForever(tag: string): Promise<AsyncIterator<unknown>> {
  const it = actor.stream("forever", [tag], { longLived: true })[Symbol.asyncIterator]();
  expect(await it.next()).toEqual({ value: 0, done: false });
  return it;
}

describe("long-lived streams on a real replica (maxOngoingRequests 1, maxOngoingStreams 2)", () => {
  it("takes no request slot: calls and ordinary streams still run beside 2 open streams", async () => {
    const a = await openForever("a");
    const b = await openForever("b");
    expect(actor.ongoing).toBe(0);
    expect(actor.ongoingStreams).toBe(2);
    expect(await actor.call("add", [1])).toBe(1);
    const items: unknown[] = [];
    for await (const x of actor.stream("count", [3])) items.push(x);
    expect(items).toEqual([0, 1, 2]);

    // A third long-lived stream is past the bound.
    const third = await rejection(actor.stream("forever", ["c"], { longLived: true })[Symbol.asyncIterator]().next());
    expect(third.code).toBe(ErrorCode.STREAM_LIMIT);

    // Closing one frees its slot once the worker has finished it.
    await a.return!();
    await waitFor(() => actor.ongoingStreams === 1, 5_000, "the closed stream to unwind");
    const c = await openForever("c");
    expect(actor.ongoingStreams).toBe(2);
    await Promise.all([b.return!(), c.return!()]);
    await waitFor(() => actor.ongoingStreams === 0, 5_000, "every stream to unwind");
    expect(await actor.call("getCleanups", [])).toEqual(expect.arrayContaining(["a:finally:true", "b:finally:true", "c:finally:true"]));
  });

  it("rejects an invalid maxOngoingStreams at construction", () => {
    expect(() => new PiscinaReplicaActor(spec({ modulePath: fixture("plain.js"), exportName: "Plain", maxOngoingStreams: -1 }))).toThrow(
      /maxOngoingStreams must be a whole number >= 0/,
    );
  });
});
