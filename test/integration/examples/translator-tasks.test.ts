// examples/translator.ts's `translate_batch` served as an MCP task (io.modelcontextprotocol/tasks)
// by two model replicas behind the proxy, with the project's tiny offline model: a client polls
// the task to completion (progress in its status message, exact translations inlined in the
// result) and cancels another mid-batch. Requests go over HTTP with the Tasks wire (the SDK 2.4
// client refuses `resultType: "task"`); every tasks/* request may land on either replica.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { build } from "../../../examples/translator.ts";
import { serve } from "../../../src/serve.ts";
import { TasksClient, type TaskView } from "../../fixtures/mcp-tasks-client.ts";
import { MODELS_DIR, PHRASEBOOK, TINY_MODEL } from "./helpers.ts";

process.env.STINGRAY_LOG_LEVEL ??= "warn";

describe("examples/translator.ts: translate_batch as a task", () => {
  let tasks: TasksClient;

  beforeAll(async () => {
    await serve.start({ http: { host: "127.0.0.1", port: 0 }, numCpus: 2, numGpus: 1, handleSignals: false });
    await serve.run(build({ modelDir: MODELS_DIR, model: TINY_MODEL }), { name: "translator", routePrefix: "/translator" });
    tasks = new TasksClient(`${serve.address()}/translator/mcp`);
  }, 60_000);

  afterAll(async () => {
    await serve.shutdown();
  });

  it("polls a batch to completion: progress while it runs, then every translation inlined", async () => {
    const created = await tasks.callTool("translate_batch", { sentences: PHRASEBOOK.map((p) => p.en) });
    expect(created).toMatchObject({ resultType: "task", status: "working", pollIntervalMs: 250, ttlMs: 1_800_000 });
    const seen = new Set<string>();
    const done = await tasks.waitFor(
      created.taskId as string,
      (t) => {
        if (typeof t.statusMessage === "string") seen.add(t.statusMessage);
        return t.status !== "working";
      },
      60_000,
    );
    expect(done.status).toBe("completed");
    expect(done.statusMessage).toBe(`${PHRASEBOOK.length}/${PHRASEBOOK.length} translated`);
    const result = done.result as { content: Array<{ text: string }>; structuredContent: { translations: string[] } };
    expect(result.structuredContent.translations).toEqual(PHRASEBOOK.map((p) => p.fr));
    expect(result.content[0]!.text).toBe(PHRASEBOOK.map((p) => p.fr).join("\n"));
    for (const message of seen) expect(message).toMatch(/^\d+\/32 translated$/);
  });

  it("cancels a long batch mid-way: an empty ack, then cancelled for good, and the replicas keep serving", async () => {
    const sentences = Array.from({ length: 1000 }, (_, i) => PHRASEBOOK[i % PHRASEBOOK.length]!.en);
    const { taskId } = (await tasks.callTool("translate_batch", { sentences })) as { taskId: string };
    const started = await tasks.waitFor(taskId, (t) => /^\d+\/1000 translated$/.test(String(t.statusMessage)), 30_000);
    expect(started.status).toBe("working");
    const ack = await tasks.ok("tasks/cancel", { taskId });
    expect(ack.resultType).toBe("complete");
    expect(ack).not.toHaveProperty("status");
    const cancelled: TaskView = await tasks.get(taskId);
    expect(cancelled.status).toBe("cancelled");
    expect(cancelled).not.toHaveProperty("result");
    // (That the work's signal aborts on cancel is checked in test/unit/ingress/mcp-tasks.test.ts.)
    const quick = await tasks.callTool("translate_batch", { sentences: [PHRASEBOOK[0]!.en] });
    const quickDone = await tasks.waitFor(quick.taskId as string, undefined, 10_000);
    expect((quickDone.result as { structuredContent: { translations: string[] } }).structuredContent.translations).toEqual([PHRASEBOOK[0]!.fr]);
    expect((await tasks.get(taskId)).status).toBe("cancelled");
  });

  it("still answers a client that did not opt in to tasks, synchronously", async () => {
    const plain = new TasksClient(`${serve.address()}/translator/mcp`, { optIn: false });
    const result = await plain.callTool("translate_batch", { sentences: PHRASEBOOK.slice(0, 3).map((p) => p.en) });
    expect(result.resultType).toBe("complete");
    expect((result.structuredContent as { translations: string[] }).translations).toEqual(PHRASEBOOK.slice(0, 3).map((p) => p.fr));
  });
});
