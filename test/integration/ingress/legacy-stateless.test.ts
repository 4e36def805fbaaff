// The stateless 2025-era leg of an MCP replica (src/ingress/mcp/legacy-stateless.ts) through the
// whole runtime, with raw HTTP: answers are SSE with the result (and a progress notification sent
// mid-call before it), and every per-request server is torn down — after its answer, and when its
// client leaves mid-call — so nothing accumulates in the replica.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serve } from "../../../src/serve.ts";
import { app } from "../../fixtures/ingress/legacy-teardown-app.ts";

process.env.STINGRAY_LOG_LEVEL ??= "warn";

let endpoint: string;
let nextId = 1;

beforeAll(async () => {
  await serve.start({ http: { host: "127.0.0.1", port: 0 }, numCpus: 2, handleSignals: false });
  await serve.run(app, { name: "counted", routePrefix: "/counted" });
  endpoint = `${serve.address()}/counted/mcp`;
}, 60_000);

afterAll(async () => {
  await serve.shutdown();
});

/** A 2025-11-25 tools/call without a session, as the v1 SDK client and mcp-remote send it. */
function call(name: string, args: Record<string, unknown> = {}, meta?: Record<string, unknown>, signal?: AbortSignal): Promise<Response> {
  return fetch(endpoint, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25" },
    body: JSON.stringify({ jsonrpc: "2.0", id: nextId++, method: "tools/call", params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) } }),
    signal,
  });
}

/** The JSON-RPC messages of an SSE body, in order. */
function events(text: string): Array<Record<string, unknown>> {
  return text
    .split(/\n\n/)
    .map((block) => block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n"))
    .filter((data) => data !== "")
    .map((data) => JSON.parse(data) as Record<string, unknown>);
}

async function counts(): Promise<{ built: number; closed: number }> {
  const res = await call("counts");
  const [message] = events(await res.text());
  return JSON.parse((message as { result: { content: Array<{ text: string }> } }).result.content[0]!.text) as { built: number; closed: number };
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("2025-era stateless requests in a replica", () => {
  it("answers as SSE, with a mid-call notification before the result", async () => {
    const res = await call("progress", {}, { progressToken: "p1" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const messages = events(await res.text());
    expect(messages.map((m) => m.method ?? "result")).toEqual(["notifications/progress", "result"]);
    expect(messages[1]).toMatchObject({ jsonrpc: "2.0", result: { content: [{ type: "text", text: "finished" }] } });
  });

  it("tears every exchange down once its answer is out", async () => {
    for (let i = 0; i < 20; i++) await (await call("progress")).text();
    // Every server but the one answering `counts` is closed (teardown may trail the answer a little).
    await waitFor(async () => {
      const { built, closed } = await counts();
      return closed === built - 1;
    }, "every finished exchange to be closed");
  });

  it("tears an exchange down when its client leaves mid-call", async () => {
    const before = await counts();
    const controller = new AbortController();
    const res = await call("slow", { ms: 30_000 }, undefined, controller.signal);
    expect(res.status).toBe(200); // the SSE head comes before the answer
    controller.abort();
    await waitFor(async () => {
      const { built, closed } = await counts();
      return built > before.built && closed === built - 1;
    }, "the abandoned exchange to be closed");
  });
});
