// `registerTaskTool(server, name, config, run)`: a tool that MCP clients may run as a task (the
// Tasks extension, io.modelcontextprotocol/tasks). Inside `mcpApp`, a `tools/call` from a client
// that opted in to the extension answers at once with a CreateTaskResult, after the task record is
// stored where every replica of the deployment can read it; `run` then works on the replica with
// its own AbortSignal, and the client polls `tasks/get`, answers input with `tasks/update` and
// cancels with `tasks/cancel` through any replica. A client that did not opt in gets the tool run
// synchronously (`taskSupport: "optional"`, the default) or error -32021 (`"required"`).
//
// What `run` gets (TaskContext):
// - `signal` aborts when the client cancels the task, its TTL runs out or its replica stops; handle
//   calls made from `run` are cancelled with it (it is the replica call's signal);
// - `setStatusMessage(text)` shows progress in `tasks/get`;
// - `requestInput({ key: request })` parks the task in `input_required` with those requests
//   (e.g. `inputRequired.elicit(...)` from the SDK) and resolves with the client's answers by key;
// - `inputResponses`: answers the creating request carried (multi-round-trip input gathered by
//   `beforeTask` before the task existed).
// A returned CallToolResult — `isError: true` included — completes the task; a thrown SDK
// ProtocolError (any error with a numeric JSON-RPC `code`) fails it with that error; any other
// throw completes it with an `isError` result, as the same tool would answer synchronously.
//
// This module loads no SDK code (type imports only): the server is only called through its own
// methods.

import type { ServerContext } from "@modelcontextprotocol/server";
import * as z from "zod";
import { InvalidOptionsError } from "../errors.ts";

export type TaskSupport = "optional" | "required";

/** A Standard Schema (zod and others), as `McpServer.registerTool` takes for `inputSchema`. */
export interface TaskToolInputSchema<T = unknown> {
  readonly "~standard": {
    readonly validate: (value: unknown) => unknown;
    readonly types?: { readonly output: T };
  };
}

type InferArgs<S> = S extends { readonly "~standard": { readonly types?: { readonly output: infer T } } } ? T : Record<string, unknown>;

/** The tool-author view of a running task. */
export interface TaskContext {
  /** The task's id; undefined when the tool runs synchronously (the client did not opt in). */
  readonly taskId: string | undefined;
  /** Aborts when the task is cancelled, expires, or its replica stops. */
  readonly signal: AbortSignal;
  /** Input responses the creating request carried (keyed as `beforeTask` asked). */
  readonly inputResponses: Readonly<Record<string, unknown>>;
  /** Shown as `statusMessage` in `tasks/get`. A no-op when the tool runs synchronously. */
  setStatusMessage(message: string): Promise<void>;
  /**
   * Parks the task in `input_required` with `requests` (keys unique over the task's life) and
   * resolves with every answer by key once the client has sent them all via `tasks/update`.
   * Rejects when the task is cancelled meanwhile, and when the tool runs synchronously.
   */
  requestInput(requests: Record<string, unknown>, statusMessage?: string): Promise<Record<string, unknown>>;
}

/** A CallToolResult (`content`, optional `structuredContent`, `isError`). */
export type TaskToolResult = Record<string, unknown> & { content?: unknown[]; isError?: boolean };

export interface TaskToolConfig<S extends TaskToolInputSchema | undefined = undefined> {
  title?: string;
  description?: string;
  inputSchema?: S;
  annotations?: Record<string, unknown>;
  _meta?: Record<string, unknown>;
  /** "optional" (default): without the client's opt-in the tool runs synchronously. "required": -32021. */
  taskSupport?: TaskSupport;
  /** How long the task's record is kept after creation (default 1 hour); null keeps it until the store closes. */
  ttlMs?: number | null;
  /** Suggested polling interval for clients (default 1,000 ms). */
  pollIntervalMs?: number;
  /**
   * Runs on the `tools/call` request before any task exists. Return a result to answer the request
   * synchronously instead — typically `inputRequired(...)` to gather input first (SEP-2322), or a
   * CallToolResult when the answer is immediate — or undefined to create the task.
   */
  beforeTask?: (args: InferArgs<S>, ctx: ServerContext) => unknown;
}

export type TaskToolRun<S extends TaskToolInputSchema | undefined> = (
  args: InferArgs<S>,
  task: TaskContext,
) => TaskToolResult | void | Promise<TaskToolResult | void>;

/** What the tasks extension (src/ingress/mcp/tasks-extension.ts) needs to know about a task tool. */
export interface TaskToolDefinition {
  name: string;
  taskSupport: TaskSupport;
  ttlMs: number | null;
  pollIntervalMs: number;
  inputSchema: TaskToolInputSchema | undefined;
  beforeTask: ((args: unknown, ctx: unknown) => unknown) | undefined;
  run: (args: unknown, task: TaskContext) => unknown;
}

export const DEFAULT_TASK_TTL_MS = 3_600_000;
export const DEFAULT_TASK_POLL_INTERVAL_MS = 1_000;

/** Kept on the server object (not in a module-level map) so two copies of this module agree. */
const TASK_TOOLS = Symbol.for("stingray.taskTools");

/** The subset of McpServer used here. */
interface ToolServer {
  registerTool(name: string, config: Record<string, unknown>, cb: (...args: never[]) => unknown): unknown;
}

const configSchema = z
  .object({
    title: z.string().optional(),
    description: z.string().optional(),
    inputSchema: z
      .custom<TaskToolInputSchema>((v) => typeof (v as TaskToolInputSchema | null)?.["~standard"]?.validate === "function", {
        message: "must be a Standard Schema (for instance a zod object)",
      })
      .optional(),
    annotations: z.record(z.string(), z.unknown()).optional(),
    _meta: z.record(z.string(), z.unknown()).optional(),
    taskSupport: z.enum(["optional", "required"]).optional(),
    ttlMs: z.number().int().positive().max(2_147_483_647).nullable().optional(),
    pollIntervalMs: z.number().int().positive().max(2_147_483_647).optional(),
    beforeTask: z.custom<(...a: unknown[]) => unknown>((v) => typeof v === "function", { message: "must be a function" }).optional(),
  })
  .strict();

export function registerTaskTool<S extends TaskToolInputSchema | undefined = undefined>(
  server: ToolServer,
  name: string,
  config: TaskToolConfig<S>,
  run: TaskToolRun<S>,
): void {
  const where = `registerTaskTool(${JSON.stringify(name)})`;
  if (typeof server?.registerTool !== "function") throw new InvalidOptionsError(`${where}: server must be an McpServer`);
  if (typeof name !== "string" || name === "") throw new InvalidOptionsError(`registerTaskTool(): name must be a non-empty string`);
  if (typeof run !== "function") throw new InvalidOptionsError(`${where}: run must be a function (args, task) => result`);
  const parsed = configSchema.safeParse(config ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const option = issue.code === "unrecognized_keys" ? issue.keys.join(", ") : issue.path.map(String).join(".");
    const detail = issue.code === "unrecognized_keys" ? "is not a known option" : issue.message;
    throw new InvalidOptionsError(`${where}: option "${option}" ${detail}`, { cause: parsed.error });
  }
  const c = parsed.data;
  const definition: TaskToolDefinition = {
    name,
    taskSupport: c.taskSupport ?? "optional",
    ttlMs: c.ttlMs === undefined ? DEFAULT_TASK_TTL_MS : c.ttlMs,
    pollIntervalMs: c.pollIntervalMs ?? DEFAULT_TASK_POLL_INTERVAL_MS,
    inputSchema: c.inputSchema,
    beforeTask: c.beforeTask as TaskToolDefinition["beforeTask"],
    run: run as TaskToolDefinition["run"],
  };
  const holder = server as unknown as { [TASK_TOOLS]?: Map<string, TaskToolDefinition> };
  const registry = holder[TASK_TOOLS] ?? new Map<string, TaskToolDefinition>();
  if (registry.has(name)) throw new InvalidOptionsError(`${where}: a task tool named ${JSON.stringify(name)} is already registered`);
  // Synchronous path (no opt-in, or served outside mcpApp): the same run, without a task.
  const runNow = async (args: unknown, ctx: SdkContext | undefined) => {
    const early = definition.beforeTask ? await definition.beforeTask(args, ctx) : undefined;
    if (early !== undefined) return early;
    return runSynchronously(definition, args, ctx);
  };
  const toolConfig: Record<string, unknown> = {
    ...(c.title !== undefined ? { title: c.title } : {}),
    ...(c.description !== undefined ? { description: c.description } : {}),
    ...(c.inputSchema !== undefined ? { inputSchema: c.inputSchema } : {}),
    ...(c.annotations !== undefined ? { annotations: c.annotations } : {}),
    ...(c._meta !== undefined ? { _meta: c._meta } : {}),
  };
  if (c.inputSchema !== undefined) {
    server.registerTool(name, toolConfig, ((args: unknown, ctx: never) => runNow(args, ctx)) as (...a: never[]) => unknown);
  } else {
    server.registerTool(name, toolConfig, ((ctx: never) => runNow({}, ctx)) as (...a: never[]) => unknown);
  }
  registry.set(name, definition);
  holder[TASK_TOOLS] = registry;
}

/** The task tools registered on `server`, if any. */
export function taskToolsOf(server: object): ReadonlyMap<string, TaskToolDefinition> | undefined {
  return (server as { [TASK_TOOLS]?: Map<string, TaskToolDefinition> })[TASK_TOOLS];
}

/** The part of the SDK's ServerContext a synchronous run reads. */
interface SdkContext {
  mcpReq?: { signal?: AbortSignal; inputResponses?: Record<string, unknown> };
}

async function runSynchronously(definition: TaskToolDefinition, args: unknown, ctx: SdkContext | undefined): Promise<unknown> {
  const task: TaskContext = {
    taskId: undefined,
    signal: ctx?.mcpReq?.signal ?? new AbortController().signal,
    inputResponses: ctx?.mcpReq?.inputResponses ?? {},
    setStatusMessage: () => Promise.resolve(),
    requestInput: () =>
      Promise.reject(
        new Error(`${definition.name} asked for input, which needs a task: call it with the io.modelcontextprotocol/tasks extension`),
      ),
  };
  return (await definition.run(args, task)) ?? { content: [] };
}
