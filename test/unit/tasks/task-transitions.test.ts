// The pure task-record rules both stores share (task-transitions.ts): each transition returns a new
// state and never mutates its input; terminal records never change; the owner's signals come back
// with the transition that causes them.

import { describe, expect, it } from "vitest";
import { applyTaskEvent, CANCELLED_MESSAGE, isExpired, isVisibleTo, newTaskState, type TaskState } from "../../../src/tasks/task-transitions.ts";

const ref = { scope: "app/Dep", taskId: "t1", principal: null };
const fresh = (): TaskState => newTaskState({ ...ref, owner: "r1", ttlMs: 1_000, pollIntervalMs: 50 }, 100);

describe("task transitions", () => {
  it("a new task is working, stamped with the creation time", () => {
    const s = fresh();
    expect(s.record).toEqual({ ...ref, owner: "r1", status: "working", createdAtMs: 100, lastUpdatedAtMs: 100, ttlMs: 1_000, pollIntervalMs: 50 });
    expect(s.askedKeys).toEqual([]);
  });

  it("status and completion change the record without touching the input state", () => {
    const s = fresh();
    const before = structuredClone(s);
    const t = applyTaskEvent(s, { kind: "change", change: { kind: "status", statusMessage: "1/3" } }, 200);
    expect(t).toMatchObject({ changed: true, state: { record: { status: "working", statusMessage: "1/3", lastUpdatedAtMs: 200 } } });
    expect(t.signal).toBeUndefined();
    const done = applyTaskEvent(t.state, { kind: "change", change: { kind: "completed", result: { content: [] } } }, 300);
    expect(done.state.record).toMatchObject({ status: "completed", result: { content: [] }, statusMessage: "1/3" });
    expect(s).toEqual(before);
  });

  it("input requests park the task; answers resume it once every key is answered, and are signalled", () => {
    let s = applyTaskEvent(fresh(), { kind: "change", change: { kind: "input", inputRequests: { a: 1, b: 2 } } }, 200).state;
    expect(s.record).toMatchObject({ status: "input_required", inputRequests: { a: 1, b: 2 } });
    expect(s.askedKeys).toEqual(["a", "b"]);
    const ignored = applyTaskEvent(s, { kind: "respond", inputResponses: { zzz: 1 } }, 250);
    expect(ignored.changed).toBe(false);
    const first = applyTaskEvent(s, { kind: "respond", inputResponses: { a: "yes", zzz: 1 } }, 300);
    expect(first.state.record).toMatchObject({ status: "input_required", inputRequests: { b: 2 } });
    expect(first.signal).toEqual({ kind: "input", taskId: "t1", inputResponses: { a: "yes" } });
    s = applyTaskEvent(first.state, { kind: "respond", inputResponses: { b: "no" } }, 400).state;
    expect(s.record.status).toBe("working");
    expect(s.record.inputRequests).toBeUndefined();
    // A key is never asked twice over the task's life.
    const again = applyTaskEvent(s, { kind: "change", change: { kind: "input", inputRequests: { a: 9 } } }, 500);
    expect(again.state.record.status).toBe("working");
    expect(again.state.record.inputRequests).toEqual({});
  });

  it("cancel ends a running task and signals the owner; fail records the error; terminal records never change", () => {
    const parked = applyTaskEvent(fresh(), { kind: "change", change: { kind: "input", inputRequests: { a: 1 } } }, 200).state;
    const cancelled = applyTaskEvent(parked, { kind: "cancel" }, 300);
    expect(cancelled.state.record).toMatchObject({ status: "cancelled", statusMessage: CANCELLED_MESSAGE, lastUpdatedAtMs: 300 });
    expect(cancelled.state.record.inputRequests).toBeUndefined();
    expect(cancelled.signal).toEqual({ kind: "cancelled", taskId: "t1" });
    for (const event of [
      { kind: "cancel" } as const,
      { kind: "fail", error: { code: 1, message: "x" } } as const,
      { kind: "change", change: { kind: "completed", result: {} } } as const,
    ]) {
      const t = applyTaskEvent(cancelled.state, event, 400);
      expect(t.changed).toBe(false);
      expect(t.state).toBe(cancelled.state);
      expect(t.signal).toBeUndefined();
    }
    const failed = applyTaskEvent(fresh(), { kind: "fail", error: { code: -32603, message: "node n died" } }, 300);
    expect(failed.state.record).toMatchObject({ status: "failed", error: { code: -32603, message: "node n died" }, statusMessage: "node n died" });
    expect(failed.signal).toBeUndefined();
  });

  it("expiry and visibility", () => {
    const { record } = fresh();
    expect(isExpired(record, 1_099)).toBe(false);
    expect(isExpired(record, 1_100)).toBe(true);
    expect(isExpired({ ...record, ttlMs: null }, Number.MAX_SAFE_INTEGER)).toBe(false);
    expect(isVisibleTo(record, ref)).toBe(true);
    expect(isVisibleTo(record, { ...ref, principal: "someone" })).toBe(false);
    expect(isVisibleTo(record, { ...ref, scope: "app/Other" })).toBe(false);
  });
});
