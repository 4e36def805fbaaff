// The translator model as one replica holds it: loaded once in the replica's async init with the
// GPU ids the scheduler assigned (getReplicaContext().gpuIds), plus what the replica reports about
// itself (model, device, GPU ids, the warnings it logged) so clients can see where work ran.
//
// Shared by examples/translator.ts (the model inside the MCP ingress) and examples/composition.ts
// (the model as its own GPU deployment behind a CPU ingress).
//
// Settings come from constructor arguments (bind(Translator, { model, modelDir })) or, when those
// are absent, from TRANSLATOR_MODEL / TRANSLATOR_MODEL_DIR / TRANSLATOR_DTYPE: the arguments cross
// the thread boundary with the bound application, so a config file's `args` work too.

import { z } from "zod";
import { InvalidOptionsError, getReplicaContext } from "stingray";
import { loadTranslatorModel, type TranslatorDtype, type TranslatorModel } from "./translator-model.ts";

/** What a deployment's constructor accepts: plain data, so it can travel to the worker thread. */
export interface TranslatorConfig {
  /** Model id (default env TRANSLATOR_MODEL, then Xenova/t5-small). */
  model?: string;
  /** Local models root; turns remote loading off (default env TRANSLATOR_MODEL_DIR). */
  modelDir?: string;
  /** "fp32" (default, env TRANSLATOR_DTYPE) or e.g. "q8" for the quantized files. */
  dtype?: TranslatorDtype;
  maxNewTokens?: number;
}

/** What a replica says about its model; serializable (it crosses threads and goes into MCP results). */
export interface TranslatorInfo {
  replicaId: string;
  deploymentName: string;
  /** GPU ids the scheduler assigned to this replica (two 0.5-GPU replicas share one). */
  gpuIds: number[];
  /** Where inference actually runs: "cuda" only when the CUDA provider loaded. */
  device: "cuda" | "cpu";
  model: string;
  modelType: string;
  dtype: string;
  /** Warnings this replica logged while loading (the CPU fallback, when it happened). */
  warnings: string[];
}

export interface TranslationResult {
  text: string;
  translation: string;
  replicaId: string;
  gpuIds: number[];
  device: "cuda" | "cpu";
}

// Shapes only: the loader validates values (and names the env variable) itself.
const configSchema = z
  .object({
    model: z.string().optional(),
    modelDir: z.string().optional(),
    dtype: z.string().optional(),
    maxNewTokens: z.number().optional(),
  })
  .strict();

/** Checks a constructor argument's shape, naming the bad key. */
export function parseTranslatorConfig(raw: unknown, where: string): TranslatorConfig {
  const parsed = configSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.code === "unrecognized_keys" ? issue.keys.join(", ") : issue.path.join(".") || "config";
    throw new InvalidOptionsError(`${where}: invalid translator option ${key}: ${issue.message}`);
  }
  return parsed.data as TranslatorConfig;
}

/** One replica's model. Build it in the constructor, `await load()` in the replica's `init()`. */
export class ReplicaTranslator {
  readonly #config: TranslatorConfig;
  readonly #warnings: string[] = [];
  #model: TranslatorModel | undefined;

  constructor(config: TranslatorConfig) {
    this.#config = config;
  }

  async load(): Promise<void> {
    const ctx = getReplicaContext();
    this.#model = await loadTranslatorModel({
      ...this.#config,
      gpuIds: ctx.gpuIds,
      // One line per replica, tagged so the logs say which replica fell back (and it is kept for info()).
      logger: {
        warn: (message) => {
          this.#warnings.push(message);
          console.warn(`[replica ${ctx.replicaId}] ${message}`);
        },
      },
    });
  }

  async translate(text: string): Promise<TranslationResult> {
    const model = this.#loaded();
    const ctx = getReplicaContext();
    return {
      text,
      translation: await model.translate(text),
      replicaId: ctx.replicaId,
      gpuIds: [...ctx.gpuIds],
      device: model.device,
    };
  }

  info(): TranslatorInfo {
    const model = this.#loaded();
    const ctx = getReplicaContext();
    return {
      replicaId: ctx.replicaId,
      deploymentName: ctx.deploymentName,
      gpuIds: [...ctx.gpuIds],
      device: model.device,
      model: model.settings.model,
      modelType: model.modelType,
      dtype: model.settings.dtype,
      warnings: [...this.#warnings],
    };
  }

  #loaded(): TranslatorModel {
    // The runtime only routes calls after init() resolved, so this is a bug guard, not a state.
    if (!this.#model) throw new Error("the translator model is not loaded yet (load() was not awaited)");
    return this.#model;
  }
}
