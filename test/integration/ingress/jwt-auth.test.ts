// JWT access tokens through the whole runtime: serve.run, replicas in worker threads, a local
// issuer publishing its JWKS on 127.0.0.1, tokens signed in the test, the SDK's own client in both
// eras. Valid tokens reach tools as an identity (never the token); expired, wrong-audience and
// wrong-issuer tokens get 401 invalid_token; after key rotation the proxy fetches the new key;
// missing scopes get 403 insufficient_scope and hidden tools; static tokens keep working; a rate
// limit answers 429 with Retry-After and is counted in /metrics.

import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bind } from "../../../src/deployments/decorator.ts";
import { serve } from "../../../src/serve.ts";
import { ACCEPT_BOTH, MODERN_META } from "../../fixtures/ingress/harness.ts";
import { JwksServer } from "../../fixtures/ingress/jwks-server.ts";

process.env.STINGRAY_LOG_LEVEL ??= "warn";

const WEATHER_AUD = "http://localhost/weather/mcp";
let issuer: JwksServer;
let base: string;
let STATIC_OPS_TOKEN: string;
const clients: Client[] = [];

beforeAll(async () => {
  issuer = await new JwksServer().start();
  process.env.STINGRAY_TEST_JWKS_URI = issuer.jwksUri;
  const apps = await import("../../fixtures/ingress/jwt-apps.ts");
  STATIC_OPS_TOKEN = apps.STATIC_OPS_TOKEN;
  await serve.start({ http: { host: "127.0.0.1", port: 0 }, numCpus: 4, handleSignals: false });
  await serve.run(bind(apps.JwtWeather), { name: "weather", routePrefix: "/weather" });
  await serve.run(bind(apps.LimitedWeather), { name: "limited", routePrefix: "/limited" });
  base = serve.address()!;
});

afterAll(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  await serve.shutdown();
  await issuer.close();
});

async function connect(path: string, token: string, mode: "legacy" | "auto"): Promise<Client> {
  const client = new Client({ name: "it", version: "1" }, { versionNegotiation: { mode } });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${base}${path}`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  clients.push(client);
  return client;
}

const textOf = (r: unknown) => (r as { content: Array<{ text: string }> }).content[0]!.text;
const reader = (claims: Record<string, unknown> = {}, aud = WEATHER_AUD) =>
  issuer.sign({ sub: "user-7", client_id: "weather-cli", scope: "weather:read", ...claims }, { audience: aud });

/** A raw 2026-07-28 POST, to look at status codes and headers the SDK client hides. */
function rawCall(path: string, token: string | undefined, method: string, params: Record<string, unknown> = {}) {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: ACCEPT_BOTH,
    "mcp-protocol-version": "2026-07-28",
    "mcp-method": method,
    ...(typeof params.name === "string" ? { "mcp-name": params.name } : {}),
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  };
  return fetch(`${base}${path}`, { method: "POST", headers, body: JSON.stringify({ jsonrpc: "2.0", id: 7, method, params: { ...params, _meta: MODERN_META } }) });
}

describe("JWT access tokens through serve.run", () => {
  it("hands the verified identity, never the token, to tools in both eras", async () => {
    const token = await reader();
    for (const mode of ["legacy", "auto"] as const) {
      const client = await connect("/weather/mcp", token, mode);
      const seen = JSON.parse(textOf(await client.callTool({ name: "whoami", arguments: {} })));
      expect(seen.factory).toMatchObject({ clientId: "weather-cli", subject: "user-7", scopes: ["weather:read"] });
      expect(seen.factory.extra.claims).toMatchObject({ iss: issuer.issuer, aud: WEATHER_AUD, sub: "user-7" });
      expect(seen.handler).toMatchObject({ clientId: "weather-cli", subject: "user-7", scopes: ["weather:read"], token: "" });
      expect(seen.handler.expiresAt).toBeGreaterThan(Date.now() / 1000);
      expect(textOf(await client.callTool({ name: "get_alerts", arguments: { state: "CA" } }))).toBe("no alerts for CA");
    }
  });

  it("answers 401 invalid_token for expired, wrong-audience and wrong-issuer tokens, without echoing them", async () => {
    const cases = [
      [await issuer.sign({ sub: "u" }, { audience: WEATHER_AUD, expiresInS: -60 }), "The token has expired"],
      [await reader({}, "http://localhost/limited/mcp"), "The token's audience is not this resource"],
      [await issuer.sign({ sub: "u" }, { audience: WEATHER_AUD, issuer: "https://evil.test" }), "The token was not issued by the accepted issuer"],
    ] as const;
    for (const [token, description] of cases) {
      const res = await rawCall("/weather/mcp", token, "tools/list");
      expect(res.status).toBe(401);
      const challenge = res.headers.get("www-authenticate")!;
      expect(challenge).toContain('error="invalid_token"');
      expect(challenge).toContain(`error_description="${description}"`);
      expect(challenge).toContain(`resource_metadata="${base}/.well-known/oauth-protected-resource/weather/mcp"`);
      const body = await res.text();
      expect(body).toContain(description);
      expect(body).not.toContain(token.split(".")[1]!);
      expect(challenge).not.toContain(token.split(".")[1]!);
    }
    const missing = await rawCall("/weather/mcp", undefined, "tools/list");
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).not.toContain("error=");
    // The SDK client surfaces the 401 as a failed connect.
    await expect(connect("/weather/mcp", cases[0][0], "auto")).rejects.toThrow();
  });

  it("lists the issuer as authorization server in the RFC 9728 metadata", async () => {
    const doc = await (await fetch(`${base}/.well-known/oauth-protected-resource/weather/mcp`)).json();
    expect(doc).toMatchObject({ resource: `${base}/weather/mcp`, authorization_servers: [issuer.issuer] });
    expect(doc.scopes_supported.sort()).toEqual(["admin", "weather:read"]);
  });

  it("fetches the issuer's new key after rotation, and refuses tokens signed with the old one", async () => {
    expect((await rawCall("/weather/mcp", await reader(), "tools/list")).status).toBe(200);
    await issuer.rotate();
    const fetches = issuer.fetches;
    const fresh = await reader();
    const client = await connect("/weather/mcp", fresh, "auto");
    expect(textOf(await client.callTool({ name: "get_alerts", arguments: { state: "WA" } }))).toBe("no alerts for WA");
    expect(issuer.fetches).toBe(fetches + 1);
    const stale = await issuer.sign({ sub: "u", scope: "weather:read" }, { audience: WEATHER_AUD, key: "stale" });
    const res = await rawCall("/weather/mcp", stale, "tools/list");
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain('error_description="No known key matches the token\'s key id"');
  });

  it("answers 403 insufficient_scope for a tool the token's scopes do not cover, and hides it from tools/list", async () => {
    const token = await reader();
    const res = await rawCall("/weather/mcp", token, "tools/call", { name: "admin_reset", arguments: {} });
    expect(res.status).toBe(403);
    const challenge = res.headers.get("www-authenticate")!;
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toContain('scope="admin"');
    expect(challenge).toContain("resource_metadata=");
    expect(await res.json()).toEqual({
      jsonrpc: "2.0",
      id: 7,
      error: { code: -32000, message: "Forbidden: Not allowed to use tool admin_reset", data: { requiredScopes: ["admin"] } },
    });
    const nobody = await reader({ scope: "profile" });
    const prompt = await rawCall("/weather/mcp", nobody, "prompts/get", { name: "summarize" });
    expect(prompt.status).toBe(403);
    expect(prompt.headers.get("www-authenticate")).toContain('scope="weather:read"');

    for (const mode of ["legacy", "auto"] as const) {
      const client = await connect("/weather/mcp", token, mode);
      const names = (await client.listTools()).tools.map((t) => t.name).sort();
      expect(names).toEqual(["get_alerts", "whoami"]);
      await expect(client.callTool({ name: "admin_reset", arguments: {} })).rejects.toThrow();
      const limited = await connect("/weather/mcp", nobody, mode);
      expect((await limited.listTools()).tools.map((t) => t.name)).toEqual(["whoami"]);
      expect((await limited.listPrompts()).prompts).toEqual([]);
    }
  });

  it("keeps static tokens working beside JWTs", async () => {
    for (const mode of ["legacy", "auto"] as const) {
      const client = await connect("/weather/mcp", STATIC_OPS_TOKEN, mode);
      expect(textOf(await client.callTool({ name: "admin_reset", arguments: {} }))).toBe("reset");
      expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(["admin_reset", "get_alerts", "whoami"]);
      expect(JSON.parse(textOf(await client.callTool({ name: "whoami", arguments: {} }))).factory).toMatchObject({ clientId: "ops" });
    }
  });

  it("keeps a session to the user who opened it, even for another user of the same client", async () => {
    const alice = await issuer.sign({ sub: "alice", client_id: "weather-cli", scope: "weather:read" }, { audience: WEATHER_AUD });
    const bob = await issuer.sign({ sub: "bob", client_id: "weather-cli", scope: "weather:read" }, { audience: WEATHER_AUD });
    const init = await fetch(`${base}/weather/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: ACCEPT_BOTH, authorization: `Bearer ${alice}` },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "1" } } }),
    });
    const sessionId = init.headers.get("mcp-session-id")!;
    expect(sessionId).toBeTruthy();
    await init.text();
    const asBob = await fetch(`${base}/weather/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: ACCEPT_BOTH, authorization: `Bearer ${bob}`, "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list", params: {} }),
    });
    expect(asBob.status).toBe(404);
  });

  it("answers 429 with Retry-After past the rate limit, per identity, and counts it in /metrics", async () => {
    const limitedAud = "http://localhost/limited/mcp";
    const first = await reader({ sub: "rate-1" }, limitedAud);
    const second = await reader({ sub: "rate-2" }, limitedAud);
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 6; i++) {
      const res = await rawCall("/limited/mcp", first, "tools/list");
      statuses.push(res.status);
      if (res.status === 429) {
        retryAfter = res.headers.get("retry-after");
        expect((await res.json()).error.message).toBe("Too Many Requests: rate limit exceeded");
      } else await res.text();
    }
    expect(statuses.slice(0, 4)).toEqual([200, 200, 200, 200]);
    expect(statuses.slice(4)).toContain(429);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    // Another identity has its own bucket.
    expect((await rawCall("/limited/mcp", second, "tools/list")).status).toBe(200);
    // Failed attempts count against the client's address: guessing is limited too.
    const guesses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await rawCall("/limited/mcp", `guess-${i}-aaaaaaaa`, "tools/list");
      guesses.push(res.status);
      await res.text();
    }
    expect(guesses.slice(0, 4)).toEqual([401, 401, 401, 401]);
    expect(guesses.slice(4)).toContain(429);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const line = metrics.split("\n").find((l) => l.startsWith("stingray_rate_limited_total{") && l.includes('app="limited"'));
    expect(Number(line?.split(" ").pop())).toBeGreaterThanOrEqual(1);
  });
});
