// Tasks outlive the replica that answered their tools/call only as records: a task's work runs on
// the replica that created it, and when that replica's thread dies the runtime marks the task
// `failed` with an error saying so, which any other replica of the deployment then reports. Two
// real replicas (worker threads) behind the proxy; the client speaks the Tasks wire over HTTP.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bind } from "../../../src/deployments/decorator.ts";
import { createLogger } from "../../../src/observability/logger.ts";
import { serve } from "../../../src/serve.ts";
import { TaskMcp } from "../../fixtures/ingress/task-apps.ts";
import { TasksClient } from "../../fixtures/mcp-tasks-client.ts";

const replicaIds = () =>
  serve.status().applications.find((a) => a.name === "tasks")!.deployments.find((d) => d.name === "TaskMcp")!.replicas.map((r) => r.id);

describe("a task whose replica dies", () => {
  let tasks: TasksClient;

  beforeAll(async () => {
    await serve.start({
      http: { host: "127.0.0.1", port: 0 },
      numCpus: 4,
      logger: createLogger({ level: "error" }),
      handleSignals: false,
    });
    await serve.run(bind(TaskMcp), { name: "tasks" });
    tasks = new TasksClient(`${serve.address()}/mcp`);
  }, 60_000);

  afterAll(async () => {
    await serve.shutdown();
  }, 60_000);

  it("is found by each of 20 concurrent polls while it runs, then completes", async () => {
    const { taskId } = (await tasks.callTool("wait", { ms: 1_500 })) as { taskId: string };
    const owner = /on (\S+)$/.exec(String((await tasks.waitFor(taskId, (t) => t.statusMessage !== undefined)).statusMessage))![1]!;
    expect(replicaIds()).toContain(owner);
    // Concurrent polls, which the proxy spreads over the replicas: every one finds the task.
    const polls = await Promise.all(Array.from({ length: 20 }, () => tasks.get(taskId)));
    expect(new Set(polls.map((t) => t.taskId))).toEqual(new Set([taskId]));
    const done = await tasks.waitFor(taskId);
    expect(done.status).toBe("completed");
  });

  it("is reported failed, saying the replica died, by the replica that is left", async () => {
    const before = replicaIds();
    expect(before).toHaveLength(2);
    const { taskId } = (await tasks.callTool("die_later", { ms: 300 })) as { taskId: string };
    const failed = await tasks.waitFor(taskId, undefined, 20_000);
    expect(failed.status).toBe("failed");
    expect(failed).not.toHaveProperty("result");
    expect(failed.error).toMatchObject({ code: -32603 });
    const message = (failed.error as { message: string }).message;
    expect(message).toMatch(/The task's replica is gone: replica \S+ died: its thread threw an uncaught Error: die_later: killing the replica on purpose/);
    const dead = /replica (\S+) died/.exec(message)![1]!;
    expect(before).toContain(dead);
    // It was answered by a live replica: the dead one is no longer among them.
    expect(replicaIds()).not.toContain(dead);
    expect(failed.statusMessage).toBe(message);
  });
});
