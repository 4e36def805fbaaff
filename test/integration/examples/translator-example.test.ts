// examples/translator.ts end to end with the project's tiny English→French model, offline:
// 1. in this process through serve.run (one logical GPU, ephemeral port), configured by the
//    example's `build({ model, modelDir })` builder rather than the environment;
// 2. as a user runs it: `node bin/stingray.js run examples/translator.ts:app --num-gpus 1`,
//    configured only through TRANSLATOR_MODEL / TRANSLATOR_MODEL_DIR.
// Both are called with the real MCP SDK client over HTTP: exact phrasebook translations, two
// 0.5-GPU replicas sharing GPU 0, and one CPU-fallback warning per replica.

import type { Client } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { build } from "../../../examples/translator.ts";
import { serve } from "../../../src/serve.ts";
import { startCli, type RunningCli } from "../cli/spawn-cli.ts";
import {
  FALLBACK_WARNING,
  MODELS_DIR,
  PHRASEBOOK,
  TINY_MODEL,
  TINY_MODEL_ENV,
  ClientPool,
  callTool,
  connect,
  replicaInfos,
  translate,
  type Era,
} from "./helpers.ts";

process.env.STINGRAY_LOG_LEVEL ??= "warn";

describe("examples/translator.ts through serve.run", () => {
  let endpoint: URL;
  const pool = new ClientPool(() => endpoint);
  const client = (era: Era): Promise<Client> => pool.open(era);

  beforeAll(async () => {
    // Nothing in the environment: the builder's args must be what reaches the replicas.
    delete process.env.TRANSLATOR_MODEL;
    delete process.env.TRANSLATOR_MODEL_DIR;
    await serve.start({ http: { host: "127.0.0.1", port: 0 }, numCpus: 2, numGpus: 1, handleSignals: false });
    await serve.run(build({ modelDir: MODELS_DIR, model: TINY_MODEL }), { name: "translator", routePrefix: "/translator" });
    endpoint = new URL(`${serve.address()}/translator/mcp`);
  }, 60_000);

  afterAll(async () => {
    await pool.closeAll();
    await serve.shutdown();
  });

  it("lists translate, translate_batch and model_info, with output schemas", async () => {
    const { tools } = await (await client("modern")).listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["model_info", "translate", "translate_batch"]);
    const tr = tools.find((t) => t.name === "translate")!;
    expect(tr.inputSchema.required).toEqual(["text"]);
    expect(Object.keys(tr.outputSchema?.properties ?? {}).sort()).toEqual(["device", "gpuIds", "replicaId", "text", "translation"]);
  });

  it("translates every phrasebook entry exactly (2026-07-28 client, concurrent calls)", async () => {
    const c = await client("modern");
    const results = await Promise.all(PHRASEBOOK.map(({ en }) => translate(c, en)));
    expect(results.map((r) => [r.structured.text, r.text])).toEqual(PHRASEBOOK.map(({ en, fr }) => [en, fr]));
    for (const r of results) {
      expect(r.isError).toBe(false);
      expect(r.structured.translation).toBe(r.text);
      expect(r.structured.gpuIds).toEqual([0]);
    }
    // 32 concurrent calls were spread over both replicas.
    expect(new Set(results.map((r) => r.structured.replicaId)).size).toBe(2);
  });

  it("translates for a 2025 (legacy) client too", async () => {
    const c = await client("legacy");
    for (const { en, fr } of PHRASEBOOK.slice(10, 16)) expect((await translate(c, en)).text).toBe(fr);
  });

  it("runs two 0.5-GPU replicas that share GPU 0, each having warned once about the CPU fallback", async () => {
    const infos = await replicaInfos(await client("modern"), 2);
    expect(infos.size).toBe(2);
    for (const info of infos.values()) {
      expect(info).toMatchObject({ deploymentName: "Translator", gpuIds: [0], model: TINY_MODEL, modelType: "t5", dtype: "fp32" });
      if (info.device === "cpu") {
        expect(info.warnings).toHaveLength(1);
        expect(info.warnings[0]).toMatch(FALLBACK_WARNING);
      } else {
        expect(info.warnings).toEqual([]);
      }
    }
    // The scheduler agrees: each replica holds half of GPU 0.
    const deployment = serve.status().applications.find((a) => a.name === "translator")!.deployments.find((d) => d.name === "Translator")!;
    expect(deployment.replicas.map((r) => r.id).sort()).toEqual([...infos.keys()].sort());
    for (const r of deployment.replicas) {
      expect(r.gpuIds).toEqual([0]);
      expect(r.resources).toMatchObject({ GPU: 0.5 });
    }
  });

  it("rejects a text over the size limit with a tool error naming the limit", async () => {
    const r = await callTool(await client("modern"), "translate", { text: "a".repeat(2001) });
    expect(r.isError).toBe(true);
    expect(r.text).toContain("at most 2000 characters");
  });
});

describe("stingray run examples/translator.ts:app --num-gpus 1", () => {
  let run: RunningCli;
  let mcpUrl: string;

  beforeAll(async () => {
    run = startCli(["run", "examples/translator.ts:app", "--num-gpus", "1", "--num-cpus", "2", "--port", "0"], {
      env: { ...TINY_MODEL_ENV },
    });
    mcpUrl = (await run.waitFor(/ready at (http:\/\/127\.0\.0\.1:\d+\/mcp)/, 60_000))[1]!;
  }, 90_000);

  afterAll(async () => {
    await run?.stop("SIGKILL", 5_000);
  });

  it("serves exact translations to an MCP client in both eras", async () => {
    for (const era of ["modern", "legacy"] as const) {
      const c = await connect(mcpUrl, era);
      try {
        for (const { en, fr } of PHRASEBOOK.filter((_, i) => i % 4 === (era === "modern" ? 0 : 1))) {
          expect((await translate(c, en)).text).toBe(fr);
        }
      } finally {
        await c.close();
      }
    }
  });

  it("places both replicas on GPU 0 and logs the CPU fallback exactly once per replica", async () => {
    const c = await connect(mcpUrl, "modern");
    let infos;
    try {
      infos = await replicaInfos(c, 2);
    } finally {
      await c.close();
    }
    expect(infos.size).toBe(2);
    const { stderr } = run.output();
    for (const [id, info] of infos) {
      expect(info.gpuIds).toEqual([0]);
      const lines = stderr.split("\n").filter((l) => l.startsWith(`[replica ${id}] `));
      expect(lines.filter((l) => FALLBACK_WARNING.test(l))).toHaveLength(info.device === "cpu" ? 1 : 0);
    }
  });

  it("drains and exits 0 on SIGTERM", async () => {
    expect(await run.stop("SIGTERM", 20_000)).toBe(0);
    expect(run.output().stdout).toMatch(/shutting down \(SIGTERM\)/);
  }, 30_000);
});
