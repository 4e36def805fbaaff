// The Tasks extension on mcpApp, in one thread: an @ingress instance's fetch handler serves the
// requests directly (no proxy, no replicas; the handler keeps its own task store here). The same
// wire through two real replicas: test/integration/examples/tasks.test.ts and conformance.test.ts.

import { McpServer } from "@modelcontextprotocol/server";
import { describe, expect, it } from "vitest";
import { ErrorCode } from "../../../src/errors.ts";
import { registerTaskTool } from "../../../src/deployments/task-tool.ts";
import { ingressFetch } from "../../fixtures/ingress/in-process.ts";
import { TaskMcp } from "../../fixtures/ingress/task-apps.ts";
import { TASKS_EXTENSION, TasksClient } from "../../fixtures/mcp-tasks-client.ts";

const URL_ = "http://127.0.0.1/mcp";
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/;

function clients(): { tasks: TasksClient; plain: TasksClient; instance: TaskMcp } {
  const instance = new TaskMcp();
  const fetch = ingressFetch(instance);
  return { tasks: new TasksClient(URL_, { fetch }), plain: new TasksClient(URL_, { fetch, optIn: false }), instance };
}

const textOf = (r: unknown) => ((r as { content: Array<{ text: string }> }).content[0]!).text;

describe("Tasks on mcpApp (io.modelcontextprotocol/tasks)", () => {
  it("advertises the extension under capabilities.extensions", async () => {
    const { tasks } = clients();
    const discover = await tasks.ok("server/discover");
    expect((discover.capabilities as { extensions?: Record<string, unknown> }).extensions).toEqual({ [TASKS_EXTENSION]: {} });
  });

  it("answers an opted-in call with a flat CreateTaskResult stored before it returns, then inlines the result", async () => {
    const { tasks } = clients();
    const created = await tasks.callTool("wait", { ms: 150 });
    expect(created).toMatchObject({ resultType: "task", status: "working", ttlMs: 60_000, pollIntervalMs: 50 });
    expect(created.createdAt).toMatch(ISO);
    expect(created.lastUpdatedAt).toMatch(ISO);
    for (const absent of ["task", "result", "error", "inputRequests", "requestState", "ttl", "pollInterval", "content"]) expect(created).not.toHaveProperty(absent);
    const taskId = created.taskId as string;
    const working = await tasks.get(taskId);
    expect(working).toMatchObject({ taskId, status: "working", resultType: "complete" });
    expect(working).not.toHaveProperty("result");
    const done = await tasks.waitFor(taskId);
    expect(done).toMatchObject({ status: "completed", resultType: "complete", statusMessage: "waiting 150 ms on in-process" });
    expect(textOf(done.result)).toBe("waited 150 ms on in-process");
  });

  it("runs an optional task tool synchronously for a client that did not opt in, and refuses a required one with -32021", async () => {
    const { plain } = clients();
    const sync = await plain.callTool("wait", { ms: 1 });
    expect(sync).toMatchObject({ resultType: "complete" });
    expect(sync).not.toHaveProperty("taskId");
    expect(textOf(sync)).toBe("waited 1 ms on in-process");
    const refused = await plain.request("tools/call", { name: "must_task", arguments: {} });
    expect(refused.error).toMatchObject({ code: -32021, data: { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } } });
    for (const method of ["tasks/get", "tasks/update", "tasks/cancel"]) {
      const answer = await plain.request(method, { taskId: "some-task", ...(method === "tasks/update" ? { inputResponses: {} } : {}) });
      expect(answer.error?.code, method).toBe(-32021);
    }
  });

  it("answers -32602 for an unknown task id and -32601 for the removed tasks/result and tasks/list", async () => {
    const { tasks } = clients();
    for (const method of ["tasks/get", "tasks/cancel", "tasks/update"]) {
      const answer = await tasks.request(method, { taskId: "no-such-task", ...(method === "tasks/update" ? { inputResponses: {} } : {}) });
      expect(answer.error?.code, method).toBe(-32602);
    }
    expect((await tasks.request("tasks/result", { taskId: "x" })).error?.code).toBe(-32601);
    expect((await tasks.request("tasks/list", {})).error?.code).toBe(-32601);
  });

  it("cancels a running task with an empty ack (also once it is terminal) and aborts its work's signal", async () => {
    const { tasks, instance } = clients();
    const { taskId } = (await tasks.callTool("wait", { ms: 30_000 })) as { taskId: string };
    const ack = await tasks.ok("tasks/cancel", { taskId });
    expect(Object.keys(ack).filter((k) => k !== "_meta")).toEqual(["resultType"]);
    expect(ack.resultType).toBe("complete");
    expect((await tasks.get(taskId)).status).toBe("cancelled");
    expect((await tasks.ok("tasks/cancel", { taskId })).resultType).toBe("complete");
    await new Promise((r) => setTimeout(r, 20));
    expect(instance.aborted).toEqual([`${taskId}: the task was cancelled by the client`]);
    // The work's own ending (a rejection) does not change the cancelled record.
    expect((await tasks.get(taskId)).status).toBe("cancelled");
  });

  it("parks a task in input_required and resumes it with tasks/update", async () => {
    const { tasks } = clients();
    const { taskId } = (await tasks.callTool("ask")) as { taskId: string };
    const parked = await tasks.waitFor(taskId, (t) => t.status === "input_required");
    expect(Object.keys(parked.inputRequests as object)).toEqual(["color"]);
    expect((parked.inputRequests as { color: { method: string } }).color.method).toBe("elicitation/create");
    const ack = await tasks.ok("tasks/update", { taskId, inputResponses: { color: { action: "accept", content: { color: "teal" } } } });
    expect(ack.resultType).toBe("complete");
    const done = await tasks.waitFor(taskId);
    expect(done.status).toBe("completed");
    expect(textOf(done.result)).toBe("color: teal");
  });

  it("fails a task that threw a JSON-RPC error and completes one that threw anything else with isError", async () => {
    const { tasks } = clients();
    const failed = await tasks.waitFor(((await tasks.callTool("explode")) as { taskId: string }).taskId);
    expect(failed).toMatchObject({ status: "failed", error: { code: -32603, message: "exploded" } });
    expect(failed).not.toHaveProperty("result");
    const toolError = await tasks.waitFor(((await tasks.callTool("oops")) as { taskId: string }).taskId);
    expect(toolError).toMatchObject({ status: "completed", result: { isError: true, content: [{ type: "text", text: "plain failure" }] } });
  });

  it("fails a task whose result cannot be stored, saying so", async () => {
    const { tasks } = clients();
    const failed = await tasks.waitFor(((await tasks.callTool("unstorable")) as { taskId: string }).taskId);
    expect(failed.status).toBe("failed");
    expect((failed.error as { code: number; message: string }).code).toBe(-32603);
    expect((failed.error as { message: string }).message).toMatch(/^the task's result could not be stored: .*could not be cloned/);
  });

  it("forgets a task once its TTL ran out (-32602) and aborts its work", async () => {
    const { tasks } = clients();
    const created = await tasks.callTool("short_ttl");
    expect(created.ttlMs).toBe(200);
    await new Promise((r) => setTimeout(r, 250));
    expect((await tasks.request("tasks/get", { taskId: created.taskId })).error?.code).toBe(-32602);
  });

  it("validates task tool arguments before creating a task", async () => {
    const { tasks } = clients();
    const answer = await tasks.request("tools/call", { name: "wait", arguments: { ms: "soon" } });
    expect(answer.error?.code).toBe(-32602);
    expect(answer.error?.message).toMatch(/Invalid arguments for tool wait: ms:/);
  });
});

describe("registerTaskTool options", () => {
  const server = () => new McpServer({ name: "x", version: "1" });
  const run = () => ({ content: [] });

  it("fails at declaration, naming the option", () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ ttlMs: 1.5 }, /registerTaskTool\("t"\): option "ttlMs"/],
      [{ pollIntervalMs: 0 }, /option "pollIntervalMs"/],
      [{ taskSupport: "forbidden" }, /option "taskSupport"/],
      [{ inputSchema: { type: "object" } }, /option "inputSchema" must be a Standard Schema/],
      [{ ttl: 1000 }, /option "ttl" is not a known option/],
    ];
    for (const [config, message] of cases) {
      expect(() => registerTaskTool(server(), "t", config as never, run), JSON.stringify(config)).toThrow(message);
      try {
        registerTaskTool(server(), "t", config as never, run);
      } catch (err) {
        expect((err as { code?: string }).code).toBe(ErrorCode.INVALID_OPTIONS);
      }
    }
  });

  it("refuses a second task tool of the same name", () => {
    const s = server();
    registerTaskTool(s, "t", {}, run);
    expect(() => registerTaskTool(s, "t", {}, run)).toThrow(/already registered/);
  });
});
