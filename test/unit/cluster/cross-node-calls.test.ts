// The cross-node call protocol (call-client ↔ call-server) over an in-memory bus that behaves
// like core NATS where it matters (asynchronous delivery, in order; "no responders" for a request
// nobody subscribes to; a payload limit), with fake replica actors. The real-NATS, real-process
// path is covered by test/integration/cluster/cross-node.test.ts.

import pino from "pino";
import { describe, expect, it } from "vitest";
import { CallClient } from "../../../src/cluster/call-client.ts";
import type { BusMessage, CallBus } from "../../../src/cluster/call-bus.ts";
import { CallServer } from "../../../src/cluster/call-server.ts";
import { STREAM_WINDOW } from "../../../src/cluster/call-wire.ts";
import { RemoteReplicaActor } from "../../../src/cluster/remote-replicas.ts";
import {
  CancelledError,
  MethodNotFoundError,
  PayloadTooLargeError,
  ReplicaBusyError,
  ReplicaDiedError,
  ReplicaUnreachableError,
} from "../../../src/errors.ts";
import type { CallOptions } from "../../../src/runtime/call.ts";
import { replicaId } from "../../../src/runtime/ids.ts";
import { StreamReceiver } from "../../../src/runtime/protocol.ts";
import type { ReplicaActor } from "../../../src/runtime/replica.ts";
import { DeploymentRouter } from "../../../src/runtime/router.ts";

const log = pino({ level: "silent" });

class MemoryBus implements CallBus {
  maxPayload = 64 * 1024;
  /** Loses a message in transit when it returns true (a NATS server dying under it). */
  drop: (subject: string) => boolean = () => false;
  readonly #subs: Array<{ subject: string; handler: (m: BusMessage) => void }> = [];
  #inboxes = 0;
  publish(subject: string, data: Uint8Array, reply?: string): void {
    if (data.length > this.maxPayload) throw new Error("MAX_PAYLOAD_EXCEEDED");
    if (this.drop(subject)) return;
    const targets = this.#subs.filter((s) => matches(s.subject, subject));
    setImmediate(() => {
      if (targets.length === 0 && reply) {
        for (const s of this.#subs) if (matches(s.subject, reply)) s.handler({ subject: reply, data: new Uint8Array(0), noResponders: true });
        return;
      }
      for (const s of targets) s.handler({ subject, data, ...(reply ? { reply } : {}), noResponders: false });
    });
  }
  async subscribe(subject: string, handler: (m: BusMessage) => void) {
    const sub = { subject, handler };
    this.#subs.push(sub);
    return {
      drain: async () => {
        const i = this.#subs.indexOf(sub);
        if (i !== -1) this.#subs.splice(i, 1);
      },
    };
  }
  inbox(): string {
    return `_INBOX.${++this.#inboxes}`;
  }
}

function matches(pattern: string, subject: string): boolean {
  return pattern.endsWith(".>") ? subject.startsWith(pattern.slice(0, -1)) : pattern === subject;
}

/** A replica in memory: `add` sums, `count` streams 0..n-1, `hold` waits for its signal. */
class FakeReplica implements ReplicaActor {
  readonly methods = new Set<string>();
  readonly overdueCalls = new Map<number, string>();
  ongoing = 0;
  ongoingStreams = 0;
  busy = false;
  aborted = 0;
  produced = 0;
  returned = false;
  lastOptions: CallOptions | undefined;
  constructor(readonly id = replicaId("app#D#1")) {}
  async call(method: string, args: unknown[], options?: CallOptions): Promise<unknown> {
    if (this.busy) throw new ReplicaBusyError("at maxOngoingRequests");
    this.lastOptions = options;
    this.ongoing++;
    try {
      if (method === "add") return (args as number[]).reduce((a, b) => a + b, 0);
      if (method === "bytes") return new Uint8Array((args[0] as Uint8Array).map((b) => b + 1));
      if (method === "big") return "x".repeat(100 * 1024);
      if (method === "die") throw new ReplicaDiedError("the replica's thread died");
      if (method === "hold") {
        await new Promise<void>((resolve) => {
          options?.signal?.addEventListener("abort", () => {
            this.aborted++;
            resolve();
          });
        });
        throw new CancelledError();
      }
      throw new MethodNotFoundError(`no method ${method}`);
    } finally {
      this.ongoing--;
    }
  }
  stream(_method: string, args: unknown[], options?: CallOptions): AsyncIterable<unknown> {
    const self = this;
    return (async function* () {
      try {
        for (let i = 0; i < (args[0] as number); i++) {
          if (options?.signal?.aborted) return;
          self.produced++;
          yield i;
        }
      } finally {
        self.returned = true;
      }
    })();
  }
  async start() {}
  async probe() {}
  async terminate() {}
  onDeath() {}
  async stop() {}
}

function pair(replica: ReplicaActor | undefined, bus = new MemoryBus()) {
  const suspects: string[] = [];
  const server = new CallServer({ bus, cluster: "t", nodeId: "b", lookup: (_a, _d, id) => (replica && id === replica.id ? replica : undefined), log });
  const client = new CallClient({ bus, cluster: "t", nodeId: "a", onSuspect: (n) => suspects.push(n) });
  const target = { node: "b", app: "app", deployment: "D", replicaId: "app#D#1" };
  return { bus, server, client, target, suspects, remote: new RemoteReplicaActor(client, target) };
}

describe("cross-node calls", () => {
  it("carry arguments and results as structured clones, and errors with their class", async () => {
    const replica = new FakeReplica();
    const p = pair(replica);
    await p.server.start();
    await p.client.start();
    expect(await p.remote.call("add", [1, 2, 39])).toBe(42);
    expect(await p.remote.call("bytes", [new Uint8Array([1, 2])])).toEqual(new Uint8Array([2, 3]));
    // The caller's trace context and deadline reach the replica on the other node.
    const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const tracestate = "vendor=opaque";
    expect(await p.remote.call("add", [1], { traceparent, tracestate, timeoutMs: 5_000 })).toBe(1);
    expect(replica.lastOptions).toMatchObject({ traceparent, tracestate, timeoutMs: 5_000 });
    await expect(p.remote.call("nope", [])).rejects.toBeInstanceOf(MethodNotFoundError);
    await expect(p.remote.call("die", [])).rejects.toBeInstanceOf(ReplicaDiedError);
    expect(p.client.inFlight).toBe(0);
    expect(p.server.inFlight).toBe(0);
  });

  it("a replica the node does not run, or a node nobody listens for, is unreachable (re-routable) at once", async () => {
    const p = pair(undefined);
    await p.server.start();
    await p.client.start();
    const err = await p.remote.call("add", [1]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReplicaUnreachableError);
    expect(err).toBeInstanceOf(ReplicaBusyError);
    expect(p.suspects).toEqual([]);
    const nobody = pair(new FakeReplica());
    await nobody.client.start(); // no server: no responders
    const err2 = await nobody.remote.call("add", [1]).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(ReplicaUnreachableError);
    expect((err2 as Error).message).toMatch(/no responders/);
    expect(nobody.suspects).toEqual(["b"]);
  });

  it("streams keep order and never run more than the credit window ahead of the consumer", async () => {
    const replica = new FakeReplica();
    const p = pair(replica);
    await p.server.start();
    await p.client.start();
    const items: unknown[] = [];
    let maxAhead = 0;
    for await (const item of p.remote.stream("count", [200])) {
      items.push(item);
      maxAhead = Math.max(maxAhead, replica.produced - items.length);
      // A slow consumer: the producer must wait for credit meanwhile.
      if (items.length % 50 === 0) await new Promise((r) => setTimeout(r, 20));
    }
    expect(items).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(maxAhead).toBeLessThanOrEqual(STREAM_WINDOW + 1);
    expect(maxAhead).toBeGreaterThan(0);
    expect(p.server.inFlight).toBe(0);
  });

  it("breaking out of a stream stops the generator on the owning node", async () => {
    const replica = new FakeReplica();
    const p = pair(replica);
    await p.server.start();
    await p.client.start();
    for await (const item of p.remote.stream("count", [1_000_000])) if (item === 5) break;
    await expect.poll(() => replica.returned, { timeout: 2_000 }).toBe(true);
    expect(replica.produced).toBeLessThan(5 + STREAM_WINDOW + 2);
    await expect.poll(() => p.server.inFlight).toBe(0);
  });

  it("cancelling a call aborts its signal in the replica on the other node", async () => {
    const replica = new FakeReplica();
    const p = pair(replica);
    await p.server.start();
    await p.client.start();
    const ac = new AbortController();
    const call = p.remote.call("hold", [], { signal: ac.signal });
    await expect.poll(() => replica.ongoing).toBe(1);
    ac.abort();
    await expect(call).rejects.toBeInstanceOf(CancelledError);
    await expect.poll(() => replica.aborted).toBe(1);
    await expect.poll(() => p.server.inFlight).toBe(0);
  });

  it("a node that dies fails its calls in flight; the owner cancels the calls of a dead caller", async () => {
    const replica = new FakeReplica();
    const p = pair(replica);
    await p.server.start();
    await p.client.start();
    const call = p.remote.call("hold", []);
    await expect.poll(() => replica.ongoing).toBe(1);
    expect(p.client.failNode("b", new ReplicaDiedError("node b died"))).toBe(1);
    await expect(call).rejects.toThrow(/node b died/);
    expect(p.server.cancelFrom("a")).toBe(1);
    await expect.poll(() => replica.aborted).toBe(1);
  });

  it("a message over the payload limit fails with an error naming the limit, and nothing is lost", async () => {
    const p = pair(new FakeReplica());
    await p.server.start();
    await p.client.start();
    const err = await p.remote.call("add", ["y".repeat(80 * 1024)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PayloadTooLargeError);
    expect((err as Error).message).toMatch(/max_payload of 64\.0 KiB/);
    await expect(p.remote.call("big", [])).rejects.toThrow(/the call's result is .* over the NATS server's max_payload/);
    expect(await p.remote.call("add", [2, 2])).toBe(4);
  });

  it("a deadline reaches the owner; a silent node times out after a grace and is suspected", async () => {
    const bus = new MemoryBus();
    const p = pair(new FakeReplica(), bus);
    await p.client.start();
    // A "node" that swallows calls (a hung process): subscribed, never answers.
    await bus.subscribe("stingray.t.call.b", () => {});
    const started = Date.now();
    await expect(p.remote.call("add", [1], { timeoutMs: 100 })).rejects.toThrow(/did not answer add\(\) within 100 ms/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(p.suspects).toEqual(["b"]);
  });
});

describe("calls whose messages were lost in transit (a NATS server died)", () => {
  it("a lost call is reported never delivered, so the router may send it elsewhere", async () => {
    const p = pair(new FakeReplica());
    await p.server.start();
    await p.client.start();
    p.bus.drop = (subject) => subject === "stingray.t.call.b";
    const call = p.remote.call("add", [1, 2]);
    await new Promise((r) => setTimeout(r, 20));
    p.bus.drop = () => false;
    expect(p.client.probe()).toBe(1);
    const err = await call.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReplicaUnreachableError);
    expect((err as Error).message).toMatch(/never reached node b/);
  });

  it("a lost answer is sent again from the owner's memory; a running call just keeps running", async () => {
    const replica = new FakeReplica();
    const p = pair(replica);
    await p.server.start();
    await p.client.start();
    p.bus.drop = (subject) => subject.startsWith("_INBOX.");
    const call = p.remote.call("add", [20, 22]);
    await expect.poll(() => p.server.remembered).toBe(1);
    p.bus.drop = () => false;
    p.client.probe("b");
    expect(await call).toBe(42);
    // Still running when asked: the answer comes when it is ready.
    const ac = new AbortController();
    const held = p.remote.call("hold", [], { signal: ac.signal });
    await expect.poll(() => replica.ongoing).toBe(1);
    p.client.probe();
    await new Promise((r) => setTimeout(r, 30));
    expect(p.client.inFlight).toBe(1);
    ac.abort();
    await expect(held).rejects.toBeInstanceOf(CancelledError);
  });

  it("a stream cut in transit is replayed from the owner's memory, in order", async () => {
    const replica = new FakeReplica();
    const p = pair(replica);
    await p.server.start();
    await p.client.start();
    const seen: unknown[] = [];
    // Everything after the first item is lost (the end too).
    let answers = 0;
    p.bus.drop = (subject) => subject.startsWith("_INBOX.") && ++answers > 1;
    const reading = (async () => {
      for await (const item of p.remote.stream("count", [3])) seen.push(item);
    })();
    // The owner finished it; the caller got one item and waits for the rest.
    await expect.poll(() => p.server.remembered).toBe(1);
    p.bus.drop = () => false;
    p.client.probe();
    await reading;
    expect(seen).toEqual([0, 1, 2]);
  });

  it("a gap in a running stream is filled by asking the owner; one too large to keep fails", async () => {
    const replica = new FakeReplica();
    const p = pair(replica);
    await p.server.start();
    await p.client.start();
    // Item #3 is lost; #4 on arrive: the caller asks for #3 onwards and gets everything in order.
    let answers = 0;
    p.bus.drop = (subject) => subject.startsWith("_INBOX.") && ++answers === 3;
    const items: unknown[] = [];
    for await (const item of p.remote.stream("count", [6])) items.push(item);
    expect(items).toEqual([0, 1, 2, 3, 4, 5]);
    // A stream past the owner's replay memory (64 KiB) cannot be mended: it fails, never skips.
    const big = new FakeReplica();
    big.stream = () =>
      (async function* () {
        for (let i = 0; i < 8; i++) yield "z".repeat(20 * 1024);
      })();
    const q = pair(big);
    await q.server.start();
    await q.client.start();
    let n = 0;
    q.bus.drop = (subject) => subject.startsWith("_INBOX.") && ++n === 6;
    const got: unknown[] = [];
    await expect(
      (async () => {
        for await (const item of q.remote.stream("big", [])) got.push(item);
      })(),
    ).rejects.toThrow(/lost messages in transit/);
    expect(got).toHaveLength(5);
  });
});

describe("answers sent together", () => {
  it("a replica stream's head and end that arrived together are published with nothing awaited between (one NATS write)", async () => {
    // What a local replica actor returns: its worker's item and end came in one port batch.
    const replica = new FakeReplica();
    replica.stream = () => {
      const receiver = new StreamReceiver<unknown>(() => {}, () => {});
      setImmediate(() => {
        receiver.push({ status: 200, complete: true });
        receiver.end();
      });
      return { [Symbol.asyncIterator]: () => receiver };
    };
    const bus = new MemoryBus();
    // nats.js writes what was published since the first publish of a burst from a microtask.
    let burst = 0;
    let open = false;
    const bursts: number[] = [];
    const publish = bus.publish.bind(bus);
    bus.publish = (subject, data, reply) => {
      if (!open) {
        open = true;
        burst++;
        queueMicrotask(() => (open = false));
      }
      if (subject.startsWith("_INBOX.")) bursts.push(burst);
      publish(subject, data, reply);
    };
    const p = pair(replica, bus);
    await p.server.start();
    await p.client.start();
    const items: unknown[] = [];
    for await (const item of p.remote.stream("http", [])) items.push(item);
    expect(items).toEqual([{ status: 200, complete: true }]);
    expect(bursts).toHaveLength(2);
    expect(bursts[0]).toBe(bursts[1]);
  });
});

describe("the router with local and remote replicas", () => {
  function router(idempotent = false) {
    return new DeploymentRouter({ name: "app#D", maxOngoingRequests: 4, maxQueuedRequests: -1, maxOngoingStreams: 10, idempotent });
  }

  it("prefers the local replica while it is not busier, and re-routes an unreachable remote one at once", async () => {
    const local = new FakeReplica(replicaId("app#D#local"));
    const p = pair(undefined); // the remote node no longer runs the replica
    await p.server.start();
    await p.client.start();
    const r = router();
    r.setReplicas([local]);
    r.setRemoteReplicas([p.remote]);
    expect(r.localReplica(local.id)).toBe(local);
    expect(r.localReplica(p.remote.id)).toBeUndefined();
    expect(await r.call("add", [1, 1])).toBe(2);
    // The local one is busier than the remote one: the remote gets the call, refuses (undelivered),
    // and the router sends it back to the local replica.
    p.remote.reportedOngoing = 0;
    local.ongoing = 3;
    expect(await r.call("add", [2, 3])).toBe(5);
    // setReplicas (local) leaves the remote slots alone, and the other way round.
    r.setReplicas([]);
    expect(r.replicaIds).toEqual([p.remote.id]);
  });

  it("an idempotent deployment's call whose replica died runs again on another replica; others fail", async () => {
    const healthy = new FakeReplica(replicaId("app#D#ok"));
    for (const [idempotent, expected] of [
      [true, 7],
      [false, "died"],
    ] as const) {
      const r = router(idempotent);
      const dying = new FakeReplica(replicaId("app#D#dying"));
      dying.call = async () => {
        r.removeReplica(dying.id); // as the controller does when a replica (or its node) dies
        throw new ReplicaDiedError("its node died");
      };
      r.setReplicas([dying]);
      // Only the dying one is routable when the call starts; the other appears meanwhile.
      const outcome = r.call("add", [3, 4]).then(
        (v) => v,
        (e: Error) => (e instanceof ReplicaDiedError ? "died" : e.message),
      );
      r.setRemoteReplicas([Object.assign(healthy, { remote: true })]);
      healthy.ongoing = 0;
      expect(await outcome).toBe(expected);
    }
  });
});

describe("pickLocalFirst", () => {
  it("takes the picker's local choice unless its remote choice is less loaded, whatever the randomness", async () => {
    const { pickLocalFirst, PowerOfTwoChoicesPicker } = await import("../../../src/runtime/replica-picker.ts");
    const id = (s: string) => replicaId(s);
    const candidates = [
      { id: id("l1"), ongoing: 2 },
      { id: id("l2"), ongoing: 2 },
      { id: id("r1"), ongoing: 0, remote: true },
      { id: id("r2"), ongoing: 5, remote: true },
      { id: id("r3"), ongoing: 1, remote: true },
    ];
    let seed = 1;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const picker = new PowerOfTwoChoicesPicker(random);
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) seen.add(String(pickLocalFirst(candidates, picker)));
    // Never undefined; the remote choice (never r2: two samples always avoid the most loaded) beats locals at 2.
    expect(seen.has("undefined")).toBe(false);
    expect(seen.has("r2")).toBe(false);
    expect([...seen].every((s) => ["l1", "l2", "r1", "r3"].includes(s))).toBe(true);
    const idle = candidates.map((c) => (c.remote ? c : { ...c, ongoing: 0 }));
    for (let i = 0; i < 200; i++) expect(String(pickLocalFirst(idle, picker))).toMatch(/^l/);
  });
});
