// Runs the tasks a replica created (MCP Tasks extension): each task's work runs as its own call
// scope (call-context.ts) with its own AbortSignal, so `currentCallSignal()` inside it is the
// task's and handle calls it makes are cancelled with it; its progress, input requests and outcome
// are written to the shared TaskStore. One watch on the store per replica brings back what the
// client did through any replica — answers to input requests, cancel — and TTL expiry.
//
// Outcomes: a returned CallToolResult completes the task (`isError: true` too); a thrown error with
// a numeric JSON-RPC `code` (the SDK's ProtocolError) fails it with that error; any other throw
// completes it with an isError result, as the tool answers when run synchronously. Once the task is
// terminal in the store (cancelled, failed because its replica went away) later writes are ignored.

import { randomUUID } from "node:crypto";
import type { TaskContext, TaskToolDefinition } from "../../deployments/task-tool.ts";
import { CancelledError } from "../../errors.ts";
import { CallScope, runInCallScope } from "../../runtime/call-context.ts";
import type { TaskChange, TaskError, TaskRecord, TaskSignal, TaskStore } from "../../tasks/task-store.ts";

const INTERNAL_ERROR = -32603;

interface InputWaiter {
  keys: Set<string>;
  answers: Record<string, unknown>;
  resolve: (answers: Record<string, unknown>) => void;
  reject: (err: unknown) => void;
}

/** One task this replica runs. */
class RunningTask {
  readonly scope = new CallScope();
  readonly #waiters = new Set<InputWaiter>();

  abort(reason: Error): void {
    this.scope.abort(reason);
    for (const w of this.#waiters) w.reject(reason);
    this.#waiters.clear();
  }

  waitFor(keys: string[]): { promise: Promise<Record<string, unknown>>; cancel: () => void } {
    let waiter!: InputWaiter;
    const promise = new Promise<Record<string, unknown>>((resolve, reject) => {
      waiter = { keys: new Set(keys), answers: {}, resolve, reject };
    });
    if (this.scope.aborted) waiter.reject(this.scope.signal.reason);
    else this.#waiters.add(waiter);
    return { promise, cancel: () => this.#waiters.delete(waiter) };
  }

  deliver(responses: Record<string, unknown>): void {
    for (const w of [...this.#waiters]) {
      for (const [key, answer] of Object.entries(responses)) {
        if (w.keys.has(key)) {
          w.answers[key] = answer;
          w.keys.delete(key);
        }
      }
      if (w.keys.size === 0) {
        this.#waiters.delete(w);
        w.resolve(w.answers);
      }
    }
  }
}

export interface TaskStart {
  definition: TaskToolDefinition;
  args: unknown;
  principal: string | null;
  inputResponses: Record<string, unknown>;
}

export class TaskRunner {
  readonly #store: TaskStore;
  /** `<app>/<deployment>`: the store's scope for this deployment's tasks. */
  readonly scope: string;
  readonly #owner: string;
  readonly #running = new Map<string, RunningTask>();
  #watch: AbortController | undefined;

  /** @param owner this replica's id (the store's host binds the real one over a port). */
  constructor(store: TaskStore, scope: string, owner: string) {
    this.#store = store;
    this.scope = scope;
    this.#owner = owner;
  }

  get store(): TaskStore {
    return this.#store;
  }

  /** Tasks this replica is running now. */
  get running(): number {
    return this.#running.size;
  }

  /** Stores the task (a `get` finds it once this resolves), then starts its work. */
  async start(start: TaskStart): Promise<TaskRecord> {
    this.#ensureWatching();
    const { definition } = start;
    const record = await this.#store.create({
      scope: this.scope,
      taskId: randomUUID(),
      principal: start.principal,
      owner: this.#owner,
      ttlMs: definition.ttlMs,
      pollIntervalMs: definition.pollIntervalMs,
    });
    const task = new RunningTask();
    this.#running.set(record.taskId, task);
    // Its own call scope: not the creating request's, which ends with the CreateTaskResult.
    runInCallScope(task.scope, () => void this.#run(record.taskId, task, start));
    return record;
  }

  async #run(taskId: string, task: RunningTask, start: TaskStart): Promise<void> {
    const context: TaskContext = {
      taskId,
      signal: task.scope.signal,
      inputResponses: start.inputResponses,
      setStatusMessage: async (statusMessage) => {
        await this.#write(taskId, { kind: "status", statusMessage });
      },
      requestInput: async (inputRequests, statusMessage) => {
        const wait = task.waitFor(Object.keys(inputRequests));
        try {
          await this.#write(taskId, { kind: "input", inputRequests, ...(statusMessage !== undefined ? { statusMessage } : {}) });
        } catch (err) {
          wait.cancel();
          throw err;
        }
        return wait.promise;
      },
    };
    let change: TaskChange;
    try {
      const result = (await start.definition.run(start.args, context)) ?? { content: [] };
      change = { kind: "completed", result: result as Record<string, unknown> };
    } catch (err) {
      change = outcomeOfThrow(err);
    }
    try {
      await this.#write(taskId, change);
    } catch (err) {
      // Most likely a result that cannot be stored (not structured-clone safe): fail it, saying so.
      const error = { code: INTERNAL_ERROR, message: `the task's result could not be stored: ${(err as Error).message}` };
      await this.#write(taskId, { kind: "failed", error }).catch(() => {});
    } finally {
      this.#running.delete(taskId);
    }
  }

  #write(taskId: string, change: TaskChange): Promise<TaskRecord | undefined> {
    return this.#store.update(this.scope, taskId, change);
  }

  /** One watch per replica, opened before the first task is created so no signal is missed. */
  #ensureWatching(): void {
    if (this.#watch) return;
    const controller = new AbortController();
    this.#watch = controller;
    // Started synchronously: over a port the watch request goes out ahead of the create.
    const iterator = this.#store.watch(this.#owner, controller.signal)[Symbol.asyncIterator]();
    void (async () => {
      try {
        for (;;) {
          const r = await iterator.next();
          if (r.done) break;
          this.#onSignal(r.value);
        }
      } catch {
        // The store went away (the runtime is shutting down); a later task opens a new watch.
      } finally {
        if (this.#watch === controller) this.#watch = undefined;
      }
    })();
  }

  #onSignal(signal: TaskSignal): void {
    const task = this.#running.get(signal.taskId);
    if (!task) return;
    switch (signal.kind) {
      case "cancelled":
        task.abort(new CancelledError("the task was cancelled by the client"));
        return;
      case "expired":
        task.abort(new CancelledError("the task's TTL ran out before it finished"));
        return;
      case "input":
        task.deliver(signal.inputResponses);
        return;
    }
  }

  /** Stops watching (the handler is being discarded); running tasks keep their records. */
  close(): void {
    this.#watch?.abort();
    this.#watch = undefined;
  }
}

function outcomeOfThrow(err: unknown): TaskChange {
  const e = err as { code?: unknown; message?: unknown; data?: unknown } | null;
  const message = typeof e?.message === "string" ? e.message : String(err);
  if (typeof e?.code === "number" && Number.isInteger(e.code)) {
    const error: TaskError = { code: e.code, message, ...(e.data !== undefined ? { data: e.data } : {}) };
    return { kind: "failed", error, statusMessage: message };
  }
  return { kind: "completed", result: { content: [{ type: "text", text: message }], isError: true } };
}
