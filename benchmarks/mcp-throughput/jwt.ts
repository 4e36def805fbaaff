// JWT auth for the mcp-throughput benchmark's "JWT auth on" variant: the bench process makes an
// ES256 key pair and signs one access token (an hour long, scope weather:read); the stingray server
// gets the public key inline (BENCH_JWT_JWKS), the issuer and the audience through its environment
// and turns on `auth.jwt` with a per-tool scope on the benchmark's tool, so every measured call
// pays for the whole auth path: signature, claims, scope check.

import { exportJWK, generateKeyPair, SignJWT } from "jose";

export const BENCH_JWT_ISSUER = "https://issuer.bench";
export const BENCH_JWT_AUDIENCE = "http://127.0.0.1/mcp";
export const BENCH_JWT_SCOPE = "weather:read";

export interface BenchJwt {
  /** Environment for stingray-server.ts. */
  env: Record<string, string>;
  /** Headers every request of the variant carries. */
  headers: Record<string, string>;
}

export async function benchJwt(): Promise<BenchJwt> {
  const { privateKey, publicKey } = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "bench-1", alg: "ES256", use: "sig" };
  const token = await new SignJWT({ sub: "bench-user", client_id: "bench-client", scope: BENCH_JWT_SCOPE })
    .setProtectedHeader({ alg: "ES256", kid: "bench-1", typ: "at+jwt" })
    .setIssuer(BENCH_JWT_ISSUER)
    .setAudience(BENCH_JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(privateKey);
  return {
    env: { BENCH_JWT_JWKS: JSON.stringify({ keys: [jwk] }), BENCH_JWT_ISSUER, BENCH_JWT_AUDIENCE },
    headers: { authorization: `Bearer ${token}` },
  };
}
