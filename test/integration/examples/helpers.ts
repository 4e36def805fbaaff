// Shared by the translator and composition example tests: the tiny model's phrasebook, the real
// SDK client in either protocol era, typed tool calls, and a poll that keeps asking `model_info`
// until every model replica has answered (the router picks replicas; we never assume which).

import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import type { TranslationResult, TranslatorInfo } from "../../../examples/lib/replica-translator.ts";

export { freePort } from "../../fixtures/free-port.ts";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const MODELS_DIR = path.join(ROOT, "test/fixtures/models");
export const TINY_MODEL = "stingray/tiny-t5-en-fr";
export const TINY_MODEL_ENV = { TRANSLATOR_MODEL_DIR: MODELS_DIR, TRANSLATOR_MODEL: TINY_MODEL } as const;

/** The 32 English→French pairs the tiny model memorised (the fixture's own record of them). */
export const PHRASEBOOK: ReadonlyArray<{ en: string; fr: string }> = JSON.parse(
  readFileSync(path.join(MODELS_DIR, TINY_MODEL, "phrasebook.json"), "utf8"),
).phrases;

/** The CPU-fallback line each replica prints once (see examples/lib/translator-model.ts). */
export const FALLBACK_WARNING = /GPU 0 assigned but CUDA is unavailable .* running stingray\/tiny-t5-en-fr on CPU/;

export type Era = "legacy" | "modern";

export async function connect(url: URL | string, era: Era): Promise<Client> {
  const client = new Client(
    { name: "examples-it", version: "1.0.0" },
    { versionNegotiation: { mode: era === "modern" ? { pin: "2026-07-28" } : "legacy" } },
  );
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

/** The MCP clients a suite opens against its endpoint, closed together in afterAll. */
export class ClientPool {
  readonly #clients: Client[] = [];
  readonly #endpoint: () => URL;

  /** `endpoint` is read at each open: suites learn their URL in beforeAll. */
  constructor(endpoint: () => URL) {
    this.#endpoint = endpoint;
  }

  async open(era: Era): Promise<Client> {
    const client = await connect(this.#endpoint(), era);
    this.#clients.push(client);
    return client;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.#clients.splice(0).map((c) => c.close().catch(() => {})));
  }
}

interface ToolOutcome<S> {
  text: string;
  structured: S;
  isError: boolean;
}

export async function callTool<S = Record<string, unknown>>(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
): Promise<ToolOutcome<S>> {
  const result = await client.callTool({ name, arguments: args });
  const first = result.content[0];
  return {
    text: first?.type === "text" ? first.text : JSON.stringify(first),
    structured: result.structuredContent as S,
    isError: result.isError === true,
  };
}

export const translate = (client: Client, text: string) => callTool<TranslationResult>(client, "translate", { text });

/** Calls model_info until `replicas` distinct replicas answered (or gives up), keyed by replica id. */
export async function replicaInfos(client: Client, replicas: number, maxCalls = 60): Promise<Map<string, TranslatorInfo>> {
  const seen = new Map<string, TranslatorInfo>();
  for (let i = 0; i < maxCalls && seen.size < replicas; i++) {
    // Several at once: the router's power-of-two choice spreads concurrent calls by in-flight count.
    const batch = await Promise.all([1, 2, 3].map(() => callTool<TranslatorInfo>(client, "model_info")));
    for (const r of batch) seen.set(r.structured.replicaId, r.structured);
  }
  return seen;
}

/** Polls until `check` holds; never a fixed sleep (the CI machine is small and shared). */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
