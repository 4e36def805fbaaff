import { describe, expect, it } from "vitest";
import { CancelledError, ErrorCode, serializeError } from "../../../src/errors.ts";
import { CallScope, runInCallScope } from "../../../src/runtime/call-context.ts";
import type { UpcallRequest } from "../../../src/runtime/protocol.ts";
import { STREAM_WINDOW } from "../../../src/runtime/protocol.ts";
import { WorkerCallTransport, getWorkerTransport } from "../../../src/runtime/worker-transport.ts";

const target = { app: "shop", deployment: "Cart" };

function transport() {
  const sent: UpcallRequest[] = [];
  const t = new WorkerCallTransport((m) => sent.push(m));
  return { t, sent };
}

describe("WorkerCallTransport (inside a replica)", () => {
  it("sends an upcall and resolves with the reply to its id", async () => {
    const { t, sent } = transport();
    const a = t.call(target, "add", [1], { timeoutMs: 500 });
    const b = t.call(target, "add", [2]);
    expect(sent).toEqual([
      { type: "upcall", id: 1, target, method: "add", args: [1], stream: false, timeoutMs: 500 },
      { type: "upcall", id: 2, target, method: "add", args: [2], stream: false },
    ]);
    t.handle({ type: "upcall-result", id: 2, value: "two" });
    t.handle({ type: "upcall-result", id: 1, value: "one" });
    expect(await Promise.all([a, b])).toEqual(["one", "two"]);
  });

  it("rebuilds errors from the main thread", async () => {
    const { t } = transport();
    const p = t.call(target, "add", []);
    t.handle({ type: "upcall-error", id: 1, error: serializeError(new RangeError("too many")) });
    await expect(p).rejects.toBeInstanceOf(RangeError);
  });

  it("aborting the signal rejects at once and sends upcall-cancel; a late reply is ignored", async () => {
    const { t, sent } = transport();
    const controller = new AbortController();
    const p = t.call(target, "slow", [], { signal: controller.signal });
    controller.abort();
    const err = await p.catch((e: CancelledError) => e);
    expect(err).toBeInstanceOf(CancelledError);
    expect((err as CancelledError).code).toBe(ErrorCode.CANCELLED);
    expect(sent.at(-1)).toEqual({ type: "upcall-cancel", id: 1 });
    t.handle({ type: "upcall-result", id: 1, value: "late" });
  });

  it("inherits the enclosing replica call's signal", async () => {
    const { t, sent } = transport();
    const scope = new CallScope();
    const p = runInCallScope(scope, () => t.call(target, "slow", []));
    scope.abort(new CancelledError());
    await expect(p).rejects.toBeInstanceOf(CancelledError);
    expect(sent.map((m) => m.type)).toEqual(["upcall", "upcall-cancel"]);
  });

  it("does not send a call whose signal is already aborted", async () => {
    const { t, sent } = transport();
    await expect(t.call(target, "x", [], { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(CancelledError);
    expect(sent).toEqual([]);
  });

  it("streams: starts on first next(), delivers items in order, grants credit, ends", async () => {
    const { t, sent } = transport();
    const iterable = t.stream(target, "items", [3]);
    expect(sent).toEqual([]);
    const it = iterable[Symbol.asyncIterator]();
    expect(sent).toEqual([{ type: "upcall", id: 1, target, method: "items", args: [3], stream: true }]);
    for (let i = 0; i < STREAM_WINDOW; i++) t.handle({ type: "upcall-item", id: 1, value: i });
    const got: unknown[] = [];
    for (let i = 0; i < STREAM_WINDOW; i++) got.push((await it.next()).value);
    t.handle({ type: "upcall-end", id: 1 });
    expect(await it.next()).toEqual({ value: undefined, done: true });
    expect(got).toEqual(Array.from({ length: STREAM_WINDOW }, (_, i) => i));
    expect(sent.filter((m) => m.type === "upcall-credit")).toEqual([
      { type: "upcall-credit", id: 1, n: STREAM_WINDOW / 2 },
      { type: "upcall-credit", id: 1, n: STREAM_WINDOW / 2 },
    ]);
  });

  it("leaving a stream early sends upcall-cancel", async () => {
    const { t, sent } = transport();
    const it = t.stream(target, "items", [])[Symbol.asyncIterator]();
    t.handle({ type: "upcall-item", id: 1, value: "a" });
    expect(await it.next()).toEqual({ value: "a", done: false });
    await it.return!();
    expect(sent.at(-1)).toEqual({ type: "upcall-cancel", id: 1 });
  });

  it("a stream error arrives after its items", async () => {
    const { t } = transport();
    const it = t.stream(target, "items", [])[Symbol.asyncIterator]();
    t.handle({ type: "upcall-item", id: 1, value: "a" });
    t.handle({ type: "upcall-error", id: 1, error: serializeError(new Error("dry")) });
    // The items sent before the error are still delivered (they often share one batch), then it.
    expect(await it.next()).toEqual({ value: "a", done: false });
    await expect(it.next()).rejects.toThrow("dry");
  });

  it("aborting a stream's signal fails it and cancels upstream", async () => {
    const { t, sent } = transport();
    const controller = new AbortController();
    const it = t.stream(target, "items", [], { signal: controller.signal })[Symbol.asyncIterator]();
    const pending = it.next();
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
    expect(sent.at(-1)).toEqual({ type: "upcall-cancel", id: 1 });
  });

  it("is not installed outside a replica", () => {
    expect(getWorkerTransport()).toBeUndefined();
  });
});
