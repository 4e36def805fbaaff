// BearerAuth with JWT access tokens, called directly: the challenge for each failure, 503 when the
// issuer's keys cannot be fetched, static tokens and JWTs side by side, and the RFC 9728 document
// naming the issuer and every scope the rules use.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BearerAuth } from "../../../src/ingress/auth.ts";
import { JwksServer } from "../../fixtures/ingress/jwks-server.ts";

const AUD = "https://api.test/mcp";
const META = "https://api.test/.well-known/oauth-protected-resource/mcp";
const req = { url: "/mcp", method: "POST" };
let issuer: JwksServer;
let auth: BearerAuth;

beforeAll(async () => {
  issuer = await new JwksServer().start();
  auth = new BearerAuth({
    jwt: { issuer: issuer.issuer, audience: AUD, jwksUri: issuer.jwksUri },
    tokens: [{ token: "static-ops-token", clientId: "ops", scopes: ["admin"] }],
    requiredScopes: ["mcp"],
    scopes: { tools: { get_alerts: ["weather:read"] } },
  });
});
afterAll(() => issuer.close());

describe("BearerAuth with auth.jwt", () => {
  it("accepts a valid JWT carrying the required scopes", async () => {
    const token = await issuer.sign({ sub: "u1", azp: "cli", scope: "mcp weather:read" }, { audience: AUD });
    const outcome = await auth.authenticate(`Bearer ${token}`, req, META);
    expect(outcome).toMatchObject({ ok: true, identity: { clientId: "cli", subject: "u1", scopes: ["mcp", "weather:read"] } });
  });

  it("answers 401 invalid_token with a fixed description and the metadata URL", async () => {
    const token = await issuer.sign({ sub: "u1", scope: "mcp" }, { audience: "https://elsewhere/mcp" });
    const outcome = await auth.authenticate(`Bearer ${token}`, req, META);
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.status).toBe(401);
    expect(outcome.headers["www-authenticate"]).toBe(
      `Bearer realm="stingray", error="invalid_token", error_description="The token's audience is not this resource", resource_metadata="${META}"`,
    );
  });

  it("answers 403 insufficient_scope for a valid JWT without the required scopes", async () => {
    const token = await issuer.sign({ sub: "u1", scope: "weather:read" }, { audience: AUD });
    const outcome = await auth.authenticate(`Bearer ${token}`, req, META);
    expect(outcome).toMatchObject({ ok: false, status: 403 });
    if (!outcome.ok) expect(outcome.headers["www-authenticate"]).toContain('scope="mcp"');
  });

  it("keeps static tokens working (they are not JWT-shaped and skip the JWT check)", async () => {
    const outcome = await auth.authenticate("Bearer static-ops-token", req, META);
    // The static token lacks the app-wide "mcp" scope: 403, not 401 — it was recognised.
    expect(outcome).toMatchObject({ ok: false, status: 403 });
    const unknown = await auth.authenticate("Bearer not-a-known-token", req, META);
    expect(unknown).toMatchObject({ ok: false, status: 401, body: { error: "invalid_token", error_description: "Invalid bearer token" } });
  });

  it("answers 503 when the issuer's keys cannot be fetched", async () => {
    const down = new BearerAuth({ jwt: { issuer: issuer.issuer, audience: AUD, jwksUri: "http://127.0.0.1:9/jwks.json", jwksTimeoutMs: 1000 } });
    const token = await issuer.sign({ sub: "u1" }, { audience: AUD });
    expect(await down.authenticate(`Bearer ${token}`, req, META)).toEqual({
      ok: false,
      status: 503,
      headers: { "content-type": "application/json", "retry-after": "5" },
      body: { error: "temporarily_unavailable", error_description: "The issuer's signing keys could not be fetched" },
    });
  });

  it("names the issuer and every scope in use in the protected-resource metadata", () => {
    expect(auth.metadata(AUD)).toEqual({
      resource: AUD,
      bearer_methods_supported: ["header"],
      authorization_servers: [issuer.issuer],
      scopes_supported: ["mcp", "weather:read"],
    });
  });
});
