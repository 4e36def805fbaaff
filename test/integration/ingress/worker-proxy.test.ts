// The proxy in front of real worker-thread replicas (the actor runtime, no serve layer): the
// ingress method runs in the worker, chunks cross the thread boundary as they are produced, and
// the call's cancellation reaches the handler.

import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { request as httpRequest } from "node:http";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProxy } from "../../../src/ingress/proxy.ts";
import type { Proxy } from "../../../src/ingress/types.ts";
import { ActorDispatcher } from "../../fixtures/ingress/actor-dispatcher.ts";
import { StreamApp } from "../../fixtures/ingress/fetch-apps.ts";
import { modernRequest, streamReader } from "../../fixtures/ingress/harness.ts";
import { SessionMcp, StatelessMcp, TimeoutMcp } from "../../fixtures/ingress/mcp-apps.ts";

const mcpModule = fileURLToPath(new URL("../../fixtures/ingress/mcp-apps.ts", import.meta.url));
const fetchModule = fileURLToPath(new URL("../../fixtures/ingress/fetch-apps.ts", import.meta.url));

let dispatcher: ActorDispatcher;
let proxy: Proxy;
let url: string;
const clients: Client[] = [];

beforeAll(async () => {
  dispatcher = new ActorDispatcher([
    { appName: "stream", routePrefix: "/stream", modulePath: fetchModule, exportName: "StreamApp", cls: StreamApp, replicas: 1 },
    { appName: "mcp", routePrefix: "/mcp-app", modulePath: mcpModule, exportName: "StatelessMcp", cls: StatelessMcp, replicas: 2 },
    { appName: "sess", routePrefix: "/sess", modulePath: mcpModule, exportName: "SessionMcp", cls: SessionMcp, replicas: 2 },
    { appName: "slow", routePrefix: "/slow", modulePath: mcpModule, exportName: "TimeoutMcp", cls: TimeoutMcp, replicas: 1 },
  ]);
  await dispatcher.start();
  proxy = createProxy({ host: "127.0.0.1", port: 0, dispatcher });
  const { port } = await proxy.listen();
  url = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  await proxy?.close();
  await dispatcher?.stop();
});

async function connect(path: string, mode: "legacy" | "auto"): Promise<Client> {
  const client = new Client({ name: "it", version: "1" }, { versionNegotiation: { mode }, capabilities: { sampling: {} } });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}${path}`)));
  clients.push(client);
  return client;
}

const textOf = (r: unknown) => (r as { content: Array<{ text: string }> }).content[0]!.text;

describe("proxy → worker-thread replicas", () => {
  it("delivers the first SSE event before the handler in the worker finishes", async () => {
    const res = await fetch(`${url}/stream/sse`);
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain("data: first");
    expect(await (await fetch(`${url}/stream/state`)).json()).toMatchObject({ finished: false });
    await (await fetch(`${url}/stream/open`)).text();
    let rest = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    expect(rest).toContain("data: second");
  });

  it("cancels the handler in the worker when the client disconnects", async () => {
    const req = httpRequest(`${url}/stream/hang`);
    req.on("error", () => {});
    req.end();
    let state = { started: 0, aborted: false };
    for (let i = 0; i < 500 && state.started === 0; i++) {
      state = await (await fetch(`${url}/stream/state`)).json();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(state.started).toBe(1);
    req.destroy();
    for (let i = 0; i < 500 && !state.aborted; i++) {
      state = await (await fetch(`${url}/stream/state`)).json();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(state.aborted).toBe(true);
  });

  it("serves both MCP eras through the SDK client, spread over two replicas", async () => {
    const tags = new Set<string>();
    for (const mode of ["legacy", "auto"] as const) {
      const client = await connect("/mcp-app/mcp", mode);
      for (let i = 0; i < 4; i++) {
        const [text, era, , greeting, tag] = textOf(await client.callTool({ name: "echo", arguments: { text: "w" } })).split("|");
        expect([text, era, greeting]).toEqual(["w", mode === "legacy" ? "legacy" : "modern", "hello from the replica"]);
        tags.add(tag!);
      }
    }
    expect(tags.size).toBe(2);
  });

  it("keeps a legacy session on one worker replica, with server→client sampling", async () => {
    const client = await connect("/sess/mcp", "legacy");
    client.setRequestHandler("sampling/createMessage", async () => ({ role: "assistant", model: "m", content: { type: "text", text: "ok" } }));
    const tags = new Set<string>();
    for (let i = 0; i < 4; i++) tags.add(textOf(await client.callTool({ name: "echo", arguments: { text: "s" } })).split("|")[4]!);
    expect(tags.size).toBe(1);
    expect(textOf(await client.callTool({ name: "sample", arguments: { prompt: "p" } }))).toBe("sampled: ok");
  });

  it("delivers a change event published on one replica to a listen stream on another", async () => {
    const listen = modernRequest("subscriptions/listen", { notifications: { toolsListChanged: true } }, 70);
    const aborter = new AbortController();
    const res = await fetch(`${url}/mcp-app/mcp`, { method: "POST", headers: listen.headers, body: listen.body, signal: aborter.signal });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const readUntil = streamReader(res);
    await readUntil("notifications/subscriptions/acknowledged");
    // Round robin over two replicas: the next request lands on the other one.
    const call = modernRequest("tools/call", { name: "change_tools", arguments: {} }, 71);
    const published = await fetch(`${url}/mcp-app/mcp`, { method: "POST", headers: call.headers, body: call.body });
    expect(published.status).toBe(200);
    await published.text();
    await readUntil("notifications/tools/list_changed");
    aborter.abort();
  });

  it("answers 504 past the deadline and the tool in the worker stops", async () => {
    const call = modernRequest("tools/call", { name: "slow", arguments: { ms: 30_000 } });
    const res = await fetch(`${url}/slow/mcp`, { method: "POST", headers: call.headers, body: call.body });
    expect(res.status).toBe(504);
    expect((await res.json()).error.code).toBe(-32000);
    const client = await connect("/slow/mcp", "auto");
    let stats = { slowAborted: 0, slowFinished: 0 };
    for (let i = 0; i < 200 && stats.slowAborted === 0; i++) {
      stats = JSON.parse(textOf(await client.callTool({ name: "stats", arguments: {} })));
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(stats).toMatchObject({ slowAborted: 1, slowFinished: 0 });
  });
});
