// The translator example's model: one @huggingface/transformers `translation` pipeline per
// replica, configured from the environment (TRANSLATOR_MODEL, TRANSLATOR_MODEL_DIR,
// TRANSLATOR_DTYPE) so the same code serves Xenova/t5-small, Xenova/opus-mt-en-fr or the
// project's tiny test model without code changes.
//
// Device: a replica that was assigned GPUs tries ONNX Runtime's CUDA provider on its first GPU
// id (fractional replicas share an id; a worker's env cannot set CUDA_VISIBLE_DEVICES for
// native code, so the id is passed to the provider). When the provider is missing or fails,
// the model runs on CPU and the caller's logger gets exactly one warning saying why.
//
// transformers.js is imported lazily: the example module is also imported by the main thread
// (to read its deployment), which must not load onnxruntime's native addon. It and onnxruntime-node
// are optional peer dependencies of stingray (only this example needs them): when one is missing,
// the replica fails to start with a MissingPackageError that names it.

import { existsSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { z } from "zod";
import { InvalidOptionsError } from "stingray";

export const DEFAULT_TRANSLATOR_MODEL = "Xenova/t5-small";
/** What T5 was trained with; Marian (opus-mt) models take plain text. */
export const T5_EN_FR_PREFIX = "translate English to French: ";

/** transformers.js dtypes; each selects `onnx/<name><suffix>.onnx`. */
const DTYPE_SUFFIX = {
  fp32: "",
  fp16: "_fp16",
  q8: "_quantized",
  int8: "_int8",
  uint8: "_uint8",
  q4: "_q4",
  q4f16: "_q4f16",
  bnb4: "_bnb4",
} as const;
export type TranslatorDtype = keyof typeof DTYPE_SUFFIX;

const T5_MODEL_TYPES = new Set(["t5", "mt5", "longt5"]);

export interface TranslatorLogger {
  warn(message: string): void;
}

export interface TranslatorModelOptions {
  /** Model id; default env TRANSLATOR_MODEL, then "Xenova/t5-small". */
  model?: string;
  /** Local models root (transformers.js env.localModelPath); when set, nothing is downloaded. Default env TRANSLATOR_MODEL_DIR. */
  modelDir?: string;
  /** Default env TRANSLATOR_DTYPE, then "fp32". "q8" loads the `*_quantized.onnx` files. */
  dtype?: TranslatorDtype;
  /** The replica's assigned GPU ids (replica context); empty or absent means CPU. */
  gpuIds?: readonly number[];
  /** Upper bound on generated tokens per call (default 256, the pipeline's own default). */
  maxNewTokens?: number;
  /** Receives the one CPU-fallback warning (default: console). */
  logger?: TranslatorLogger;
  /** Where TRANSLATOR_* are read from (default: process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Says why the CUDA provider cannot work before trying it (undefined: worth trying).
   * Default: checks that onnxruntime-node ships libonnxruntime_providers_cuda.so.
   */
  cudaProbe?: () => string | undefined;
}

export interface TranslatorSettings {
  model: string;
  /** Absolute, when set. */
  modelDir?: string;
  dtype: TranslatorDtype;
  maxNewTokens: number;
}

export interface TranslatorModel {
  readonly settings: TranslatorSettings;
  /** Where inference runs: "cuda" only if the CUDA provider actually loaded. */
  readonly device: "cuda" | "cpu";
  /** The GPU id given to the CUDA provider, when device is "cuda". */
  readonly deviceId?: number;
  /** config.json's model_type, e.g. "t5" or "marian". */
  readonly modelType: string;
  /** Prepended to every input ("" for models that need none). */
  readonly prefix: string;
  translate(text: string): Promise<string>;
  dispose(): Promise<void>;
}

// Model ids are "name" or "owner/name"; no "..", so a model dir cannot be escaped.
const modelIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_][\w.-]*(\/[A-Za-z0-9_][\w.-]*)?$/, "expected a model id like owner/name")
  .refine((s) => !s.includes(".."), "must not contain '..'");
const settingsSchema = z.object({
  model: modelIdSchema,
  modelDir: z.string().min(1, "must not be empty").optional(),
  dtype: z.enum(Object.keys(DTYPE_SUFFIX) as [TranslatorDtype, ...TranslatorDtype[]]),
  maxNewTokens: z.number().int().min(1).max(4096),
  gpuIds: z.array(z.number().int().min(0)),
});

const OPTION_SOURCES: Record<string, string> = {
  model: "model (env TRANSLATOR_MODEL)",
  modelDir: "modelDir (env TRANSLATOR_MODEL_DIR)",
  dtype: "dtype (env TRANSLATOR_DTYPE)",
  maxNewTokens: "maxNewTokens",
  gpuIds: "gpuIds",
};

/** Merges options over TRANSLATOR_* env vars and validates; throws InvalidOptionsError naming the option. */
export function resolveTranslatorSettings(
  options: TranslatorModelOptions = {},
): TranslatorSettings & { gpuIds: number[] } {
  const env = options.env ?? process.env;
  const raw = {
    model: options.model ?? nonEmpty(env.TRANSLATOR_MODEL) ?? DEFAULT_TRANSLATOR_MODEL,
    modelDir: options.modelDir ?? nonEmpty(env.TRANSLATOR_MODEL_DIR),
    dtype: options.dtype ?? nonEmpty(env.TRANSLATOR_DTYPE) ?? "fp32",
    maxNewTokens: options.maxNewTokens ?? 256,
    gpuIds: [...(options.gpuIds ?? [])],
  };
  const parsed = settingsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = String(issue.path[0] ?? "options");
    const value = (raw as Record<string, unknown>)[key];
    throw new InvalidOptionsError(
      `invalid translator option ${OPTION_SOURCES[key] ?? key}: ${issue.message} (got ${JSON.stringify(value)})`,
    );
  }
  const s = parsed.data;
  return { ...s, modelDir: s.modelDir === undefined ? undefined : path.resolve(s.modelDir) };
}

/** Why ONNX Runtime's CUDA provider cannot load here, or undefined if its library is installed. */
export function cudaProviderMissingReason(): string | undefined {
  if (process.platform !== "linux" || process.arch !== "x64") {
    return `onnxruntime-node has no CUDA provider for ${process.platform}/${process.arch}`;
  }
  try {
    // Resolve from transformers' own location: it pins its onnxruntime-node version.
    const fromTransformers = createRequire(createRequire(import.meta.url).resolve("@huggingface/transformers"));
    const pkg = fromTransformers.resolve("onnxruntime-node/package.json");
    const lib = path.join(path.dirname(pkg), "bin", "napi-v6", "linux", "x64", "libonnxruntime_providers_cuda.so");
    if (!existsSync(lib)) {
      return `${lib} is not installed (onnxruntime-node was installed with onnxruntime-node-install-cuda=skip or without CUDA 12)`;
    }
    return undefined;
  } catch (err) {
    return `cannot locate onnxruntime-node: ${(err as Error).message}`;
  }
}

/**
 * The example's packages that stingray itself does not install (optional peer dependencies):
 * transformers.js, and the ONNX Runtime binding it runs models with.
 */
export const TRANSLATOR_PACKAGES = ["@huggingface/transformers", "onnxruntime-node"] as const;

/** An optional package the translator needs is not installed; the message says what to install. */
export class MissingPackageError extends Error {
  readonly code = "ERR_TRANSLATOR_MISSING_PACKAGE";
  constructor(
    readonly packageName: string,
    options?: { cause?: unknown },
  ) {
    super(
      `the translator example needs the optional package ${packageName}, which is not installed: ` +
        `run \`npm install @huggingface/transformers\` (it brings onnxruntime-node)`,
      options,
    );
    this.name = "MissingPackageError";
  }
}

/**
 * Runs `load` (an import); a failure because one of `packages` is not installed becomes a
 * MissingPackageError naming it. Node says "Cannot find package 'x' imported from …".
 */
export async function importOptional<T>(load: () => Promise<T>, packages: readonly string[] = TRANSLATOR_PACKAGES): Promise<T> {
  try {
    return await load();
  } catch (err) {
    const message = err instanceof Error ? err.message : "";
    const missing = /Cannot find (?:package|module) '([^']+)'/.exec(message)?.[1];
    const name = packages.find((p) => missing === p || missing?.startsWith(`${p}/`));
    if (name !== undefined) throw new MissingPackageError(name, { cause: err });
    throw err;
  }
}

/** Loads the pipeline once; call it from the replica's constructor/async init. */
export async function loadTranslatorModel(options: TranslatorModelOptions = {}): Promise<TranslatorModel> {
  const { gpuIds, ...settings } = resolveTranslatorSettings(options);
  const logger = options.logger ?? console;
  if (settings.modelDir !== undefined) checkLocalModel(settings);

  const transformers = await importOptional(() => import("@huggingface/transformers"));
  configureModelSource(transformers.env, settings.modelDir);

  const base = { dtype: settings.dtype };
  let device: "cuda" | "cpu" = "cpu";
  let deviceId: number | undefined;
  let pipe: TranslationPipelineLike | undefined;
  if (gpuIds.length > 0) {
    const gpu = gpuIds[0]!;
    const missing = (options.cudaProbe ?? cudaProviderMissingReason)();
    if (missing !== undefined) {
      logger.warn(`translator: GPU ${gpu} assigned but CUDA is unavailable (${missing}); running ${settings.model} on CPU`);
    } else {
      try {
        pipe = (await transformers.pipeline("translation", settings.model, {
          ...base,
          device: "cuda",
          session_options: { executionProviders: [{ name: "cuda", deviceId: gpu }] },
        })) as unknown as TranslationPipelineLike;
        device = "cuda";
        deviceId = gpu;
      } catch (err) {
        logger.warn(
          `translator: CUDA execution provider failed on GPU ${gpu} (${firstLine(err)}); running ${settings.model} on CPU`,
        );
      }
    }
  }
  pipe ??= (await transformers.pipeline("translation", settings.model, {
    ...base,
    device: "cpu",
  })) as unknown as TranslationPipelineLike;

  const config = pipe.model.config;
  const modelType = String(config.model_type ?? "unknown");
  const prefix = translationPrefix(config);
  const loaded = pipe;
  return {
    settings,
    device,
    deviceId,
    modelType,
    prefix,
    async translate(text: string): Promise<string> {
      if (typeof text !== "string") throw new TypeError("translate(text): text must be a string");
      if (text.trim() === "") return "";
      const out = await loaded(prefix + text, { max_new_tokens: settings.maxNewTokens });
      const first = Array.isArray(out) ? out[0] : out;
      return first?.translation_text ?? "";
    },
    async dispose(): Promise<void> {
      await loaded.dispose();
    },
  };
}

interface TranslationPipelineLike {
  (text: string, options: { max_new_tokens: number }): Promise<
    { translation_text: string }[] | { translation_text: string }
  >;
  model: { config: Record<string, unknown> & { model_type?: string } };
  dispose(): Promise<void>;
}

interface TransformersEnvLike {
  localModelPath: string;
  allowRemoteModels: boolean;
  allowLocalModels: boolean;
}

// transformers.js keeps these in a module-global (per thread); remember its defaults so a
// later load without a model dir gets remote loading back.
let defaultSource: { localModelPath: string; allowRemoteModels: boolean } | undefined;

function configureModelSource(env: TransformersEnvLike, modelDir: string | undefined): void {
  defaultSource ??= { localModelPath: env.localModelPath, allowRemoteModels: env.allowRemoteModels };
  if (modelDir !== undefined) {
    env.localModelPath = modelDir;
    env.allowLocalModels = true;
    env.allowRemoteModels = false;
  } else {
    env.localModelPath = defaultSource.localModelPath;
    env.allowRemoteModels = defaultSource.allowRemoteModels;
  }
}

/** Fails early, naming the setting, instead of transformers.js' generic "file was not found". */
function checkLocalModel(s: TranslatorSettings): void {
  const dir = s.modelDir!;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new InvalidOptionsError(
      `invalid translator option ${OPTION_SOURCES.modelDir}: models directory ${dir} does not exist`,
    );
  }
  const modelPath = path.join(dir, s.model);
  if (!existsSync(path.join(modelPath, "config.json"))) {
    throw new InvalidOptionsError(
      `invalid translator option ${OPTION_SOURCES.model}: no model "${s.model}" under ${dir} ` +
        `(expected ${path.join(modelPath, "config.json")})`,
    );
  }
  const encoder = path.join(modelPath, "onnx", `encoder_model${DTYPE_SUFFIX[s.dtype]}.onnx`);
  if (!existsSync(encoder)) {
    throw new InvalidOptionsError(
      `invalid translator option ${OPTION_SOURCES.dtype}: dtype "${s.dtype}" needs ${encoder}, which does not exist`,
    );
  }
}

/** What to prepend for en→fr given a model's config.json: T5's task prefix, else nothing. */
export function translationPrefix(config: Record<string, unknown>): string {
  // The pipeline itself prepends config.prefix; adding ours too would double it.
  if (typeof config.prefix === "string" && config.prefix !== "") return "";
  if (!T5_MODEL_TYPES.has(String(config.model_type))) return "";
  const params = config.task_specific_params as Record<string, { prefix?: unknown }> | undefined;
  const fromConfig = params?.translation_en_to_fr?.prefix;
  return typeof fromConfig === "string" ? fromConfig : T5_EN_FR_PREFIX;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split("\n")[0]!.slice(0, 300);
}
