// The MCP Tasks extension (io.modelcontextprotocol/tasks, 2026-07-28) on one SDK server built by
// the app's factory: when the factory registered task tools (registerTaskTool), this advertises
// the extension in `server/discover`, answers `tasks/get`, `tasks/update` and `tasks/cancel` from
// the shared TaskStore (so any replica answers for any task of its deployment), and puts a task
// dispatcher in front of the server's `tools/call` handler:
// - a task tool called by a client that opted in (`_meta["io.modelcontextprotocol/
//   clientCapabilities"].extensions` on the request) → `beforeTask` may answer synchronously
//   (input_required, immediate result); otherwise the task is stored, its work starts on this
//   replica, and the answer is a flat CreateTaskResult (`resultType: "task"`);
// - a `required` task tool without the opt-in → -32021 naming the extension;
// - anything else → the SDK's own handler, untouched.
// `tasks/*` without the opt-in are -32021; an unknown (or expired, or someone else's) task id is
// -32602. `tasks/result` and `tasks/list` stay unknown to the 2026-07-28 codec (-32601), and the
// SDK stamps `resultType: "complete"` on every other response. Mcp-Name is checked against
// `params.taskId` by the SDK's header rung.
//
// The SDK (2.4) has no public hook to run before McpServer's `tools/call` handler — which turns any
// error into an isError result and validates results as CallToolResult — so the dispatcher takes
// that handler's place in the server's handler table and calls it for everything it does not own.

import {
  CLIENT_CAPABILITIES_META_KEY,
  MissingRequiredClientCapabilityError,
  ProtocolError,
  ProtocolErrorCode,
  type McpServer,
  type Server,
} from "@modelcontextprotocol/server";
import * as z from "zod";
import { taskToolsOf, type TaskToolDefinition } from "../../deployments/task-tool.ts";
import type { TaskRecord, TaskRef } from "../../tasks/task-store.ts";
import type { TaskRunner } from "./task-runner.ts";

export const TASKS_EXTENSION = "io.modelcontextprotocol/tasks";

type Handler = (request: { method: string; params?: Record<string, unknown> }, ctx: SdkContext) => Promise<unknown>;

/** The parts of the SDK's ServerContext read here. */
interface SdkContext {
  mcpReq: {
    envelope?: Record<string, unknown>;
    inputResponses?: Record<string, unknown>;
  };
}

export interface TasksEnvironment {
  era: "legacy" | "modern";
  /** This replica's runner, built on first use (only servers with task tools need one). */
  runner: () => TaskRunner;
  /** The authenticated client id of this request (tasks are visible to it only), or null. */
  principal: string | null;
}

const taskIdParams = z.object({ taskId: z.string() }).passthrough();

/** Wires tasks into `server` when its factory registered task tools; returns it for chaining. */
export function attachTasks<S extends McpServer | Server>(server: S, env: TasksEnvironment): S {
  const tools = taskToolsOf(server);
  if (!tools || tools.size === 0) return server;
  const runner = env.runner();
  const low = (server as McpServer).server as Server;
  const handlers = (low as unknown as { _requestHandlers?: unknown })._requestHandlers;
  const original = handlers instanceof Map ? (handlers.get("tools/call") as Handler | undefined) : undefined;
  if (!(handlers instanceof Map) || typeof original !== "function") {
    throw new Error(
      "stingray: cannot serve task tools with this version of @modelcontextprotocol/server (no tools/call entry in the server's handler table; tested with 2.4)",
    );
  }
  handlers.set("tools/call", ((request, ctx) => {
    const name = request.params?.name;
    const definition = typeof name === "string" ? tools.get(name) : undefined;
    if (!definition) return original(request, ctx);
    if (!(env.era === "modern" && optedIn(ctx))) {
      if (definition.taskSupport === "required") throw missingCapability(`tool ${name} runs only as a task`);
      return original(request, ctx);
    }
    return startTask(definition, request.params ?? {}, ctx, runner, env.principal);
  }) satisfies Handler);

  // 2025-era clients have no per-request opt-in: their task tools run synchronously (or -32021).
  if (env.era !== "modern") return server;
  low.registerCapabilities({ extensions: { [TASKS_EXTENSION]: {} } });
  const ref = (taskId: string): TaskRef => ({ scope: runner.scope, taskId, principal: env.principal });
  const store = runner.store;
  low.setRequestHandler("tasks/get", { params: taskIdParams }, async (params, ctx) => {
    requireOptIn(ctx as unknown as SdkContext);
    return detailedTask(known(await store.get(ref(params.taskId)), params.taskId));
  });
  low.setRequestHandler("tasks/update", { params: taskIdParams }, async (params, ctx) => {
    const sdk = ctx as unknown as SdkContext;
    requireOptIn(sdk);
    // The SDK lifts `inputResponses` off the params and keeps the well-formed ones (the rest are
    // ignored, as the extension asks for keys that are not outstanding).
    known(await store.respond(ref(params.taskId), sdk.mcpReq.inputResponses ?? {}), params.taskId);
    return {};
  });
  low.setRequestHandler("tasks/cancel", { params: taskIdParams }, async (params, ctx) => {
    requireOptIn(ctx as unknown as SdkContext);
    known(await store.cancel(ref(params.taskId)), params.taskId);
    return {};
  });
  return server;
}

async function startTask(
  definition: TaskToolDefinition,
  params: Record<string, unknown>,
  ctx: SdkContext,
  runner: TaskRunner,
  principal: string | null,
) {
  const args = await validateArgs(definition, params.arguments ?? {});
  if (definition.beforeTask) {
    const early = await definition.beforeTask(args, ctx);
    if (early !== undefined) return early;
  }
  const record = await runner.start({
    definition,
    args,
    principal,
    inputResponses: ctx.mcpReq.inputResponses ?? {},
  });
  return { resultType: "task", ...taskFields(record) };
}

async function validateArgs(definition: TaskToolDefinition, raw: unknown): Promise<unknown> {
  if (!definition.inputSchema) return raw;
  const outcome = (await definition.inputSchema["~standard"].validate(raw)) as
    | { value: unknown; issues?: undefined }
    | { issues: ReadonlyArray<{ message: string; path?: ReadonlyArray<unknown> }> };
  if (outcome.issues) {
    const detail = outcome.issues.map((i) => `${(i.path ?? []).map(pathKey).join(".") || "(arguments)"}: ${i.message}`).join("; ");
    throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Input validation error: Invalid arguments for tool ${definition.name}: ${detail}`);
  }
  return outcome.value;
}

function pathKey(p: unknown): string {
  return typeof p === "object" && p !== null && "key" in p ? String((p as { key: unknown }).key) : String(p);
}

function optedIn(ctx: SdkContext): boolean {
  const caps = ctx.mcpReq.envelope?.[CLIENT_CAPABILITIES_META_KEY] as { extensions?: Record<string, unknown> } | undefined;
  return caps?.extensions?.[TASKS_EXTENSION] !== undefined;
}

function requireOptIn(ctx: SdkContext): void {
  if (!optedIn(ctx)) throw missingCapability("tasks/* need it");
}

function missingCapability(why: string): Error {
  return new MissingRequiredClientCapabilityError(
    { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } },
    `Missing required client capability: the ${TASKS_EXTENSION} extension (${why})`,
  );
}

function known(record: TaskRecord | undefined, taskId: string): TaskRecord {
  if (!record) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Failed to retrieve task: Task not found (${taskId})`);
  return record;
}

/** The Task fields shared by CreateTaskResult and tasks/get. */
function taskFields(r: TaskRecord): Record<string, unknown> {
  return {
    taskId: r.taskId,
    status: r.status,
    ...(r.statusMessage !== undefined ? { statusMessage: r.statusMessage } : {}),
    createdAt: new Date(r.createdAtMs).toISOString(),
    lastUpdatedAt: new Date(r.lastUpdatedAtMs).toISOString(),
    ttlMs: r.ttlMs,
    pollIntervalMs: r.pollIntervalMs,
  };
}

/** tasks/get: the task with its status's payload inlined (DetailedTask). */
function detailedTask(r: TaskRecord): Record<string, unknown> {
  const fields = taskFields(r);
  if (r.status === "completed") return { ...fields, result: r.result ?? { content: [] } };
  if (r.status === "failed") return { ...fields, error: r.error ?? { code: -32603, message: "the task failed" } };
  if (r.status === "input_required") return { ...fields, inputRequests: r.inputRequests ?? {} };
  return fields;
}
