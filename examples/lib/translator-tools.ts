// The MCP tools both translator examples expose, registered on a per-request McpServer: where the
// translation comes from is the caller's business (the replica's own model in
// examples/translator.ts, a handle to a model deployment in examples/composition.ts).
//
// Results carry structured content (with an output schema) naming the replica and GPU ids that
// did the work, so a client (and the tests) can see two 0.5-GPU replicas sharing a device.
// `translate_batch` is the long-running one: served as an MCP task (registerTaskTool).

import type { McpServer } from "@modelcontextprotocol/server";
import { registerTaskTool } from "stingray";
import * as z from "zod";
import type { TranslationResult, TranslatorInfo } from "./replica-translator.ts";

/** Long enough for a paragraph; the model's maxNewTokens bounds the work per call anyway. */
export const MAX_TEXT_CHARS = 2000;

export const textSchema = z
  .string()
  .max(MAX_TEXT_CHARS, { error: `must be at most ${MAX_TEXT_CHARS} characters` })
  .describe("English text to translate into French");

const translationShape = {
  text: z.string().describe("The English text the model was given"),
  translation: z.string().describe("The French translation"),
  replicaId: z.string().describe("The model replica that translated it"),
  gpuIds: z.array(z.number()).describe("GPU ids assigned to that replica"),
  device: z.enum(["cuda", "cpu"]).describe("Where inference ran"),
};
export const translationOutput = z.object(translationShape);

export const modelInfoOutput = z.object({
  replicaId: z.string(),
  deploymentName: z.string(),
  gpuIds: z.array(z.number()),
  device: z.enum(["cuda", "cpu"]),
  model: z.string(),
  modelType: z.string(),
  dtype: z.string(),
  warnings: z.array(z.string()),
});

export function registerTranslateTool(
  server: McpServer,
  translate: (text: string) => Promise<TranslationResult>,
  description = "Translate English text to French.",
): void {
  server.registerTool(
    "translate",
    { description, inputSchema: z.object({ text: textSchema }), outputSchema: translationOutput },
    async ({ text }) => {
      const result = await translate(text);
      return { content: [{ type: "text", text: result.translation }], structuredContent: { ...result } };
    },
  );
}

export function registerModelInfoTool(server: McpServer, info: () => Promise<TranslatorInfo> | TranslatorInfo): void {
  server.registerTool(
    "model_info",
    {
      description: "Which model the answering replica loaded, on which device, with which GPU ids.",
      inputSchema: z.object({}),
      outputSchema: modelInfoOutput,
    },
    async () => {
      const result = await info();
      return { content: [{ type: "text", text: JSON.stringify(result) }], structuredContent: { ...result } };
    },
  );
}

/** Sentences one `translate_batch` task takes at most. */
export const MAX_BATCH_SENTENCES = 1000;

/**
 * `translate_batch` as an MCP task (io.modelcontextprotocol/tasks): a client that opted in gets a
 * task id at once and polls `tasks/get`; the sentences are translated one after the other on the
 * replica that took the call, with "k/n translated" as the task's status message, and the task
 * stops between two sentences when the client cancels it (`tasks/cancel`). A client that did not
 * opt in gets the whole batch synchronously.
 */
export function registerTranslateBatchTool(
  server: McpServer,
  translate: (text: string) => Promise<TranslationResult>,
): void {
  registerTaskTool(
    server,
    "translate_batch",
    {
      description: "Translate a list of English sentences to French, as a task the client polls (or cancels).",
      inputSchema: z.object({ sentences: z.array(textSchema).min(1).max(MAX_BATCH_SENTENCES) }),
      pollIntervalMs: 250,
      ttlMs: 30 * 60_000,
    },
    async ({ sentences }, task) => {
      const translations: string[] = [];
      for (const sentence of sentences) {
        // Cancelled (or the TTL ran out): stop between two sentences.
        task.signal.throwIfAborted();
        translations.push((await translate(sentence)).translation);
        await task.setStatusMessage(`${translations.length}/${sentences.length} translated`);
      }
      return {
        content: [{ type: "text", text: translations.join("\n") }],
        structuredContent: { translations },
      };
    },
  );
}
