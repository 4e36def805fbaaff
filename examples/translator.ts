// The Ray Serve tutorial's translator as an MCP server: a `translate(text)` tool (English →
// French) backed by a @huggingface/transformers model that each replica loads once, in its async
// init, on the GPU the scheduler assigned it. Replicas ask for half a GPU each, so two share one
// device; autoscaling keeps 2 to 20 of them at 10 ongoing requests each.
//
//   npx tsx examples/translator.ts                                   # http://127.0.0.1:8000/mcp
//   npx stingray run examples/translator.ts:app --num-gpus 1         # the same app through the CLI
//   TRANSLATOR_MODEL_DIR=test/fixtures/models TRANSLATOR_MODEL=stingray/tiny-t5-en-fr \
//     npx tsx examples/translator.ts                                 # offline, the project's tiny model
//
// Tools: `translate` ({ text } → the French text, with structured content naming the replica, its
// GPU ids and device), `translate_batch` ({ sentences } → all translations; an MCP task that
// clients of the Tasks extension poll with tasks/get and may cancel) and `model_info` (what the
// answering replica loaded, and any warning it logged).
//
// Environment:
//   TRANSLATOR_MODEL      model id (default Xenova/t5-small); any T5- or Marian-style en→fr model
//                         in the transformers.js layout (Xenova/opus-mt-en-fr works too)
//   TRANSLATOR_MODEL_DIR  local models root with the model id as a folder under it; when set,
//                         nothing is downloaded
//   TRANSLATOR_DTYPE      fp32 (default) or q8 (the *_quantized.onnx files), …
//   PORT (default 8000; 0 = any free port), HOST (default 127.0.0.1)
//   NUM_GPUS              logical GPUs when run directly. Default: the GPUs nvidia-smi lists; on a
//                         machine with none, 1 logical GPU (a line says so) so both 0.5-GPU
//                         replicas are placed and run the model on CPU. Through the CLI, pass
//                         `--num-gpus 1` instead.
//
// GPU: a replica with a GPU id tries ONNX Runtime's CUDA provider on that id; when the provider is
// missing (this project installs onnxruntime-node without CUDA by default) it runs on CPU and logs
// exactly one warning. More replicas than GPU capacity allows (e.g. a 3rd one on 1 GPU) wait in
// PENDING and `stingray status` names GPU as the short resource.
//
// Every replica's worker thread, and the CLI, import this module to find the class; only running
// it as the program starts a runtime.

import { McpServer } from "@modelcontextprotocol/server";
import { bind, deployment, ingress, mcpApp, type McpFactoryContext } from "stingray";
import { isEntryPoint, runDirect } from "./lib/direct-run.ts";
import { ReplicaTranslator, parseTranslatorConfig, type TranslatorConfig } from "./lib/replica-translator.ts";
import { registerModelInfoTool, registerTranslateBatchTool, registerTranslateTool } from "./lib/translator-tools.ts";

function buildTranslatorServer(ctx: McpFactoryContext<Translator>): McpServer {
  const translator = ctx.instance;
  const server = new McpServer({ name: "translator", version: "1.0.0" });
  registerTranslateTool(server, (text) => translator.translate(text));
  registerTranslateBatchTool(server, (text) => translator.translate(text));
  registerModelInfoTool(server, () => translator.info());
  return server;
}

@deployment({
  autoscalingConfig: { minReplicas: 2, maxReplicas: 20, targetOngoingRequests: 10 },
  // The CPU share is small so that two GPU replicas still fit a 2-core machine next to others.
  actorOptions: { numGpus: 0.5, numCpus: 0.5 },
})
@ingress(mcpApp(buildTranslatorServer))
export class Translator {
  readonly #model: ReplicaTranslator;

  /** `config` overrides TRANSLATOR_* (e.g. `bind(Translator, { model: "Xenova/opus-mt-en-fr" })`). */
  constructor(config?: TranslatorConfig) {
    this.#model = new ReplicaTranslator(parseTranslatorConfig(config, "Translator"));
  }

  /** Ray's async __init__: runs once per replica before it takes traffic. */
  async init(): Promise<void> {
    await this.#model.load();
  }

  translate(text: string) {
    return this.#model.translate(text);
  }

  info() {
    return this.#model.info();
  }
}

export const app = bind(Translator);

/** For config files: `importPath: examples/translator.ts:build` with `args: { model, modelDir, dtype }`. */
export function build(args: TranslatorConfig = {}) {
  return bind(Translator, parseTranslatorConfig(args, "translator args"));
}

if (isEntryPoint(import.meta.url)) await runDirect(app, { name: "translator" });
