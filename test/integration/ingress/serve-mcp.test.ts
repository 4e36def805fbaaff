// MCP through the whole runtime: serve.run starts the proxy, the controller starts two
// worker-thread replicas of an @ingress(mcpApp(...)) deployment, and the SDK's own client talks
// to it in both protocol eras. Legacy sessions stick to their replica (Ray Serve cannot do this
// with several replicas), a dead replica's sessions answer 404 and clients re-initialize.

import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serve } from "../../../src/serve.ts";
import { ACCEPT_BOTH } from "../../fixtures/ingress/harness.ts";
import { app } from "../../fixtures/ingress/serve-apps.ts";

// The runtime logs every request at info; keep the test output readable.
process.env.STINGRAY_LOG_LEVEL ??= "warn";

let endpoint: URL;
const clients: Client[] = [];

beforeAll(async () => {
  await serve.start({ http: { host: "127.0.0.1", port: 0 }, numCpus: 4, handleSignals: false });
  await serve.run(app, { name: "weather", routePrefix: "/weather" });
  endpoint = new URL(`${serve.address()}/weather/mcp`);
});

afterAll(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  await serve.shutdown();
});

async function connect(mode: "legacy" | "auto"): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const client = new Client({ name: "it", version: "1" }, { versionNegotiation: { mode }, capabilities: { sampling: {} } });
  const transport = new StreamableHTTPClientTransport(endpoint);
  await client.connect(transport);
  clients.push(client);
  return { client, transport };
}

const textOf = (r: unknown) => (r as { content: Array<{ text: string }> }).content[0]!.text;
const whoami = async (c: Client) => textOf(await c.callTool({ name: "whoami", arguments: {} })).split("|");

describe("MCP ingress through serve.run", () => {
  it("serves a 2026-07-28 client statelessly across both replicas", async () => {
    const { client, transport } = await connect("auto");
    expect(client.getNegotiatedProtocolVersion()).toBe("2026-07-28");
    expect(transport.sessionId).toBeUndefined();
    const replicas = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const [replica, era] = await whoami(client);
      expect(era).toBe("modern");
      replicas.add(replica!);
    }
    expect(replicas.size).toBe(2);
  });

  it("lets tools use state from the constructor and handles to other deployments", async () => {
    for (const mode of ["legacy", "auto"] as const) {
      const { client } = await connect(mode);
      expect(textOf(await client.callTool({ name: "forecast", arguments: { city: "Oslo" } }))).toBe("Oslo: snow, -3°C");
      expect(textOf(await client.callTool({ name: "greet", arguments: { name: "Ada" } }))).toBe("Hello, Ada!");
    }
  });

  it("keeps each 2025 session on one replica, with server→client sampling", async () => {
    const sessions = await Promise.all([connect("legacy"), connect("legacy"), connect("legacy"), connect("legacy")]);
    const owners = new Set<string>();
    for (const { client, transport } of sessions) {
      expect(transport.sessionId).toBeTruthy();
      client.setRequestHandler("sampling/createMessage", async () => ({ role: "assistant", model: "m", content: { type: "text", text: "yes" } }));
      const seen = new Set<string>();
      for (let i = 0; i < 5; i++) seen.add((await whoami(client))[0]!);
      expect(seen.size).toBe(1);
      owners.add([...seen][0]!);
      expect(textOf(await client.callTool({ name: "sample", arguments: {} }))).toBe("model said yes");
    }
    // The router placed the sessions; affinity kept them. With four sessions both replicas hold some
    // (power of two choices on in-flight counts, so not guaranteed: require at least one).
    expect(owners.size).toBeGreaterThanOrEqual(1);
  });

  it("answers 404 for a session whose replica died, and the client starts a new one", async () => {
    const { client, transport } = await connect("legacy");
    const [owner] = await whoami(client);
    const sid = transport.sessionId!;
    await client.callTool({ name: "crash", arguments: {} });
    const headers = { "content-type": "application/json", accept: ACCEPT_BOTH, "mcp-protocol-version": "2025-11-25", "mcp-session-id": sid };
    let status = 0;
    for (let i = 0; i < 200 && status !== 404; i++) {
      const res = await fetch(endpoint, { method: "POST", headers, body: JSON.stringify({ jsonrpc: "2.0", id: 5, method: "tools/list" }) });
      status = res.status;
      const body = await res.text();
      if (status === 404) expect(JSON.parse(body).error.code).toBe(-32001);
      else await new Promise((r) => setTimeout(r, 25));
    }
    expect(status).toBe(404);
    await client.close().catch(() => {});
    const fresh = await connect("legacy");
    expect(fresh.transport.sessionId).not.toBe(sid);
    const [replica] = await whoami(fresh.client);
    expect(replica).not.toBe(owner);
  });

  it("lists the route and reports health", async () => {
    const routes = await (await fetch(`${serve.address()}/-/routes`)).json();
    expect(routes).toMatchObject({ "/weather": "weather" });
    expect((await fetch(`${serve.address()}/-/healthz`)).status).toBe(200);
  });
});
