import { describe, expect, it } from "vitest";
import { CancelledError, DeploymentNotFoundError, deserializeError } from "../../../src/errors.ts";
import type { CallOptions, CallTransport } from "../../../src/runtime/call.ts";
import type { DeploymentId } from "../../../src/runtime/ids.ts";
import { PortWriter, STREAM_WINDOW, type ToReplica } from "../../../src/runtime/protocol.ts";
import { UpcallServer } from "../../../src/runtime/upcall-server.ts";

const target = { app: "shop", deployment: "Cart" };
const settle = () => new Promise<void>((r) => setTimeout(r, 5));

class Sink {
  readonly posted: ToReplica[] = [];
  postMessage(m: unknown): void {
    structuredClone(m);
    const msg = m as ToReplica;
    if (msg.type === "batch") this.posted.push(...msg.messages);
    else this.posted.push(msg);
  }
}

class FakeRouter implements CallTransport {
  readonly seen: Array<{ target: DeploymentId; method: string; options?: CallOptions }> = [];
  readonly log: string[] = [];
  async call(t: DeploymentId, method: string, args: unknown[], options?: CallOptions): Promise<unknown> {
    this.seen.push({ target: t, method, options });
    if (method === "fail") throw new RangeError("nope");
    if (method === "fn") return () => 1;
    if (method === "hang") {
      return new Promise((_, reject) =>
        options?.signal?.addEventListener("abort", () => {
          this.log.push("hang:aborted");
          reject(new CancelledError());
        }),
      );
    }
    return args;
  }
  stream(_t: DeploymentId, method: string, args: unknown[]): AsyncIterable<unknown> {
    const log = this.log;
    return (async function* () {
      try {
        for (let i = 0; i < (args[0] as number); i++) yield method === "fnItems" && i === 1 ? () => i : i;
      } finally {
        log.push(`${method}:finally`);
      }
    })();
  }
}

function server(router?: CallTransport) {
  const sink = new Sink();
  const writer = new PortWriter<ToReplica>(sink, (m, err) => s.unclonable(m, err));
  const s = new UpcallServer(router, writer);
  return { s, sink };
}

describe("UpcallServer (main thread)", () => {
  it("runs an upcall through the router and replies with the result", async () => {
    const router = new FakeRouter();
    const { s, sink } = server(router);
    s.handle({ type: "upcall", id: 7, target, method: "echo", args: [1, 2], stream: false, timeoutMs: 300 });
    await settle();
    expect(sink.posted).toEqual([{ type: "upcall-result", id: 7, value: [1, 2] }]);
    expect(router.seen[0]!.options?.timeoutMs).toBe(300);
    expect(router.seen[0]!.options?.signal).toBeInstanceOf(AbortSignal);
  });

  it("replies with the router's error", async () => {
    const { s, sink } = server(new FakeRouter());
    s.handle({ type: "upcall", id: 1, target, method: "fail", args: [], stream: false });
    await settle();
    const reply = sink.posted[0] as Extract<ToReplica, { type: "upcall-error" }>;
    expect(reply.type).toBe("upcall-error");
    expect(deserializeError(reply.error)).toBeInstanceOf(RangeError);
  });

  it("turns an unclonable result into an error", async () => {
    const { s, sink } = server(new FakeRouter());
    s.handle({ type: "upcall", id: 1, target, method: "fn", args: [], stream: false });
    await settle();
    const reply = sink.posted[0] as Extract<ToReplica, { type: "upcall-error" }>;
    expect(reply.type).toBe("upcall-error");
    expect(reply.error.message).toContain("the result of a handle call cannot be sent to the replica");
  });

  it("upcall-cancel aborts the router call's signal and sends nothing back", async () => {
    const router = new FakeRouter();
    const { s, sink } = server(router);
    s.handle({ type: "upcall", id: 1, target, method: "hang", args: [], stream: false });
    await settle();
    s.handle({ type: "upcall-cancel", id: 1 });
    await settle();
    expect(router.log).toEqual(["hang:aborted"]);
    expect(sink.posted).toEqual([]);
  });

  it("streams items up to the credit window, more after credit, then the end", async () => {
    const router = new FakeRouter();
    const { s, sink } = server(router);
    const total = STREAM_WINDOW + 10;
    s.handle({ type: "upcall", id: 3, target, method: "items", args: [total], stream: true });
    await settle();
    expect(sink.posted).toHaveLength(STREAM_WINDOW);
    s.handle({ type: "upcall-credit", id: 3, n: STREAM_WINDOW });
    await settle();
    expect(sink.posted.map((m) => (m.type === "upcall-item" ? m.value : m.type))).toEqual([
      ...Array.from({ length: total }, (_, i) => i),
      "upcall-end",
    ]);
    expect(router.log).toEqual(["items:finally"]);
  });

  it("an unclonable item fails the stream in order and returns the router's iterator", async () => {
    const router = new FakeRouter();
    const { s, sink } = server(router);
    s.handle({ type: "upcall", id: 4, target, method: "fnItems", args: [5], stream: true });
    await settle();
    expect(sink.posted[0]).toEqual({ type: "upcall-item", id: 4, value: 0 });
    expect(sink.posted[1]!.type).toBe("upcall-error");
    // What the generator produced in the same turn was already in the batch (more items, maybe
    // its end): stream 4's leftovers, which the replica ignores once the stream has failed.
    expect(sink.posted.slice(2).every((m) => (m.type === "upcall-item" || m.type === "upcall-end") && m.id === 4)).toBe(true);
    expect(router.log).toEqual(["fnItems:finally"]);
  });

  it("closeAll aborts every upcall (the replica is gone)", async () => {
    const router = new FakeRouter();
    const { s } = server(router);
    s.handle({ type: "upcall", id: 1, target, method: "hang", args: [], stream: false });
    s.handle({ type: "upcall", id: 2, target, method: "hang", args: [], stream: false });
    await settle();
    s.closeAll();
    await settle();
    expect(router.log).toEqual(["hang:aborted", "hang:aborted"]);
  });

  it("without a router, answers DeploymentNotFoundError naming the target", async () => {
    const { s, sink } = server(undefined);
    s.handle({ type: "upcall", id: 1, target, method: "add", args: [], stream: false });
    await settle();
    const reply = sink.posted[0] as Extract<ToReplica, { type: "upcall-error" }>;
    const err = deserializeError(reply.error);
    expect(err).toBeInstanceOf(DeploymentNotFoundError);
    expect(err.message).toContain("shop#Cart.add()");
  });
});
