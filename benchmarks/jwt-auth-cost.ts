// What JWT auth costs the proxy per request, in one process with no HTTP (the proxy's one thread is
// what a tools/call spends it on, so these microseconds come straight off its throughput):
// BearerAuth.authenticate with a static token (the baseline), with a JWT already verified (the
// common case: a client sends the same token until it expires; jwt-verifier.ts remembers it), and
// with a JWT seen for the first time (ES256 signature and claims checked by jose). Keys are inline
// (`jwks`): a remote JWKS costs the same per request once fetched.
//
//   npx tsx benchmarks/jwt-auth-cost.ts      BENCH_QUICK=1 fewer iterations

import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { BearerAuth } from "../src/ingress/auth.ts";
import { emitResultAndExit, isQuick, row } from "./lib/report.ts";

const QUICK = isQuick();
const FRESH = QUICK ? 300 : 1_500;
const CACHED = QUICK ? 5_000 : 30_000;

const { privateKey, publicKey } = await generateKeyPair("ES256");
const jwk = { ...(await exportJWK(publicKey)), kid: "bench", alg: "ES256", use: "sig" };
const sign = (i: number) =>
  new SignJWT({ sub: `user-${i}`, client_id: "bench", scope: "weather:read" })
    .setProtectedHeader({ alg: "ES256", kid: "bench", typ: "at+jwt" })
    .setIssuer("https://issuer.bench")
    .setAudience("http://127.0.0.1/mcp")
    .setExpirationTime("1h")
    .sign(privateKey);
// Distinct tokens (one per first-time verification), more than the verified-token table holds.
const tokens = await Promise.all(Array.from({ length: FRESH + 200 }, (_, i) => sign(i)));
const STATIC = "static-token-0123456789abcdef";
const auth = new BearerAuth({
  jwt: { issuer: "https://issuer.bench", audience: "http://127.0.0.1/mcp", jwks: { keys: [jwk] } },
  tokens: [STATIC],
});
const request = { url: "/mcp", method: "POST" };
const metadata = "http://127.0.0.1/.well-known/oauth-protected-resource/mcp";

/** Mean CPU microseconds (user + system) per call over `n` calls, after a warm-up. */
async function cpuPerCall(n: number, call: (i: number) => Promise<{ ok: boolean }>, warmup = 200): Promise<number> {
  for (let i = 0; i < warmup; i++) if (!(await call(i)).ok) throw new Error("authentication failed");
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) await call(i + warmup);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}

const staticUs = await cpuPerCall(CACHED, () => auth.authenticate(`Bearer ${STATIC}`, request, metadata));
const cachedUs = await cpuPerCall(CACHED, () => auth.authenticate(`Bearer ${tokens[0]}`, request, metadata));
const freshUs = await cpuPerCall(FRESH, (i) => auth.authenticate(`Bearer ${tokens[i]}`, request, metadata), 200);

console.log(`static token ${staticUs.toFixed(1)} µs, JWT verified before ${cachedUs.toFixed(1)} µs, JWT first seen ${freshUs.toFixed(1)} µs CPU per request`);
await emitResultAndExit({
  benchmark: "jwt-auth-cost",
  rows: [
    row("static bearer token", staticUs, "µs CPU/request"),
    row("JWT, verified before (cached)", cachedUs, "µs CPU/request", { baseline: staticUs }),
    row("JWT, first seen (ES256 verify)", freshUs, "µs CPU/request", { baseline: staticUs, note: "once per token per minute" }),
  ],
  ...(QUICK ? { quick: true } : {}),
});
