// Bearer auth on an application: 401/403 challenges, identity to tools, RFC 9728 metadata,
// sessions bound to the identity, tokens never forwarded or logged.

import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterEach, describe, expect, it } from "vitest";
import { ingress } from "../../../src/deployments/ingress.ts";
import { mcpApp } from "../../../src/deployments/mcp-app.ts";
import { BearerAuth } from "../../../src/ingress/auth.ts";
import { ACCEPT_BOTH, legacyInitialize, modernRequest, startProxy, type Harness } from "../../fixtures/ingress/harness.ts";
import { AuthMcp, TEST_TOKENS, ToolState, buildTestServer } from "../../fixtures/ingress/mcp-apps.ts";

process.env.STINGRAY_TEST_MCP_TOKENS = "env-token-aaa, env-token-bbb";

@ingress(
  mcpApp(buildTestServer, {
    auth: {
      tokensEnv: "STINGRAY_TEST_MCP_TOKENS",
      verify: async (token) => (token === "verified-ccc" ? { clientId: "carol", scopes: ["read"] } : null),
      requiredScopes: ["read"],
    },
  }),
)
class ScopedMcp extends ToolState {}

let h: Harness | undefined;
const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  await h?.close();
  h = undefined;
});

const logs: unknown[] = [];
const logger = {
  info: (o: object, m?: string) => logs.push([o, m]),
  warn: (o: object, m?: string) => logs.push([o, m]),
  error: (o: object, m?: string) => logs.push([o, m]),
};

async function start(): Promise<Harness> {
  h = await startProxy(
    [
      { appName: "secure", routePrefix: "/secure", cls: AuthMcp, replicas: 2 },
      { appName: "scoped", routePrefix: "/scoped", cls: ScopedMcp },
    ],
    { logger },
  );
  return h;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe("bearer auth", () => {
  it("answers 401 with a WWW-Authenticate challenge pointing at the resource metadata", async () => {
    const { url, port } = await start();
    const call = modernRequest("tools/list");
    const missing = await fetch(`${url}/secure/mcp`, { method: "POST", headers: call.headers, body: call.body });
    expect(missing.status).toBe(401);
    const challenge = missing.headers.get("www-authenticate")!;
    expect(challenge).toMatch(/^Bearer /);
    expect(challenge).toContain(`resource_metadata="http://127.0.0.1:${port}/.well-known/oauth-protected-resource/secure/mcp"`);
    expect(challenge).not.toContain("error=");
    const wrong = await fetch(`${url}/secure/mcp`, { method: "POST", headers: { ...call.headers, ...bearer("nope-nope") }, body: call.body });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("www-authenticate")).toContain('error="invalid_token"');
    expect(await wrong.json()).toEqual({ error: "invalid_token", error_description: "Invalid bearer token" });
    expect(h!.dispatcher.log.length).toBe(0);
  });

  it("serves RFC 9728 protected-resource metadata", async () => {
    const { url } = await start();
    const res = await fetch(`${url}/.well-known/oauth-protected-resource/secure/mcp`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      resource: `${url}/secure/mcp`,
      authorization_servers: ["https://auth.example.com"],
      scopes_supported: ["mcp"],
      bearer_methods_supported: ["header"],
    });
    expect((await fetch(`${url}/.well-known/oauth-protected-resource/elsewhere`)).status).toBe(404);
  });

  it("passes the identity (never the token) to tools, in both eras, through the SDK client", async () => {
    const { url } = await start();
    for (const mode of ["legacy", "auto"] as const) {
      const client = new Client({ name: "authed", version: "1" }, { versionNegotiation: { mode } });
      clients.push(client);
      await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/secure/mcp`), { requestInit: { headers: bearer(TEST_TOKENS.alice) } }));
      const result = await client.callTool({ name: "echo", arguments: { text: "who" } });
      expect((result as { content: Array<{ text: string }> }).content[0]!.text).toMatch(/^who\|(legacy|modern)\|alice\|/);
    }
    for (const { request } of h!.dispatcher.log) {
      expect(request.headers.some(([n]) => n === "authorization")).toBe(false);
      expect(request.auth).toEqual({ clientId: "alice", scopes: ["mcp"] });
    }
  });

  it("binds a session to the identity that opened it", async () => {
    const { url } = await start();
    const init = legacyInitialize();
    const opened = await fetch(`${url}/secure/mcp`, { method: "POST", headers: { ...init.headers, ...bearer(TEST_TOKENS.alice) }, body: init.body });
    expect(opened.status).toBe(200);
    const sid = opened.headers.get("mcp-session-id")!;
    await opened.text();
    const headers = { "content-type": "application/json", accept: ACCEPT_BOTH, "mcp-protocol-version": "2025-11-25", "mcp-session-id": sid };
    const body = JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" });
    const asBob = await fetch(`${url}/secure/mcp`, { method: "POST", headers: { ...headers, ...bearer(TEST_TOKENS.bob) }, body });
    expect(asBob.status).toBe(404);
    expect((await asBob.json()).error.code).toBe(-32001);
    const asAlice = await fetch(`${url}/secure/mcp`, { method: "POST", headers: { ...headers, ...bearer(TEST_TOKENS.alice) }, body });
    expect(asAlice.status).toBe(200);
    await asAlice.text();
  });

  it("accepts tokens from an environment variable and from a verifier; enforces required scopes", async () => {
    const { url } = await start();
    const call = modernRequest("tools/call", { name: "echo", arguments: { text: "s" } });
    const send = (token: string) => fetch(`${url}/scoped/mcp`, { method: "POST", headers: { ...call.headers, ...bearer(token) }, body: call.body });
    const envToken = await send("env-token-bbb");
    // Env tokens carry no scopes, and this app requires "read".
    expect(envToken.status).toBe(403);
    expect(envToken.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
    expect(envToken.headers.get("www-authenticate")).toContain('scope="read"');
    const verified = await send("verified-ccc");
    expect(verified.status).toBe(200);
    expect(JSON.stringify(await verified.json())).toContain("|modern|carol|");
    expect((await send("verified-ddd")).status).toBe(401);
  });

  it("never writes a token to the logs or request events", async () => {
    logs.length = 0;
    const { url } = await start();
    const call = modernRequest("tools/list");
    for (const token of [TEST_TOKENS.alice, "wrong-token-zzz", "env-token-aaa"]) {
      await (await fetch(`${url}/secure/mcp?access_token=${token}`, { method: "POST", headers: { ...call.headers, ...bearer(token) }, body: call.body })).text();
    }
    await new Promise((r) => setTimeout(r, 50));
    const written = JSON.stringify([logs, h!.events]);
    expect(logs.length).toBeGreaterThan(0);
    for (const token of [TEST_TOKENS.alice, "wrong-token-zzz", "env-token-aaa"]) expect(written).not.toContain(token);
  });

  it("matches static tokens by content, not prefix or length", async () => {
    const auth = new BearerAuth({ tokens: ["abc123", { token: "xyz789", clientId: "x", scopes: ["a"] }] });
    const check = (t: string) => auth.authenticate(`Bearer ${t}`, { url: "/", method: "POST" }, "http://h/m");
    expect(await check("abc123")).toMatchObject({ ok: true, identity: { clientId: "token-0" } });
    expect(await check("xyz789")).toMatchObject({ ok: true, identity: { clientId: "x", scopes: ["a"] } });
    for (const t of ["abc12", "abc1234", "ABC123", "xyz78"]) expect((await check(t)).ok).toBe(false);
    const malformed = await auth.authenticate("Basic abc123", { url: "/", method: "POST" }, "http://h/m");
    expect(malformed).toMatchObject({ ok: false, status: 401 });
  });
});
