// The weather example with JWT auth turned on as its README says: `tsx examples/weather.ts` in its
// own process with WEATHER_JWT_ISSUER / WEATHER_JWT_AUDIENCE / WEATHER_JWKS_URI pointing at a
// local issuer (and NWS_API_BASE at the fake NWS). Without a token: 401 pointing at the metadata,
// which names the issuer; a token with weather:read calls both tools in both eras; one without it
// sees no tools and is refused with 403.

import type { ChildProcess } from "node:child_process";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CA_ALERTS_TEXT, startFakeNws, type FakeNws } from "../../fixtures/fake-nws.ts";
import { JwksServer } from "../../fixtures/ingress/jwks-server.ts";
import { killWeatherProcess, startWeatherProcess } from "../../fixtures/weather-process.ts";

let fake: FakeNws;
let issuer: JwksServer;
let child: ChildProcess;
let mcpUrl: URL;

beforeAll(async () => {
  fake = await startFakeNws();
  issuer = await new JwksServer().start();
  ({ child, mcpUrl } = await startWeatherProcess((url) => ({
    NWS_API_BASE: fake.baseUrl,
    WEATHER_JWT_ISSUER: issuer.issuer,
    WEATHER_JWT_AUDIENCE: url.href,
    WEATHER_JWKS_URI: issuer.jwksUri,
    STINGRAY_LOG_LEVEL: "warn",
  })));
}, 40_000);

afterAll(async () => {
  await killWeatherProcess(child);
  await fake?.close();
  await issuer?.close();
});

async function connect(token: string, era: "legacy" | "modern"): Promise<Client> {
  const client = new Client(
    { name: "weather-jwt-it", version: "1.0.0" },
    { versionNegotiation: { mode: era === "modern" ? { pin: "2026-07-28" } : "legacy" } },
  );
  await client.connect(new StreamableHTTPClientTransport(mcpUrl, { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return client;
}

describe("examples/weather.ts with WEATHER_JWT_ISSUER", () => {
  it("answers 401 without a token and names the issuer in its protected-resource metadata", async () => {
    const res = await fetch(mcpUrl, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "x", version: "1" } } }),
    });
    expect(res.status).toBe(401);
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(res.headers.get("www-authenticate") ?? "")?.[1];
    expect(metadataUrl).toBe(`${mcpUrl.origin}/.well-known/oauth-protected-resource/mcp`);
    const doc = await (await fetch(metadataUrl!)).json();
    expect(doc).toMatchObject({ resource: mcpUrl.href, authorization_servers: [issuer.issuer], scopes_supported: ["weather:read"] });
  });

  it.each(["legacy", "modern"] as const)("serves both tools to a token with weather:read, none to one without (%s era)", async (era) => {
    const reader = await connect(await issuer.sign({ sub: "ann", client_id: "desk", scope: "weather:read" }, { audience: mcpUrl.href }), era);
    const outsider = await connect(await issuer.sign({ sub: "bob", client_id: "desk", scope: "profile" }, { audience: mcpUrl.href }), era);
    try {
      expect((await reader.listTools()).tools.map((t) => t.name).sort()).toEqual(["get_alerts", "get_forecast"]);
      const alerts = await reader.callTool({ name: "get_alerts", arguments: { state: "ca" } });
      expect((alerts.content as Array<{ text: string }>)[0]!.text).toBe(CA_ALERTS_TEXT);
      expect((await outsider.listTools()).tools).toEqual([]);
      await expect(outsider.callTool({ name: "get_alerts", arguments: { state: "ca" } })).rejects.toThrow();
    } finally {
      await Promise.all([reader.close(), outsider.close()]);
    }
  });
});
