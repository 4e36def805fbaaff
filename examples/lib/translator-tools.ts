// The MCP tools both translator examples expose, registered on a per-request McpServer: where the
// translation comes from is the caller's business (the replica's own model in
// examples/translator.ts, a handle to a model deployment in examples/composition.ts).
//
// Results carry structured content (with an output schema) naming the replica and GPU ids that
// did the work, so a client (and the tests) can see two 0.5-GPU replicas sharing a device.

import type { McpServer } from "@modelcontextprotocol/server";
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
