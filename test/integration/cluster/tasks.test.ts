// MCP Tasks across cluster nodes with real processes: one nats-server, three `stingray start
// --cluster` nodes, the ktasks app's two TaskWorker replicas on nodes b and c (0.8 CPU each; a has
// 0.5). Tasks are created through a's proxy (which has no replica), read through b, cancelled
// through c; then the node running a long task is killed with SIGKILL and another node reports the
// task `failed`, saying the node died, within a bound. The raw-HTTP tasks client speaks the wire
// (the SDK client rejects resultType task). Every wait is bounded; processes are stopped by pid.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TasksClient, type TaskView } from "../../fixtures/mcp-tasks-client.ts";
import { runCli } from "../cli/spawn-cli.ts";
import { replicasByNode, startNode, status, until, type ClusterNodeProcess } from "./cluster-helpers.ts";
import { startNatsServer, type NatsServer } from "./nats-server.ts";

let nats: NatsServer;
const nodes = new Map<string, ClusterNodeProcess>();

const NODE_FLAGS: Record<string, string[]> = {
  a: ["--num-cpus", "0.5"],
  b: ["--num-cpus", "1"],
  c: ["--num-cpus", "1"],
};

const tasksVia = (id: string): TasksClient => new TasksClient(`${nodes.get(id)!.address}/ktasks/mcp`);

/** tasks/get through `id` until `done` holds; errors (a node just died) are retried until the bound. */
function pollUntil(id: string, taskId: string, what: string, timeoutMs: number, done: (t: TaskView) => boolean): Promise<TaskView> {
  return until(what, timeoutMs, async () => {
    const t = await tasksVia(id).get(taskId);
    return done(t) ? t : undefined;
  });
}

beforeAll(async () => {
  nats = await startNatsServer();
  await Promise.all(Object.entries(NODE_FLAGS).map(async ([id, flags]) => nodes.set(id, await startNode(nats.url, id, flags))));
  const deployed = await runCli(["deploy", "test/fixtures/cluster/tasks.yaml", "--address", nodes.get("a")!.address], { timeoutMs: 80_000 });
  expect(deployed.code, deployed.stderr).toBe(0);
  await until("a TaskWorker replica RUNNING on b and on c", 60_000, async () => {
    const placed = replicasByNode(await status(nodes.get("a")!), "ktasks", "TaskWorker");
    return placed.b === 1 && placed.c === 1 ? true : undefined;
  });
}, 180_000);

afterAll(async () => {
  await Promise.all([...nodes.values()].map((n) => n.cli.stop("SIGKILL", 5_000)));
  await nats?.stop();
}, 30_000);

describe("MCP Tasks across cluster nodes (JetStream KV task store)", () => {
  it("a task created through a node without a replica completes, read through another node", { timeout: 60_000 }, async () => {
    const created = await until("tools/call work through a", 20_000, () => tasksVia("a").callTool("work", { steps: 3, stepMs: 100 }));
    const taskId = created.taskId as string;
    expect(created).toMatchObject({ resultType: "task", status: "working" });
    const done = await pollUntil("b", taskId, "completed through b", 20_000, (t) => t.status === "completed");
    const text = (done.result as { content: Array<{ text: string }> }).content[0]!.text;
    expect(text).toMatch(/^3 steps done on [bc]$/);
    // Every node reads the same record.
    for (const id of ["a", "b", "c"]) expect((await tasksVia(id).get(taskId)).status).toBe("completed");
  });

  it("a task cancelled through a third node is cancelled everywhere, and its work stops", { timeout: 60_000 }, async () => {
    const { taskId } = (await tasksVia("a").callTool("work", { steps: 600, stepMs: 100 })) as { taskId: string };
    const running = await pollUntil("b", taskId, "running", 20_000, (t) => /^step \d+\/600 on [bc]$/.test(String(t.statusMessage)));
    expect(running.status).toBe("working");
    const ack = await tasksVia("c").request("tasks/cancel", { taskId });
    expect(ack.error).toBeUndefined();
    for (const id of ["a", "b", "c"]) expect((await tasksVia(id).get(taskId)).status).toBe("cancelled");
    // The owner's node heard it over NATS and aborted the work.
    const owner = nodes.get(/on ([bc])$/.exec(String(running.statusMessage))![1]!)!;
    await until("the owner aborted the work", 10_000, async () => (owner.cli.output().stdout.includes(`[ktasks] task ${taskId} aborted on ${owner.id}`) ? true : undefined));
    const next = (await tasksVia("a").callTool("work", { steps: 2, stepMs: 50 })) as { taskId: string };
    expect((await pollUntil("c", next.taskId, "next completed", 20_000, (t) => t.status === "completed")).status).toBe("completed");
  });

  it("kill -9 of the node running a task: another node reads it failed, saying the node died", { timeout: 90_000 }, async () => {
    const { taskId } = (await tasksVia("a").callTool("work", { steps: 1_000, stepMs: 100 })) as { taskId: string };
    const running = await pollUntil("a", taskId, "running", 20_000, (t) => /on [bc]$/.test(String(t.statusMessage)));
    const victimId = /on ([bc])$/.exec(String(running.statusMessage))![1]!;
    const victim = nodes.get(victimId)!;
    const survivor = victimId === "b" ? "c" : "b";
    const killedAt = Date.now();
    process.kill(victim.cli.child.pid!, "SIGKILL");
    await victim.cli.exited;
    nodes.delete(victimId);
    const failed = await pollUntil(survivor, taskId, `failed through ${survivor}`, 20_000, (t) => t.status === "failed");
    const failedMs = Date.now() - killedAt;
    console.log(`[cluster tasks] node ${victimId} killed: its task read failed through ${survivor} after ${failedMs} ms`);
    expect(failed.error).toMatchObject({ code: -32603 });
    expect((failed.error as { message: string }).message).toMatch(new RegExp(`node running the task \\(${victimId}\\) died`));
    expect((await tasksVia("a").get(taskId)).status).toBe("failed");
    expect(failedMs).toBeLessThan(15_000);
  });
});
