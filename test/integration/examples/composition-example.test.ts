// examples/composition.ts end to end, offline, with the tiny English→French model:
// 1. in this process through serve.run (quantized model files): a CPU MCP ingress whose tools call a 0.5-GPU
//    TranslatorModel deployment (2 replicas) and a TextNormalizer through handles — an unawaited
//    response passed into another call, and a streaming handle reported as MCP progress;
// 2. run directly as a program (`tsx examples/composition.ts`), where a machine without a GPU gets
//    one logical GPU and says so.

import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import type { Client } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { build } from "../../../examples/composition.ts";
import type { TranslationResult } from "../../../examples/lib/replica-translator.ts";
import { serve } from "../../../src/serve.ts";
import { queryNvidiaSmiGpuIds } from "../../../src/runtime/resources.ts";
import {
  FALLBACK_WARNING,
  MODELS_DIR,
  PHRASEBOOK,
  ROOT,
  TINY_MODEL,
  TINY_MODEL_ENV,
  ClientPool,
  callTool,
  connect,
  freePort,
  replicaInfos,
  translate,
  waitFor,
  type Era,
} from "./helpers.ts";

process.env.STINGRAY_LOG_LEVEL ??= "warn";

const MESSY: Array<[input: string, normalized: string]> = [
  ["  how are   you?", "How are you?"],
  ["my name is Paul\n", "My name is Paul"],
  ["\tthe bill,   please ", "The bill, please"],
  ["see you tomorrow", "See you tomorrow"],
];
const frenchOf = (en: string) => PHRASEBOOK.find((p) => p.en === en)!.fr;

describe("examples/composition.ts through serve.run", () => {
  let endpoint: URL;
  const pool = new ClientPool(() => endpoint);
  const client = (era: Era): Promise<Client> => pool.open(era);

  beforeAll(async () => {
    await serve.start({ http: { host: "127.0.0.1", port: 0 }, numCpus: 2, numGpus: 1, handleSignals: false });
    // The quantized files (TRANSLATOR_DTYPE=q8 as a builder arg): same phrasebook, int8 weights.
    await serve.run(build({ modelDir: MODELS_DIR, model: TINY_MODEL, dtype: "q8" }), { name: "phrasebook", routePrefix: "/phrasebook" });
    endpoint = new URL(`${serve.address()}/phrasebook/mcp`);
  }, 60_000);

  afterAll(async () => {
    await pool.closeAll();
    await serve.shutdown();
  });

  it("deploys the graph: a CPU ingress, two 0.5-GPU model replicas on GPU 0, one CPU normalizer", () => {
    const app = serve.status().applications.find((a) => a.name === "phrasebook")!;
    const byName = new Map(app.deployments.map((d) => [d.name, d]));
    expect([...byName.keys()].sort()).toEqual(["PhrasebookMCP", "TextNormalizer", "TranslatorModel"]);
    expect(byName.get("TranslatorModel")!.replicas.map((r) => r.gpuIds)).toEqual([[0], [0]]);
    expect(byName.get("PhrasebookMCP")!.replicas.map((r) => r.gpuIds)).toEqual([[]]);
    expect(byName.get("TextNormalizer")!.replicas.map((r) => r.gpuIds)).toEqual([[]]);
  });

  it.each(["modern", "legacy"] as const)("normalizes, then translates exactly through the model deployment (%s era)", async (era) => {
    const c = await client(era);
    for (const [input, normalized] of MESSY) {
      const r = await translate(c, input);
      expect(r.isError).toBe(false);
      expect(r.text).toBe(frenchOf(normalized));
      expect(r.structured).toMatchObject({ text: normalized, translation: frenchOf(normalized), gpuIds: [0] });
      // The translation came from a TranslatorModel replica, not from the ingress.
      expect(r.structured.replicaId).toMatch(/^phrasebook#TranslatorModel#/);
    }
  });

  it("streams translate_many from the model deployment, one progress notification per phrase", async () => {
    const c = await client("modern");
    const phrases = PHRASEBOOK.slice(16, 24);
    // Lower-cased first letters and stray spaces: the normalizer puts them right before the model sees them.
    const inputs = phrases.map(({ en }) => `  ${en[0]!.toLowerCase()}${en.slice(1)}  `);
    const progress: Array<{ progress: number; total?: number; message?: string }> = [];
    const result = await c.callTool(
      { name: "translate_many", arguments: { texts: inputs } },
      { onprogress: (p) => progress.push({ progress: p.progress, total: p.total, message: p.message }) },
    );
    const { translations } = result.structuredContent as { translations: TranslationResult[] };
    expect(translations.map((t) => [t.text, t.translation])).toEqual(phrases.map(({ en, fr }) => [en, fr]));
    expect((result.content[0] as { text: string }).text).toBe(phrases.map(({ fr }) => fr).join("\n"));
    expect(progress).toEqual(phrases.map(({ fr }, i) => ({ progress: i + 1, total: phrases.length, message: fr })));
    // One streaming call: every item came from the same model replica.
    expect(new Set(translations.map((t) => t.replicaId)).size).toBe(1);
  });

  it("rejects an empty translate_many with a tool error naming the rule", async () => {
    const r = await callTool(await client("modern"), "translate_many", { texts: [] });
    expect(r.isError).toBe(true);
    expect(r.text).toContain("must list at least one phrase");
  });

  it("reports both model replicas through model_info: GPU 0 each, one CPU-fallback warning each", async () => {
    const infos = await replicaInfos(await client("modern"), 2);
    expect(infos.size).toBe(2);
    for (const info of infos.values()) {
      expect(info).toMatchObject({ deploymentName: "TranslatorModel", gpuIds: [0], model: TINY_MODEL, modelType: "t5", dtype: "q8" });
      expect(info.warnings).toHaveLength(info.device === "cpu" ? 1 : 0);
      for (const w of info.warnings) expect(w).toMatch(FALLBACK_WARNING);
    }
  });
});

describe("npx tsx examples/composition.ts (run directly)", () => {
  const TSX_CLI = createRequire(import.meta.url).resolve("tsx/cli");
  let child: ChildProcess;
  let output = "";
  let mcpUrl: URL;

  beforeAll(async () => {
    const port = await freePort();
    mcpUrl = new URL(`http://127.0.0.1:${port}/mcp`);
    const { NUM_GPUS: _n, ...env } = process.env;
    child = spawn(process.execPath, [TSX_CLI, "examples/composition.ts"], {
      cwd: ROOT,
      env: { ...env, ...TINY_MODEL_ENV, PORT: String(port), STINGRAY_LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    await waitFor(() => {
      if (child.exitCode !== null) throw new Error(`examples/composition.ts exited early (${child.exitCode}):\n${output}`);
      return output.includes(`composition MCP server listening on http://127.0.0.1:${port}/mcp`);
    }, "the listening line", 60_000);
  }, 90_000);

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await gone;
    }
  });

  it("offers one logical GPU on a machine without one, and says so once", async () => {
    const detected = (await queryNvidiaSmiGpuIds()) ?? [];
    const lines = output.split("\n").filter((l) => l.includes("offering 1 logical GPU"));
    expect(lines).toHaveLength(detected.length === 0 ? 1 : 0);
  });

  it("serves translations over MCP", async () => {
    const c = await connect(mcpUrl, "modern");
    try {
      expect((await translate(c, "happy   birthday")).text).toBe(frenchOf("Happy birthday"));
      expect((await callTool(c, "translate_many", { texts: ["Welcome", "Cheers"] })).text).toBe(
        [frenchOf("Welcome"), frenchOf("Cheers")].join("\n"),
      );
    } finally {
      await c.close();
    }
  });

  it("shuts down on SIGTERM", async () => {
    const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal })),
    );
    child.kill("SIGTERM");
    expect(await done, output).toEqual({ code: 143, signal: null });
  }, 30_000);
});
