// The task store contract: where the records of MCP Tasks (io.modelcontextprotocol/tasks) live, so
// that any replica of a deployment can answer `tasks/get`, `tasks/update` and `tasks/cancel` for a
// task another replica runs. Everything here is async and structured-clone / JSON safe: the
// single-node store lives in the main thread and replicas reach it over their port
// (memory-task-store.ts, port-task-store.ts); in cluster mode the JetStream KV store
// (src/cluster/kv-task-store.ts: one key per task, owner signals per node) implements the same
// interface. Both apply the record rules of task-transitions.ts.
//
// The store never runs a task. The replica that created a task (its `owner`) runs the work, writes
// its progress here (`update`) and hears about the client's side (`respond`, `cancel`, expiry)
// through `watch`. When an owner dies, the runtime calls `failOwnedBy` so no task it ran stays
// `working` forever.

export type TaskStatus = "working" | "input_required" | "completed" | "failed" | "cancelled";

export const TERMINAL_TASK_STATUSES: ReadonlySet<TaskStatus> = new Set(["completed", "failed", "cancelled"]);

export function isTerminalStatus(status: TaskStatus): boolean {
  return TERMINAL_TASK_STATUSES.has(status);
}

/** A JSON-RPC error, as a failed task carries it. */
export interface TaskError {
  code: number;
  message: string;
  data?: unknown;
}

/** Who may see a task: the deployment that created it and, with auth, the identity that asked. */
export interface TaskRef {
  /** `<app>/<deployment>`: task ids never resolve across deployments. */
  scope: string;
  taskId: string;
  /** The authenticated client id that created the task, or null without auth. */
  principal: string | null;
}

/** One task's record (JSON-safe). */
export interface TaskRecord extends TaskRef {
  status: TaskStatus;
  statusMessage?: string;
  /** The replica running the work. */
  owner: string;
  createdAtMs: number;
  lastUpdatedAtMs: number;
  /** Kept this long after creation, then deleted (null: until the store is closed). */
  ttlMs: number | null;
  pollIntervalMs: number;
  /** The tool's CallToolResult (status `completed`). */
  result?: Record<string, unknown>;
  /** The JSON-RPC error (status `failed`). */
  error?: TaskError;
  /** Outstanding server→client requests by key (status `input_required`). */
  inputRequests?: Record<string, unknown>;
}

export interface NewTask extends TaskRef {
  /** Filled in by the store's host when a replica creates the task (the replica cannot choose). */
  owner: string;
  ttlMs: number | null;
  pollIntervalMs: number;
  statusMessage?: string;
}

/** What the owner reports while the work runs; ignored once the task is terminal. */
export type TaskChange =
  | { kind: "status"; statusMessage: string }
  /** The work waits for these (keys unique over the task's life): status `input_required`. */
  | { kind: "input"; inputRequests: Record<string, unknown>; statusMessage?: string }
  | { kind: "completed"; result: Record<string, unknown>; statusMessage?: string }
  | { kind: "failed"; error: TaskError; statusMessage?: string };

/** What the owner of a task hears about it from the client's side. */
export type TaskSignal =
  | { kind: "cancelled"; taskId: string }
  /** Answers to outstanding input requests (only keys that were outstanding). */
  | { kind: "input"; taskId: string; inputResponses: Record<string, unknown> }
  /** The TTL ran out before the task finished; the record is gone. */
  | { kind: "expired"; taskId: string };

export interface TaskStore {
  /** Stores a new `working` task; resolves once a `get` for it would find it. */
  create(task: NewTask): Promise<TaskRecord>;
  /** The task, or undefined when unknown, expired or not visible to `ref.principal`. */
  get(ref: TaskRef): Promise<TaskRecord | undefined>;
  /** The owner's progress. Resolves to the record after the change (unchanged when terminal). */
  update(scope: string, taskId: string, change: TaskChange): Promise<TaskRecord | undefined>;
  /**
   * The client's `tasks/update`: answers for outstanding input requests. Answered keys leave
   * `inputRequests`; once none is left the task is `working` again. Keys that are not outstanding
   * are ignored. The owner hears the answers through `watch`.
   */
  respond(ref: TaskRef, inputResponses: Record<string, unknown>): Promise<TaskRecord | undefined>;
  /** The client's `tasks/cancel`: a task still running becomes `cancelled` and its owner hears it. */
  cancel(ref: TaskRef): Promise<TaskRecord | undefined>;
  /** Deletes the tasks whose TTL ran out (their owners hear `expired`); resolves to how many. */
  expire(nowMs?: number): Promise<number>;
  /** Marks every task `owner` still runs as `failed` with `error`; resolves to how many. */
  failOwnedBy(owner: string, error: TaskError): Promise<number>;
  /** The signals for the tasks `owner` runs, until `signal` aborts. */
  watch(owner: string, signal: AbortSignal): AsyncIterable<TaskSignal>;
}
