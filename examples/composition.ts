// Model composition behind one MCP endpoint, as in Ray Serve's "deploy compositions of models":
// a CPU-only MCP ingress (PhrasebookMCP) holds handles to two other deployments and calls them
// from its tools:
//
//   PhrasebookMCP (numCpus 0.2, MCP at /mcp)
//     ├── TranslatorModel ×2 (numGpus 0.5 each: both share GPU 0; loads the model once per replica)
//     └── TextNormalizer     (numCpus 0.1: whitespace, Unicode NFC, capitalisation)
//
//   export const app = bind(PhrasebookMCP, bind(TranslatorModel), bind(TextNormalizer));
//
// Tools:
//   translate({ text })        normalizer → model, the normalizer's response passed UNAWAITED into
//                              the model call (the runtime resolves it; no round trip through
//                              the ingress's own code)
//   translate_many({ texts })  the model deployment streams one translation per phrase (an async
//                              generator behind a streaming handle); each item is reported as an MCP
//                              progress notification when the client asks for progress
//   model_info()               what the model replica that answered loaded, and its GPU ids
//
// Run it like the translator example (same TRANSLATOR_* settings, PORT, HOST, NUM_GPUS):
//   npx tsx examples/composition.ts
//   npx stingray run examples/composition.ts:app --num-gpus 1
//   TRANSLATOR_MODEL_DIR=test/fixtures/models TRANSLATOR_MODEL=stingray/tiny-t5-en-fr npx tsx examples/composition.ts
//
// Only the TranslatorModel replicas ask for a GPU, so the ingress scales on CPU alone, and a
// machine without a GPU gets one logical GPU when run directly (see examples/lib/direct-run.ts).

import { McpServer } from "@modelcontextprotocol/server";
import * as z from "zod";
import { bind, deployment, ingress, mcpApp, type DeploymentHandle, type McpFactoryContext } from "stingray";
import { isEntryPoint, runDirect } from "./lib/direct-run.ts";
import {
  ReplicaTranslator,
  parseTranslatorConfig,
  type TranslationResult,
  type TranslatorConfig,
  type TranslatorInfo,
} from "./lib/replica-translator.ts";
import { normalizeText } from "./lib/text-normalizer.ts";
import { registerModelInfoTool, registerTranslateTool, textSchema, translationOutput } from "./lib/translator-tools.ts";

/** Most phrases one translate_many call takes. */
export const MAX_PHRASES = 64;

@deployment({ numReplicas: 1, actorOptions: { numCpus: 0.1 } })
export class TextNormalizer {
  normalize(text: string): string {
    return normalizeText(text);
  }

  normalizeAll(texts: string[]): string[] {
    return texts.map(normalizeText);
  }
}

@deployment({ numReplicas: 2, actorOptions: { numGpus: 0.5, numCpus: 0.5 } })
export class TranslatorModel {
  readonly #model: ReplicaTranslator;

  constructor(config?: TranslatorConfig) {
    this.#model = new ReplicaTranslator(parseTranslatorConfig(config, "TranslatorModel"));
  }

  async init(): Promise<void> {
    await this.#model.load();
  }

  translate(text: string): Promise<TranslationResult> {
    return this.#model.translate(text);
  }

  /** One result per phrase as soon as it is ready; the caller iterates a streaming handle. */
  async *translateEach(texts: string[]): AsyncGenerator<TranslationResult> {
    for (const text of texts) yield await this.#model.translate(text);
  }

  info(): TranslatorInfo {
    return this.#model.info();
  }
}

function buildPhrasebookServer(ctx: McpFactoryContext<PhrasebookMCP>): McpServer {
  const book = ctx.instance;
  const server = new McpServer({ name: "phrasebook", version: "1.0.0" });
  registerTranslateTool(server, (text) => book.translate(text), "Normalize English text, then translate it to French.");
  registerModelInfoTool(server, () => book.modelInfo());
  server.registerTool(
    "translate_many",
    {
      description: `Translate up to ${MAX_PHRASES} English phrases to French; reports progress per phrase.`,
      inputSchema: z.object({
        texts: z
          .array(textSchema)
          .min(1, { error: "must list at least one phrase" })
          .max(MAX_PHRASES, { error: `must list at most ${MAX_PHRASES} phrases` }),
      }),
      outputSchema: z.object({ translations: z.array(translationOutput) }),
    },
    async ({ texts }, extra) => {
      const token = extra.mcpReq._meta?.progressToken;
      const translations: TranslationResult[] = [];
      for await (const item of book.translateMany(texts, extra.mcpReq.signal)) {
        translations.push(item);
        if (token !== undefined) {
          await extra.mcpReq.notify({
            method: "notifications/progress",
            params: { progressToken: token, progress: translations.length, total: texts.length, message: item.translation },
          });
        }
      }
      return {
        content: [{ type: "text", text: translations.map((t) => t.translation).join("\n") }],
        structuredContent: { translations },
      };
    },
  );
  return server;
}

@deployment({ numReplicas: 1, actorOptions: { numCpus: 0.2 } })
@ingress(mcpApp(buildPhrasebookServer))
export class PhrasebookMCP {
  readonly #model: DeploymentHandle<TranslatorModel>;
  readonly #normalizer: DeploymentHandle<TextNormalizer>;

  constructor(model: DeploymentHandle<TranslatorModel>, normalizer: DeploymentHandle<TextNormalizer>) {
    this.#model = model;
    this.#normalizer = normalizer;
  }

  async translate(text: string): Promise<TranslationResult> {
    // Not awaited: the handle resolves the normalizer's response before calling the model.
    const normalized = this.#normalizer.normalize.remote(text);
    return this.#model.translate.remote(normalized);
  }

  /** Streams from one model replica; aborting `signal` (the MCP request's) cancels the stream there. */
  translateMany(texts: string[], signal?: AbortSignal): AsyncIterable<TranslationResult> {
    const model = this.#model.options({ stream: true, signal });
    return model.translateEach.remote(this.#normalizer.normalizeAll.remote(texts));
  }

  async modelInfo(): Promise<TranslatorInfo> {
    return this.#model.info.remote();
  }
}

export const app = bind(PhrasebookMCP, bind(TranslatorModel), bind(TextNormalizer));

/** For config files: `importPath: examples/composition.ts:build` with `args: { model, modelDir, dtype }`. */
export function build(args: TranslatorConfig = {}) {
  const config = parseTranslatorConfig(args, "composition args");
  return bind(PhrasebookMCP, bind(TranslatorModel, config), bind(TextNormalizer));
}

if (isEntryPoint(import.meta.url)) await runDirect(app, { name: "composition" });
