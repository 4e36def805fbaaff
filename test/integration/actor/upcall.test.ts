import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CancelledError, DeploymentNotFoundError, ErrorCode } from "../../../src/errors.ts";
import type { CallOptions, CallTransport } from "../../../src/runtime/call.ts";
import type { DeploymentId } from "../../../src/runtime/ids.ts";
import type { PiscinaReplicaActor } from "../../../src/runtime/replica-actor.ts";
import { fixture, newActor, rejection, spec, stopAll, waitFor } from "./helpers.ts";

class OutOfStockError extends Error {
  readonly code = "OUT_OF_STOCK";
  override name = "OutOfStockError";
}

/** Stands in for the main thread's router: records what reached it and how it ended. */
class FakeUpcallTransport implements CallTransport {
  readonly events: string[] = [];
  readonly targets: DeploymentId[] = [];

  async call(target: DeploymentId, method: string, args: unknown[], options?: CallOptions): Promise<unknown> {
    this.targets.push(target);
    switch (method) {
      case "double":
        return (args[0] as number) * 2;
      case "echoOptions":
        return { timeoutMs: options?.timeoutMs, hasSignal: options?.signal instanceof AbortSignal };
      case "slow":
        return new Promise((_, reject) => {
          // Like the router: a call whose signal is already aborted fails at once. (A cancel can
          // reach the main thread in the same batch as the upcall it cancels.)
          if (options?.signal?.aborted) {
            this.events.push("slow:aborted");
            reject(new CancelledError());
            return;
          }
          options?.signal?.addEventListener("abort", () => {
            this.events.push("slow:aborted");
            reject(new CancelledError());
          });
        });
      case "fail":
        throw new OutOfStockError("no more teapots");
      default:
        throw new Error(`unexpected ${method}`);
    }
  }

  stream(target: DeploymentId, method: string, args: unknown[], options?: CallOptions): AsyncIterable<unknown> {
    this.targets.push(target);
    const events = this.events;
    async function* generate(): AsyncGenerator<unknown> {
      if (method === "count") {
        for (let i = 0; i < (args[0] as number); i++) yield `item-${i}`;
        return;
      }
      if (method === "failAfter") {
        for (let i = 0; i < (args[0] as number); i++) yield i;
        throw new OutOfStockError("ran dry");
      }
      try {
        for (let i = 0; ; i++) {
          if (options?.signal?.aborted) events.push("endless:signal-aborted");
          yield i;
          await new Promise((r) => setTimeout(r, 2));
        }
      } finally {
        events.push("endless:returned");
      }
    }
    return generate();
  }
}

let actor: PiscinaReplicaActor;
const upcall = new FakeUpcallTransport();

beforeAll(async () => {
  actor = newActor(spec({ modulePath: fixture("upcaller.ts"), exportName: "Upcaller", upcall }));
  await actor.start();
});
afterAll(stopAll);

describe("upcalls (handle calls made inside a replica)", () => {
  it("reach the main thread's transport and return the result", async () => {
    expect(await actor.call("double", [21])).toBe(42);
    expect(upcall.targets.at(-1)).toEqual({ app: "shop", deployment: "Other" });
  });

  it("pass timeoutMs and a signal on to the transport", async () => {
    expect(await actor.call("withTimeout", [1234])).toEqual({ timeoutMs: 1234, hasSignal: true });
  });

  it("bring errors back with their name and code", async () => {
    const err = await rejection(actor.call("failing", []));
    expect(err.name).toBe("OutOfStockError");
    expect(err.message).toBe("no more teapots");
    expect(err.code).toBe("OUT_OF_STOCK");
  });

  it("stream items in order through a relaying generator", async () => {
    const items: unknown[] = [];
    for await (const item of actor.stream("relay", [200])) items.push(item);
    expect(items).toEqual(Array.from({ length: 200 }, (_, i) => `item-${i}`));
  });

  it("breaking out of an upcall stream returns the stream in the main thread", async () => {
    expect(await actor.call("takeTwo", [])).toEqual([0, 1]);
    await waitFor(() => upcall.events.includes("endless:returned"), 10_000, "the upstream stream to be returned");
  });

  it("deliver stream errors after the items", async () => {
    expect(await actor.call("failingStream", [])).toEqual([0, 1, "OutOfStockError: ran dry"]);
  });

  it("cancelling the outer call cancels the upcall it made", async () => {
    upcall.events.length = 0;
    const controller = new AbortController();
    const before = upcall.targets.length;
    const outer = rejection(actor.call("slow", [], { signal: controller.signal }));
    // The upcall reached the main thread (earlier tests left targets behind: count new ones).
    await waitFor(() => upcall.targets.length > before && actor.ongoing === 1);
    controller.abort();
    expect((await outer).code).toBe(ErrorCode.CANCELLED);
    await waitFor(() => upcall.events.includes("slow:aborted"), 10_000, "the upcall to be aborted");
  });

  it("an upcall's own signal cancels it", async () => {
    upcall.events.length = 0;
    expect(await actor.call("slowWithOwnSignal", [50])).toBe("CancelledError: the call was cancelled");
    await waitFor(() => upcall.events.includes("slow:aborted"), 10_000, "the upcall to be aborted");
  });

  it("without an upcall transport, handle calls fail with DeploymentNotFoundError", async () => {
    const lonely = newActor(spec({ modulePath: fixture("upcaller.ts"), exportName: "Upcaller" }));
    await lonely.start();
    const err = await rejection(lonely.call("double", [1]));
    expect(err).toBeInstanceOf(DeploymentNotFoundError);
    expect(err.message).toContain("handle calls are not available in this replica");
  });
});
