// The rules of a task record's life, as pure functions shared by every TaskStore (the in-process
// store and the cluster's JetStream KV store): a new record, the owner's progress, the client's
// answers and cancel, the runtime failing a task whose replica or node is gone, TTL expiry and who
// may see a record. Each transition takes a state and returns the next one (never mutating its
// input) plus the signal the task's owner must hear, so a store can apply it under its own
// concurrency control (a Map write, a compare-and-set retry loop) and deliver the signal its way.

import { isTerminalStatus, type NewTask, type TaskChange, type TaskError, type TaskRecord, type TaskRef, type TaskSignal } from "./task-store.ts";

/** A record with what the rules need besides it (JSON-safe, so a store can persist it as is). */
export interface TaskState {
  record: TaskRecord;
  /** Input request keys ever asked for: a key is never reused over a task's life. */
  askedKeys: string[];
}

/** What can happen to a task. */
export type TaskEvent =
  /** The owner's progress (TaskStore.update). */
  | { kind: "change"; change: TaskChange }
  /** The client's `tasks/update` answers (TaskStore.respond). */
  | { kind: "respond"; inputResponses: Record<string, unknown> }
  /** The client's `tasks/cancel`. */
  | { kind: "cancel" }
  /** The runtime: the replica or node running the task is gone. */
  | { kind: "fail"; error: TaskError };

export interface TaskTransition {
  state: TaskState;
  /** False when the event left the record as it was (e.g. the task was already terminal). */
  changed: boolean;
  /** What the owner must hear, if anything. */
  signal?: TaskSignal;
}

export const CANCELLED_MESSAGE = "Cancelled by the client.";

/** A new `working` task. */
export function newTaskState(task: NewTask, nowMs: number): TaskState {
  const record: TaskRecord = {
    scope: task.scope,
    taskId: task.taskId,
    principal: task.principal,
    owner: task.owner,
    status: "working",
    createdAtMs: nowMs,
    lastUpdatedAtMs: nowMs,
    ttlMs: task.ttlMs,
    pollIntervalMs: task.pollIntervalMs,
    ...(task.statusMessage !== undefined ? { statusMessage: task.statusMessage } : {}),
  };
  return { record, askedKeys: [] };
}

/** Applies `event` at `nowMs`. Terminal records never change. */
export function applyTaskEvent(state: TaskState, event: TaskEvent, nowMs: number): TaskTransition {
  if (isTerminalStatus(state.record.status)) return { state, changed: false };
  switch (event.kind) {
    case "change":
      return applyChange(state, event.change, nowMs);
    case "respond":
      return applyResponses(state, event.inputResponses, nowMs);
    case "cancel": {
      const { inputRequests: _dropped, ...rest } = state.record;
      const record: TaskRecord = { ...rest, status: "cancelled", statusMessage: CANCELLED_MESSAGE, lastUpdatedAtMs: nowMs };
      return { state: { ...state, record }, changed: true, signal: { kind: "cancelled", taskId: record.taskId } };
    }
    case "fail": {
      const { inputRequests: _dropped, ...rest } = state.record;
      const record: TaskRecord = { ...rest, status: "failed", error: event.error, statusMessage: event.error.message, lastUpdatedAtMs: nowMs };
      return { state: { ...state, record }, changed: true };
    }
  }
}

function applyChange(state: TaskState, change: TaskChange, nowMs: number): TaskTransition {
  const record: TaskRecord = { ...state.record, lastUpdatedAtMs: nowMs };
  let askedKeys = state.askedKeys;
  if (change.statusMessage !== undefined) record.statusMessage = change.statusMessage;
  switch (change.kind) {
    case "status":
      break;
    case "input": {
      const fresh = Object.entries(change.inputRequests).filter(([key]) => !askedKeys.includes(key));
      askedKeys = [...askedKeys, ...fresh.map(([key]) => key)];
      record.inputRequests = { ...record.inputRequests, ...Object.fromEntries(fresh) };
      if (Object.keys(record.inputRequests).length > 0) record.status = "input_required";
      break;
    }
    case "completed":
      record.status = "completed";
      record.result = change.result;
      delete record.inputRequests;
      break;
    case "failed":
      record.status = "failed";
      record.error = change.error;
      delete record.inputRequests;
      break;
  }
  return { state: { record, askedKeys }, changed: true };
}

function applyResponses(state: TaskState, inputResponses: Record<string, unknown>, nowMs: number): TaskTransition {
  const outstanding = state.record.inputRequests ?? {};
  const answered = Object.entries(inputResponses).filter(([key]) => Object.hasOwn(outstanding, key));
  if (answered.length === 0) return { state, changed: false };
  const left = { ...outstanding };
  for (const [key] of answered) delete left[key];
  const { inputRequests: _old, ...rest } = state.record;
  const record: TaskRecord =
    Object.keys(left).length > 0 ? { ...rest, inputRequests: left, lastUpdatedAtMs: nowMs } : { ...rest, status: "working", lastUpdatedAtMs: nowMs };
  return {
    state: { ...state, record },
    changed: true,
    signal: { kind: "input", taskId: record.taskId, inputResponses: Object.fromEntries(answered) },
  };
}

/** Whether the record's TTL ran out at `nowMs`. */
export function isExpired(record: TaskRecord, nowMs: number): boolean {
  return record.ttlMs !== null && nowMs >= record.createdAtMs + record.ttlMs;
}

/** Whether `ref` may see the record: same deployment, same principal. */
export function isVisibleTo(record: TaskRecord, ref: TaskRef): boolean {
  return record.scope === ref.scope && record.taskId === ref.taskId && record.principal === ref.principal;
}
