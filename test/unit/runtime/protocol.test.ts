import { describe, expect, it } from "vitest";
import {
  PortWriter,
  STREAM_WINDOW,
  StreamCredit,
  StreamReceiver,
  unbatch,
  type MessageSink,
} from "../../../src/runtime/protocol.ts";

/** Records what would have been posted; throws for messages carrying a function, as cloning does. */
class FakeSink implements MessageSink {
  readonly posted: unknown[] = [];
  postMessage(message: unknown): void {
    structuredClone(message);
    this.posted.push(message);
  }
}

const tick = () => new Promise<void>((r) => setTimeout(r, 0));
const nextTurn = () => new Promise<void>((r) => setImmediate(r));

function receiver() {
  const grants: number[] = [];
  let cancels = 0;
  const r = new StreamReceiver<number>(
    (n) => grants.push(n),
    () => cancels++,
  );
  return { r, grants, cancels: () => cancels };
}

describe("StreamReceiver", () => {
  it("hands out queued items in order, then waits for the next one", async () => {
    const { r } = receiver();
    r.push(1);
    r.push(2);
    expect(await r.next()).toEqual({ value: 1, done: false });
    expect(await r.next()).toEqual({ value: 2, done: false });
    const pending = r.next();
    r.push(3);
    expect(await pending).toEqual({ value: 3, done: false });
  });

  it("delivers queued items before the end", async () => {
    const { r } = receiver();
    r.push(1);
    r.end();
    r.push(99); // after the end: ignored
    expect(await r.next()).toEqual({ value: 1, done: false });
    expect(await r.next()).toEqual({ value: undefined, done: true });
    expect(await r.next()).toEqual({ value: undefined, done: true });
  });

  it("an end resolves a waiting next()", async () => {
    const { r } = receiver();
    const pending = r.next();
    r.end();
    expect(await pending).toEqual({ value: undefined, done: true });
  });

  it("fail drops queued items and rejects once; later next() calls are done", async () => {
    const { r } = receiver();
    r.push(1);
    r.fail(new Error("boom"));
    await expect(r.next()).rejects.toThrow("boom");
    expect(await r.next()).toEqual({ value: undefined, done: true });
  });

  it("failAfterQueued delivers the queued items first, then rejects once", async () => {
    const { r } = receiver();
    r.push(1);
    r.push(2);
    r.failAfterQueued(new Error("producer threw"));
    r.push(3); // nothing is taken after the failure
    expect(await r.next()).toEqual({ value: 1, done: false });
    expect(await r.next()).toEqual({ value: 2, done: false });
    await expect(r.next()).rejects.toThrow("producer threw");
    expect(await r.next()).toEqual({ value: undefined, done: true });
  });

  it("failAfterQueued rejects a waiting next()", async () => {
    const { r } = receiver();
    const pending = r.next();
    r.failAfterQueued(new Error("died"));
    await expect(pending).rejects.toThrow("died");
  });

  it("fail rejects a waiting next()", async () => {
    const { r } = receiver();
    const pending = r.next();
    r.fail(new Error("died"));
    await expect(pending).rejects.toThrow("died");
  });

  it("fail after the end changes nothing", async () => {
    const { r } = receiver();
    r.push(1);
    r.end();
    r.fail(new Error("late"));
    expect(await r.next()).toEqual({ value: 1, done: false });
    expect(await r.next()).toEqual({ value: undefined, done: true });
  });

  it("return cancels the producer once, only while open, and resolves a waiting next()", async () => {
    const open = receiver();
    const pending = open.r.next();
    expect(await open.r.return()).toEqual({ value: undefined, done: true });
    expect(await pending).toEqual({ value: undefined, done: true });
    await open.r.return();
    expect(open.cancels()).toBe(1);
    expect(open.r.open).toBe(false);

    const ended = receiver();
    ended.r.end();
    await ended.r.return();
    expect(ended.cancels()).toBe(0);
  });

  it("grants credit in chunks of half the window as items are taken", async () => {
    const { r, grants } = receiver();
    for (let i = 0; i < STREAM_WINDOW; i++) r.push(i);
    for (let i = 0; i < STREAM_WINDOW / 2 - 1; i++) await r.next();
    expect(grants).toEqual([]);
    await r.next();
    expect(grants).toEqual([STREAM_WINDOW / 2]);
    for (let i = 0; i < STREAM_WINDOW / 2; i++) await r.next();
    expect(grants).toEqual([STREAM_WINDOW / 2, STREAM_WINDOW / 2]);
  });

  it("poll takes what next() would give at once, and nothing while it would wait or reject", async () => {
    const r = new StreamReceiver<number>(() => {}, () => {});
    expect(r.poll()).toBeUndefined();
    r.push(1);
    r.push(2);
    expect(r.poll()).toEqual({ value: 1, done: false });
    expect(await r.next()).toEqual({ value: 2, done: false });
    r.end();
    expect(r.poll()).toEqual({ value: undefined, done: true });

    const failed = new StreamReceiver<number>(() => {}, () => {});
    failed.push(3);
    failed.failAfterQueued(new Error("boom"));
    expect(failed.poll()).toEqual({ value: 3, done: false });
    expect(failed.poll()).toBeUndefined(); // next() reports the error
    await expect(failed.next()).rejects.toThrow("boom");
    expect(failed.poll()).toEqual({ value: undefined, done: true });
  });

  it("poll counts taken items toward credit like next()", () => {
    const grants: number[] = [];
    const r = new StreamReceiver<number>((n) => grants.push(n), () => {});
    for (let i = 0; i < STREAM_WINDOW; i++) r.push(i);
    for (let i = 0; i < STREAM_WINDOW; i++) r.poll();
    expect(grants).toEqual([STREAM_WINDOW / 2, STREAM_WINDOW / 2]);
  });

  it("rejects a second next() while one is pending", async () => {
    const { r } = receiver();
    void r.next();
    await expect(r.next()).rejects.toThrow(/previous next\(\) is pending/);
  });
});

describe("StreamCredit", () => {
  it("lets the window through, then waits until credit is granted", async () => {
    const credit = new StreamCredit();
    for (let i = 0; i < STREAM_WINDOW; i++) {
      expect(credit.ready()).toBeUndefined();
      credit.spend();
    }
    const wait = credit.ready();
    expect(wait).toBeInstanceOf(Promise);
    let resolved = false;
    void wait!.then(() => (resolved = true));
    await tick();
    expect(resolved).toBe(false);
    credit.grant(2);
    await wait;
    expect(credit.ready()).toBeUndefined();
  });

  it("close wakes a waiting producer and never blocks again", async () => {
    const credit = new StreamCredit();
    for (let i = 0; i < STREAM_WINDOW; i++) credit.spend();
    const wait = credit.ready()!;
    credit.close();
    await wait;
    for (let i = 0; i < 1000; i++) credit.spend();
    expect(credit.ready()).toBeUndefined();
  });
});

describe("PortWriter", () => {
  type Msg = { type: string; id: number; value?: unknown };

  it("posts a lone message as is, at the end of the event-loop turn", async () => {
    const sink = new FakeSink();
    const writer = new PortWriter<Msg>(sink, () => {});
    writer.send({ type: "result", id: 1, value: "a" });
    expect(sink.posted).toEqual([]);
    await new Promise<void>((r) => setImmediate(r));
    expect(sink.posted).toEqual([{ type: "result", id: 1, value: "a" }]);
  });

  it("keeps messages sent across promise jobs of one turn in one batch (an item and its stream's end)", async () => {
    const sink = new FakeSink();
    const writer = new PortWriter<Msg>(sink, () => {});
    async function* produce() {
      yield 1;
    }
    const it = produce();
    const first = await it.next();
    writer.send({ type: "item", id: 1, value: first.value });
    // An async generator's return settles several promise jobs later: still the same turn.
    expect((await it.next()).done).toBe(true);
    writer.send({ type: "end", id: 1 });
    expect(sink.posted).toEqual([]);
    await new Promise<void>((r) => setImmediate(r));
    expect(sink.posted).toEqual([{ type: "batch", messages: [{ type: "item", id: 1, value: 1 }, { type: "end", id: 1 }] }]);
  });

  it("coalesces messages of one checkpoint into one batch, in order", async () => {
    const sink = new FakeSink();
    const writer = new PortWriter<Msg>(sink, () => {});
    for (let id = 1; id <= 3; id++) writer.send({ type: "item", id });
    // The writer flushes from setImmediate: an immediate queued after its own runs after the flush.
    // (Two 0 ms timers could both fire in one timers phase on a loaded machine, before any flush.)
    await nextTurn();
    writer.send({ type: "end", id: 4 });
    await nextTurn();
    expect(sink.posted).toEqual([
      { type: "batch", messages: [{ type: "item", id: 1 }, { type: "item", id: 2 }, { type: "item", id: 3 }] },
      { type: "end", id: 4 },
    ]);
  });

  it("hands an unclonable message to the handler and still delivers the rest in order", async () => {
    const sink = new FakeSink();
    const failed: Array<[Msg, string]> = [];
    const writer = new PortWriter<Msg>(sink, (m, err) => {
      failed.push([m, err.name]);
      writer.postNow({ type: "error", id: m.id });
    });
    writer.send({ type: "item", id: 1, value: 1 });
    writer.send({ type: "item", id: 1, value: () => 2 });
    writer.send({ type: "item", id: 2, value: 3 });
    await tick();
    expect(failed.map(([m, name]) => [m.id, name])).toEqual([[1, "DataCloneError"]]);
    expect(sink.posted).toEqual([
      { type: "item", id: 1, value: 1 },
      { type: "error", id: 1 },
      { type: "item", id: 2, value: 3 },
    ]);
  });

  it("flush posts what is queued at once", () => {
    const sink = new FakeSink();
    const writer = new PortWriter<Msg>(sink, () => {});
    writer.send({ type: "start-failed", id: 0 });
    writer.flush();
    expect(sink.posted).toEqual([{ type: "start-failed", id: 0 }]);
  });

  it("unbatch hands each message of a batch to the handler", () => {
    const seen: number[] = [];
    unbatch<Msg>({ type: "batch", messages: [{ type: "a", id: 1 }, { type: "b", id: 2 }] }, (m) => seen.push(m.id));
    unbatch<Msg>({ type: "c", id: 3 }, (m) => seen.push(m.id));
    expect(seen).toEqual([1, 2, 3]);
  });
});
