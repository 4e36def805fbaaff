// JWT access tokens against a local issuer: signature, iss, aud, exp/nbf, key rotation with a
// bounded refetch on an unknown kid, scopes from scope/scp, and descriptions that never echo the
// token. Option validation names the option.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidOptionsError } from "../../../src/errors.ts";
import { looksLikeJwt } from "../../../src/ingress/auth.ts";
import { JwtVerifier, identityFrom } from "../../../src/ingress/jwt-verifier.ts";
import { parseMcpAppOptions } from "../../../src/ingress/options.ts";
import { JwksServer } from "../../fixtures/ingress/jwks-server.ts";

const AUDIENCE = "http://127.0.0.1/weather/mcp";
let issuer: JwksServer;

beforeAll(async () => {
  issuer = await new JwksServer().start();
});
afterAll(() => issuer.close());

const verifier = (extra: { jwksCooldownMs?: number; clockToleranceS?: number } = {}) =>
  new JwtVerifier({ issuer: issuer.issuer, audience: AUDIENCE, jwksUri: issuer.jwksUri, ...extra });

describe("JwtVerifier", () => {
  it("accepts a valid token and builds the identity from its claims", async () => {
    const token = await issuer.sign({ sub: "user-1", client_id: "weather-cli", scope: "weather:read mcp" }, { audience: AUDIENCE });
    const outcome = await verifier().verify(token);
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.identity).toMatchObject({ clientId: "weather-cli", subject: "user-1", scopes: ["weather:read", "mcp"] });
    expect(outcome.identity.expiresAt).toBeGreaterThan(Date.now() / 1000);
    expect((outcome.identity.extra?.claims as { sub: string }).sub).toBe("user-1");
  });

  it("reads the client id from azp, then sub, and scopes from an scp array", () => {
    expect(identityFrom({ sub: "u", azp: "app", scp: ["a", "b"] })).toMatchObject({ clientId: "app", subject: "u", scopes: ["a", "b"] });
    expect(identityFrom({ sub: "svc" })).toMatchObject({ clientId: "svc", scopes: [] });
  });

  it.each([
    ["expired", { expiresInS: -120 }, "The token has expired"],
    ["not valid yet", { notBeforeS: 600 }, "The token is not valid yet"],
    ["for another audience", { audience: "https://other.example/mcp" }, "The token's audience is not this resource"],
    ["from another issuer", { issuer: "https://evil.test" }, "The token was not issued by the accepted issuer"],
    ["without exp", { expiresInS: null }, "The token has no expiry"],
  ] as const)("rejects a token %s with a fixed description", async (_name, options, description) => {
    const token = await issuer.sign({ sub: "user-1" }, { audience: AUDIENCE, ...options });
    const outcome = await verifier().verify(token);
    expect(outcome).toEqual({ ok: false, reason: "invalid_token", description });
  });

  it("rejects a forged signature and an unsigned token", async () => {
    const token = await issuer.sign({ sub: "user-1" }, { audience: AUDIENCE });
    const [h, p, sig] = token.split(".");
    const forged = `${h}.${Buffer.from(JSON.stringify({ sub: "admin", aud: AUDIENCE, iss: issuer.issuer, exp: 9e9 })).toString("base64url")}.${sig}`;
    expect(await verifier().verify(forged)).toMatchObject({ ok: false, description: "The token's signature is invalid" });
    const none = `${Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url")}.${p}.`;
    expect(looksLikeJwt(none)).toBe(false);
    const noneSig = `${Buffer.from(JSON.stringify({ alg: "none", kid: "key-1" })).toString("base64url")}.${p}.AAAA`;
    expect(await verifier().verify(noneSig)).toMatchObject({ ok: false, reason: "invalid_token" });
  });

  it("fetches the new key once after rotation, and never more often than the cooldown for unknown kids", async () => {
    const v = verifier({ jwksCooldownMs: 60_000 });
    const before = issuer.fetches;
    expect((await v.verify(await issuer.sign({ sub: "a" }, { audience: AUDIENCE }))).ok).toBe(true);
    expect(issuer.fetches).toBe(before + 1);
    // Unknown kids inside the cooldown: answered from the cache, no fetch each.
    for (let i = 0; i < 5; i++) {
      const bogus = await issuer.sign({ sub: "a" }, { audience: AUDIENCE, kid: `made-up-${i}` });
      expect(await v.verify(bogus)).toMatchObject({ ok: false, description: "No known key matches the token's key id" });
    }
    expect(issuer.fetches).toBe(before + 1);

    // After rotation a verifier whose cooldown has passed fetches the set again and accepts the new kid.
    const rotating = verifier({ jwksCooldownMs: 0 });
    expect((await rotating.verify(await issuer.sign({ sub: "a" }, { audience: AUDIENCE }))).ok).toBe(true);
    await issuer.rotate();
    const fetched = issuer.fetches;
    expect((await rotating.verify(await issuer.sign({ sub: "b" }, { audience: AUDIENCE }))).ok).toBe(true);
    expect(issuer.fetches).toBe(fetched + 1);
    // The rotated-out key no longer verifies.
    expect(await rotating.verify(await issuer.sign({ sub: "c" }, { audience: AUDIENCE, key: "stale" }))).toMatchObject({ ok: false });
  });

  it("says the keys are unavailable (not the token's fault) when the JWKS cannot be fetched", async () => {
    const down = new JwtVerifier({ issuer: issuer.issuer, audience: AUDIENCE, jwksUri: "http://127.0.0.1:9/jwks.json", jwksTimeoutMs: 1000 });
    const outcome = await down.verify(await issuer.sign({ sub: "a" }, { audience: AUDIENCE }));
    expect(outcome).toEqual({ ok: false, reason: "keys_unavailable", description: "The issuer's signing keys could not be fetched" });
  });

  it("remembers a verified token for at most a minute and never past its exp", async () => {
    const start = Date.now();
    let now = start;
    const v = new JwtVerifier({ issuer: issuer.issuer, audience: AUDIENCE, jwksUri: issuer.jwksUri, clockToleranceS: 0 }, () => now);
    const long = await issuer.sign({ sub: "long" }, { audience: AUDIENCE, expiresInS: 3600 });
    const short = await issuer.sign({ sub: "short" }, { audience: AUDIENCE, expiresInS: 30 });
    expect((await v.verify(long)).ok).toBe(true);
    expect((await v.verify(short)).ok).toBe(true);
    expect(v.cachedTokens).toBe(2);
    now = start + 31_000;
    // Past its exp: checked again, and refused.
    expect(await v.verify(short)).toMatchObject({ ok: false, description: "The token has expired" });
    expect((await v.verify(long)).ok).toBe(true);
    now = start + 3_601_000;
    expect(await v.verify(long)).toMatchObject({ ok: false, description: "The token has expired" });
    expect(v.cachedTokens).toBe(0);
  });

  it("verifies against an inline JWK Set", async () => {
    const jwks = await (await fetch(issuer.jwksUri)).json();
    const v = new JwtVerifier({ issuer: issuer.issuer, audience: [AUDIENCE, "other"], jwks });
    expect((await v.verify(await issuer.sign({ sub: "a" }, { audience: AUDIENCE }))).ok).toBe(true);
  });
});

describe("auth.jwt options", () => {
  const jwt = { issuer: "https://issuer.test", audience: "https://api.test/mcp", jwksUri: "https://issuer.test/jwks.json" };
  const reject = (auth: unknown) => () => parseMcpAppOptions({ auth } as never);

  it("accepts jwt alone as an auth source", () => {
    expect(parseMcpAppOptions({ auth: { jwt } }).auth?.jwt?.issuer).toBe("https://issuer.test");
  });

  it.each([
    ["both jwksUri and jwks", { ...jwt, jwks: { keys: [{ kty: "EC" }] } }, /auth\.jwt.*exactly one of jwksUri or jwks/],
    ["neither", { issuer: jwt.issuer, audience: jwt.audience }, /auth\.jwt.*exactly one of jwksUri or jwks/],
    ["an http JWKS on another host", { ...jwt, jwksUri: "http://issuer.test/jwks.json" }, /auth\.jwt\.jwksUri.*https/],
    ["HMAC algorithms", { ...jwt, algorithms: ["HS256"] }, /auth\.jwt\.algorithms/],
    ["a negative tolerance", { ...jwt, clockToleranceS: -1 }, /auth\.jwt\.clockToleranceS/],
    ["an unknown key", { ...jwt, audiences: ["x"] }, /auth\.jwt\.audiences" is not a known option/],
    ["a missing issuer", { audience: jwt.audience, jwksUri: jwt.jwksUri }, /auth\.jwt\.issuer/],
  ])("rejects %s, naming the option", (_name, bad, message) => {
    expect(reject({ jwt: bad })).toThrow(InvalidOptionsError);
    expect(reject({ jwt: bad })).toThrow(message);
  });

  it("rejects an inline key set with a secret or private key", () => {
    const inline = (keys: unknown[]) => ({ jwt: { issuer: jwt.issuer, audience: jwt.audience, jwks: { keys } } });
    expect(reject(inline([{ kty: "oct", k: "c2VjcmV0" }]))).toThrow(/auth\.jwt\.jwks.*public RSA, EC, OKP or AKP keys only/);
    expect(reject(inline([{ kty: "EC", crv: "P-256", x: "a", y: "b", d: "private" }]))).toThrow(/auth\.jwt\.jwks/);
  });

  it("validates scopes, authorize and rateLimit", () => {
    expect(reject({ jwt, scopes: { tool: {} } })).toThrow(/auth\.scopes\.tool" is not a known option/);
    expect(reject({ jwt, scopes: { tools: { x: "read" } } })).toThrow(/auth\.scopes\.tools\.x/);
    expect(reject({ jwt, authorize: true })).toThrow(/auth\.authorize.*must be a function/);
    expect(() => parseMcpAppOptions({ rateLimit: { requestsPerS: 0 } })).toThrow(/rateLimit\.requestsPerS/);
    expect(() => parseMcpAppOptions({ rateLimit: { requestsPerS: 5, burst: 1.5 } })).toThrow(/rateLimit\.burst/);
    expect(parseMcpAppOptions({ rateLimit: { requestsPerS: 5 } }).rateLimit).toEqual({ requestsPerS: 5 });
  });
});
