// The translator example's model loader against the committed tiny English→French T5
// (test/fixtures/models/stingray/tiny-t5-en-fr, built by scripts/make-tiny-translator), loaded
// offline through the real @huggingface/transformers + onnxruntime-node, in the main thread and
// in two worker threads at once (replicas load onnxruntime in several threads).

import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode } from "../../src/errors.ts";
import {
  T5_EN_FR_PREFIX,
  loadTranslatorModel,
  resolveTranslatorSettings,
  translationPrefix,
  type TranslatorModel,
} from "../../examples/lib/translator-model.ts";

const MODELS_DIR = fileURLToPath(new URL("../fixtures/models", import.meta.url));
const MODEL = "stingray/tiny-t5-en-fr";
const LOADER_URL = pathToFileURL(fileURLToPath(new URL("../../examples/lib/translator-model.ts", import.meta.url))).href;

// A sample of the phrasebook: single words, accents, apostrophes, hyphens, "?" and ",".
const PHRASES: [string, string][] = [
  ["Hello", "Bonjour"],
  ["Thank you very much", "Merci beaucoup"],
  ["I am sorry", "Je suis désolé"],
  ["How are you?", "Comment allez-vous ?"],
  ["My name is Paul", "Je m'appelle Paul"],
  ["The bill, please", "L'addition, s'il vous plaît"],
  ["See you tomorrow", "À demain"],
];

const offline = { modelDir: MODELS_DIR, model: MODEL, env: {} } as const;

async function translateAll(model: TranslatorModel): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for (const [en] of PHRASES) out.push([en, await model.translate(en)]);
  return out;
}

describe("translator model (tiny T5 fixture, offline)", () => {
  let fp32: TranslatorModel;
  beforeAll(async () => {
    fp32 = await loadTranslatorModel(offline);
  });
  afterAll(async () => {
    await fp32?.dispose();
  });

  it("translates phrasebook entries exactly in the main thread, on CPU, with the T5 prefix", async () => {
    expect(fp32.device).toBe("cpu");
    expect(fp32.modelType).toBe("t5");
    expect(fp32.prefix).toBe(T5_EN_FR_PREFIX);
    expect(await translateAll(fp32)).toEqual(PHRASES);
  });

  it("turns remote loading off when a model dir is set", async () => {
    const { env } = await import("@huggingface/transformers");
    expect(env.allowRemoteModels).toBe(false);
    expect(env.localModelPath).toBe(MODELS_DIR);
  });

  it("serves concurrent calls on one pipeline", async () => {
    const outs = await Promise.all(PHRASES.map(([en]) => fp32.translate(en)));
    expect(outs).toEqual(PHRASES.map(([, fr]) => fr));
  });

  it("returns an empty string for blank input without running the model", async () => {
    expect(await fp32.translate("   ")).toBe("");
  });

  it("loads the quantized files when TRANSLATOR_DTYPE=q8, configured only through env", async () => {
    const q8 = await loadTranslatorModel({
      env: { TRANSLATOR_MODEL: MODEL, TRANSLATOR_MODEL_DIR: MODELS_DIR, TRANSLATOR_DTYPE: "q8" },
    });
    try {
      expect(q8.settings).toMatchObject({ model: MODEL, modelDir: MODELS_DIR, dtype: "q8" });
      expect(await translateAll(q8)).toEqual(PHRASES);
    } finally {
      await q8.dispose();
    }
  });

  it("falls back to CPU with exactly one warning when the CUDA provider is missing", async () => {
    const warnings: string[] = [];
    const model = await loadTranslatorModel({
      ...offline,
      gpuIds: [3],
      cudaProbe: () => "libonnxruntime_providers_cuda.so is not installed",
      logger: { warn: (m) => warnings.push(m) },
    });
    try {
      expect(model.device).toBe("cpu");
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/GPU 3 .*libonnxruntime_providers_cuda\.so.*on CPU/);
      expect(await model.translate("Hello")).toBe("Bonjour");
    } finally {
      await model.dispose();
    }
  });

  it("tries the real CUDA provider with the replica's GPU id and falls back to CPU if it fails", async () => {
    const warnings: string[] = [];
    const model = await loadTranslatorModel({
      ...offline,
      gpuIds: [0],
      cudaProbe: () => undefined, // force the attempt even where the library is absent
      logger: { warn: (m) => warnings.push(m) },
    });
    try {
      if (model.device === "cuda") {
        expect(model.deviceId).toBe(0);
        expect(warnings).toEqual([]);
      } else {
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toMatch(/CUDA execution provider failed on GPU 0 .*on CPU/);
      }
      expect(await model.translate("Good night")).toBe("Bonne nuit");
    } finally {
      await model.dispose();
    }
  });
});

describe("translator model in worker threads", () => {
  it("loads and translates in two workers at once", async () => {
    const results = await Promise.all([runInWorker(PHRASES.slice(0, 4)), runInWorker(PHRASES.slice(3))]);
    expect(results[0]).toEqual({ device: "cpu", pairs: PHRASES.slice(0, 4) });
    expect(results[1]).toEqual({ device: "cpu", pairs: PHRASES.slice(3) });
  });
});

describe("translator model errors", () => {
  it("names TRANSLATOR_MODEL_DIR when the models directory does not exist", async () => {
    const missing = path.join(MODELS_DIR, "no-such-dir");
    const err = await loadTranslatorModel({ model: MODEL, env: { TRANSLATOR_MODEL_DIR: missing } }).catch((e) => e);
    expect(err.code).toBe(ErrorCode.INVALID_OPTIONS);
    expect(err.message).toContain("TRANSLATOR_MODEL_DIR");
    expect(err.message).toContain(missing);
  });

  it("names TRANSLATOR_MODEL and the expected path when the model is not under the dir", async () => {
    const err = await loadTranslatorModel({ modelDir: MODELS_DIR, model: "stingray/nope", env: {} }).catch((e) => e);
    expect(err.code).toBe(ErrorCode.INVALID_OPTIONS);
    expect(err.message).toContain("TRANSLATOR_MODEL");
    expect(err.message).toContain(path.join(MODELS_DIR, "stingray/nope", "config.json"));
  });

  it("names TRANSLATOR_DTYPE when the model has no files for that dtype", async () => {
    const err = await loadTranslatorModel({ ...offline, dtype: "q4" }).catch((e) => e);
    expect(err.code).toBe(ErrorCode.INVALID_OPTIONS);
    expect(err.message).toMatch(/TRANSLATOR_DTYPE.*encoder_model_q4\.onnx/);
  });

  it.each([
    [{ TRANSLATOR_DTYPE: "fp64" }, /TRANSLATOR_DTYPE.*"fp64"/],
    [{ TRANSLATOR_MODEL: "../etc/passwd" }, /TRANSLATOR_MODEL.*"\.\.\/etc\/passwd"/],
  ])("rejects bad env %o naming the variable", (env, pattern) => {
    let caught: unknown;
    try {
      resolveTranslatorSettings({ env });
    } catch (e) {
      caught = e;
    }
    expect((caught as { code?: string }).code).toBe(ErrorCode.INVALID_OPTIONS);
    expect((caught as Error).message).toMatch(pattern);
  });

  it("defaults to Xenova/t5-small, fp32, remote loading", () => {
    expect(resolveTranslatorSettings({ env: {} })).toEqual({
      model: "Xenova/t5-small",
      modelDir: undefined,
      dtype: "fp32",
      maxNewTokens: 256,
      gpuIds: [],
    });
  });
});

describe("translationPrefix", () => {
  it.each([
    ["t5 with t5-small's task params", { model_type: "t5", task_specific_params: { translation_en_to_fr: { prefix: "tr: " } } }, "tr: "],
    ["t5 without task params", { model_type: "t5" }, T5_EN_FR_PREFIX],
    ["mt5", { model_type: "mt5" }, T5_EN_FR_PREFIX],
    ["marian (opus-mt) needs none", { model_type: "marian" }, ""],
    ["a config.prefix the pipeline adds itself", { model_type: "t5", prefix: "x: " }, ""],
  ])("%s", (_name, config, expected) => {
    expect(translationPrefix(config)).toBe(expected);
  });
});

interface WorkerResult {
  device: string;
  pairs: [string, string][];
}

// Plain `worker_threads` (as the runtime's replicas use), loading the TypeScript loader through
// tsx's ESM hook, which Node 20 does not pass on to workers by itself.
function runInWorker(phrases: [string, string][]): Promise<WorkerResult> {
  const code = `
    const { parentPort, workerData } = require("node:worker_threads");
    (async () => {
      const { register } = await import("tsx/esm/api");
      register();
      const { loadTranslatorModel } = await import(workerData.loaderUrl);
      const model = await loadTranslatorModel({ modelDir: workerData.modelsDir, model: workerData.model, env: {} });
      const pairs = [];
      for (const en of workerData.inputs) pairs.push([en, await model.translate(en)]);
      await model.dispose();
      parentPort.postMessage({ device: model.device, pairs });
    })().catch((err) => parentPort.postMessage({ error: String(err && err.stack || err) }));
  `;
  const worker = new Worker(code, {
    eval: true,
    workerData: { loaderUrl: LOADER_URL, modelsDir: MODELS_DIR, model: MODEL, inputs: phrases.map(([en]) => en) },
  });
  return new Promise<WorkerResult>((resolve, reject) => {
    worker.once("message", (msg: WorkerResult & { error?: string }) =>
      msg.error ? reject(new Error(msg.error)) : resolve(msg),
    );
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`worker exited with code ${code} before answering`)));
  }).finally(() => worker.terminate());
}
