// The examples' small pure helpers, without threads or sockets: how a direct run picks logical
// GPUs and its port, the composition's text normalizer, and the translator's constructor-argument
// check (bad keys fail at bind time, naming the key).

import { describe, expect, it } from "vitest";
import { parsePort, resolveNumGpus } from "../../../examples/lib/direct-run.ts";
import { parseTranslatorConfig } from "../../../examples/lib/replica-translator.ts";
import { normalizeText, splitLines } from "../../../examples/lib/text-normalizer.ts";
import { build as buildComposition } from "../../../examples/composition.ts";
import { build as buildTranslator } from "../../../examples/translator.ts";
import { ErrorCode } from "../../../src/errors.ts";

describe("resolveNumGpus (direct runs)", () => {
  const detected = (ids: number[] | undefined) => async () => ids;

  it.each([
    ["NUM_GPUS wins over detection", { NUM_GPUS: "3" }, [0, 1], 3, 0],
    ["NUM_GPUS=0 is honoured", { NUM_GPUS: " 0 " }, undefined, 0, 0],
    ["detected GPUs: the runtime detects them itself", {}, [0, 1], undefined, 0],
    ["no GPU tool: one logical GPU, with a line", {}, undefined, 1, 1],
    ["the tool lists none: one logical GPU, with a line", { NUM_GPUS: "" }, [], 1, 1],
  ] as const)("%s", async (_name, env, ids, expected, lineCount) => {
    const lines: string[] = [];
    const n = await resolveNumGpus({ name: "translator", env, detectGpuIds: detected(ids as number[] | undefined), log: (l) => lines.push(l) });
    expect(n).toBe(expected);
    expect(lines).toHaveLength(lineCount);
    for (const l of lines) expect(l).toMatch(/^translator: no GPU detected; offering 1 logical GPU .*NUM_GPUS/);
  });

  it.each(["1.5", "-1", "two"])("rejects NUM_GPUS=%s naming the variable", async (raw) => {
    await expect(resolveNumGpus({ env: { NUM_GPUS: raw }, detectGpuIds: detected([]) })).rejects.toThrow(
      `NUM_GPUS must be a whole number of logical GPUs (0 or more), got "${raw}"`,
    );
  });
});

describe("parsePort", () => {
  it.each([
    [undefined, 8000],
    ["", 8000],
    ["0", 0],
    ["9000", 9000],
  ])("%s → %s", (raw, port) => expect(parsePort(raw)).toBe(port));

  it.each(["80.5", "-1", "65536", "http"])("rejects PORT=%s", (raw) => {
    expect(() => parsePort(raw)).toThrow(/PORT must be an integer from 0 to 65535/);
  });
});

describe("normalizeText", () => {
  it.each([
    ["  how are   you?", "How are you?"],
    ["my name is Paul", "My name is Paul"],
    ["do you speak English?", "Do you speak English?"],
    ["\t\n  ", ""],
    ["e\u0301t\u00e9", "\u00c9t\u00e9"], // decomposed é → NFC, then capitalised
    ["über alles", "Über alles"],
  ])("%j → %j", (input, expected) => expect(normalizeText(input)).toBe(expected));

  it("splits text into non-empty trimmed lines", () => {
    expect(splitLines(" Hello \r\n\n Goodbye\n")).toEqual(["Hello", "Goodbye"]);
  });
});

describe("translator constructor arguments", () => {
  it("accepts the loader's settings", () => {
    expect(parseTranslatorConfig({ model: "Xenova/opus-mt-en-fr", dtype: "q8" }, "x")).toEqual({ model: "Xenova/opus-mt-en-fr", dtype: "q8" });
    expect(parseTranslatorConfig(undefined, "x")).toEqual({});
  });

  it.each([
    [{ modle: "Xenova/t5-small" }, /translator args: invalid translator option modle/],
    [{ maxNewTokens: "10" }, /translator args: invalid translator option maxNewTokens/],
  ])("rejects %j in the builder, naming the key", (args, pattern) => {
    let caught: unknown;
    try {
      buildTranslator(args as never);
    } catch (err) {
      caught = err;
    }
    expect((caught as { code?: string }).code).toBe(ErrorCode.INVALID_OPTIONS);
    expect((caught as Error).message).toMatch(pattern);
  });

  it("the composition builder checks its args the same way", () => {
    expect(() => buildComposition({ modelDir: 42 } as never)).toThrow(/composition args: invalid translator option modelDir/);
    expect(() => buildComposition({ modelDir: "/models", model: "owner/name" })).not.toThrow();
  });
});
