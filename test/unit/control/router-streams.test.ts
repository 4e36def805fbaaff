// How the router counts long-lived streams (`longLived`: subscriptions/listen, legacy GET SSE):
// apart from requests, never as load, bounded per replica by maxOngoingStreams, never queued
// behind full replicas. Fakes only: a replica whose streams stay open after their first item.

import { describe, expect, it } from "vitest";
import { DeployFailedError, ErrorCode } from "../../../src/errors.ts";
import type { CallOptions } from "../../../src/runtime/call.ts";
import { DeploymentRouter, type OpenedStream } from "../../../src/runtime/router.ts";
import { FakeReplica, flush } from "./fakes.ts";

/**
 * A fake replica whose stream yields a head, then stays open like an idle SSE subscription: its
 * call stays pending (counted by the replica) until the test settles it, as the real actor keeps
 * counting a cancelled stream until its worker has unwound it.
 */
class LiveStreamReplica extends FakeReplica {
  override stream(method: string, args: unknown[], options?: CallOptions): AsyncIterable<unknown> {
    const self = this;
    return (async function* () {
      let refused: Error | undefined;
      const call = self.call(method, args, options);
      call.catch((err: Error) => {
        refused = err;
      });
      await flush();
      if (refused) throw refused;
      yield "head";
      await call;
    })();
  }
}

function running(id: string, max = 100): LiveStreamReplica {
  const r = new LiveStreamReplica(id, undefined, max);
  r.succeedStart();
  return r;
}

function router(o: { maxOngoingRequests?: number; maxOngoingStreams?: number; maxQueuedRequests?: number } = {}) {
  return new DeploymentRouter({
    name: "app#D",
    maxOngoingRequests: o.maxOngoingRequests ?? 2,
    maxQueuedRequests: o.maxQueuedRequests ?? -1,
    maxOngoingStreams: o.maxOngoingStreams ?? 100,
  });
}

const listen = (rt: DeploymentRouter, replicaId?: FakeReplica["id"]): Promise<OpenedStream> =>
  rt.openStream("work", [], { longLived: true, ...(replicaId ? { replicaId } : {}) });

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

const sum = (m: Map<unknown, number>) => [...m.values()].reduce((a, b) => a + b, 0);

describe("DeploymentRouter: long-lived streams", () => {
  it("takes no request slot: with 2 × maxOngoingRequests streams open, a call is sent at once", async () => {
    const r = running("r0");
    const rt = router({ maxOngoingRequests: 2 });
    rt.setReplicas([r]);
    for (let i = 0; i < 4; i++) expect((await listen(rt)).first.value).toBe("head");
    expect(rt.streamsByReplica().get(r.id)).toBe(4);
    expect(r.ongoingStreams).toBe(4);

    const call = rt.call("work", ["now"]);
    await flush();
    expect(rt.queued).toBe(0);
    const sent = r.pending.filter((c) => c.options?.longLived !== true);
    expect(sent.map((c) => c.args[0])).toEqual(["now"]);
    sent[0]!.result.resolve("done");
    expect(await call).toBe("done");
  });

  it("never counts streams as load: not running, not for autoscaling, not in per-replica ongoing", async () => {
    const r = running("r0");
    const rt = router();
    rt.setReplicas([r]);
    await listen(rt);
    await listen(rt);
    expect(rt.running).toBe(0);
    expect(rt.ongoingForAutoscaling).toBe(0);
    expect(rt.ongoingByReplica().get(r.id)).toBe(0);
    expect(r.ongoing).toBe(0);
  });

  it("leaves streams out of the least-loaded choice", async () => {
    const withStreams = running("streams");
    const busy = running("busy");
    const rt = router({ maxOngoingRequests: 5 });
    rt.setReplicas([withStreams, busy]);
    // Three streams on one replica (pinned), one request on the other.
    for (let i = 0; i < 3; i++) await listen(rt, withStreams.id);
    void rt.call("work", ["first"], { replicaId: busy.id });
    await flush();
    // Power of two choices over two replicas compares both: 0 requests beats 1.
    void rt.call("work", ["second"]);
    await flush();
    expect(withStreams.pending.filter((c) => c.options?.longLived !== true).map((c) => c.args[0])).toEqual(["second"]);
  });

  it("spreads streams by stream count and refuses one past maxOngoingStreams on every replica, without queueing", async () => {
    const a = running("a");
    const b = running("b");
    const rt = router({ maxOngoingStreams: 2 });
    rt.setReplicas([a, b]);
    for (let i = 0; i < 4; i++) await listen(rt);
    expect(Object.fromEntries(rt.streamsByReplica())).toEqual({ a: 2, b: 2 });
    const refused = await listen(rt).catch((e: unknown) => e as { code: string; message: string });
    expect((refused as { code: string }).code).toBe(ErrorCode.STREAM_LIMIT);
    expect((refused as { message: string }).message).toMatch(/every replica already holds maxOngoingStreams \(2\)/);
    expect(rt.queued).toBe(0);
    // Requests are unaffected.
    a.respond = () => "ok";
    b.respond = () => "ok";
    expect(await rt.call("work", [])).toBe("ok");
  });

  it("refuses a pinned stream (a legacy GET stream) when its replica is full, even if another has room", async () => {
    const a = running("a");
    const b = running("b");
    const rt = router({ maxOngoingStreams: 1 });
    rt.setReplicas([a, b]);
    await listen(rt, a.id);
    expect(await codeOf(listen(rt, a.id))).toBe(ErrorCode.STREAM_LIMIT);
    expect((await listen(rt, b.id)).replicaId).toBe(b.id);
  });

  it("frees a stream slot once the stream is closed and the replica has unwound it", async () => {
    const r = running("r0");
    const rt = router({ maxOngoingStreams: 1 });
    rt.setReplicas([r]);
    const opened = await listen(rt);
    expect(await codeOf(listen(rt))).toBe(ErrorCode.STREAM_LIMIT);
    // The client leaves: the router lets go at once...
    await opened.rest[Symbol.asyncIterator]().return!();
    expect(rt.streamsByReplica().get(r.id)).toBe(0);
    // ...but the replica still counts the stream until its worker finished it.
    expect(await codeOf(listen(rt))).toBe(ErrorCode.STREAM_LIMIT);
    r.pending[0]!.result.resolve(undefined);
    await flush();
    expect((await listen(rt)).first.value).toBe("head");
  });

  it("waits for a replica while there is none (scale from zero), then takes a stream slot", async () => {
    const rt = router();
    const waiting = listen(rt);
    await flush();
    expect(rt.queued).toBe(1);
    expect(rt.ongoingForAutoscaling).toBe(1);
    const r = running("r0");
    rt.setReplicas([r]);
    expect((await waiting).replicaId).toBe(r.id);
    expect(rt.queued).toBe(0);
    expect(rt.streamsByReplica().get(r.id)).toBe(1);
  });

  it("fails waiting streams when the deployment fails or the router closes", async () => {
    const failed = router();
    const w1 = listen(failed);
    await flush();
    failed.setFailure(new DeployFailedError("constructor threw"));
    expect(await codeOf(w1)).toBe(ErrorCode.DEPLOY_FAILED);

    const closed = router();
    const w2 = listen(closed);
    await flush();
    closed.close(new DeployFailedError("deleted"));
    expect(await codeOf(w2)).toBe(ErrorCode.DEPLOY_FAILED);
  });

  it("applies a new maxOngoingStreams from setLimits", async () => {
    const r = running("r0");
    const rt = router({ maxOngoingStreams: 1 });
    rt.setReplicas([r]);
    await listen(rt);
    expect(await codeOf(listen(rt))).toBe(ErrorCode.STREAM_LIMIT);
    rt.setLimits({ maxOngoingRequests: 2, maxQueuedRequests: -1, maxOngoingStreams: 3 });
    await listen(rt);
    await listen(rt);
    expect(sum(rt.streamsByReplica())).toBe(3);
  });
});
