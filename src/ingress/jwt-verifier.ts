// JWT access tokens (`auth.jwt`): checks signature, `iss`, `aud` (the resource, RFC 8707), `exp`
// (required) and `nbf` with jose, against keys from the issuer's JWKS (fetched, cached, fetched
// again for an unknown `kid` at most once per cooldown, so rotation works and a flood of made-up
// kids cannot hammer the issuer) or an inline JWK Set. A verified token becomes an AuthIdentity:
// client id from `client_id` / `azp` (else `sub`), subject, scopes from `scope` (space-separated)
// or `scp` (array), expiry, and the whole payload as `extra.claims`. Failures say what was wrong
// in fixed words: nothing from the token (or jose's message, which can quote claims) is echoed.
//
// A client sends the same token on every request until it expires, and checking an ES256
// signature costs the proxy's one thread ~190 µs of CPU (benchmarks/jwt-auth-cost.ts), a large
// share of what it spends on a whole tools/call. So a verified token (then ~6 µs, as a static one) is
// remembered (by its SHA-256, never the token) for at most VERIFIED_CACHE_MS and never past its
// `exp`, in a bounded least-recently-used table — as Envoy's jwt_authn does. A key removed from
// the JWKS is noticed no sooner anyway: keys themselves are cached for `jwksMaxAgeMs`.

import { createHash } from "node:crypto";
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import type { AuthIdentity } from "../runtime/http-message.ts";
import { DEFAULT_JWT_ALGORITHMS, type JwtOptions } from "./auth-options.ts";

export const DEFAULT_CLOCK_TOLERANCE_S = 5;
export const DEFAULT_JWKS_COOLDOWN_MS = 30_000;
export const DEFAULT_JWKS_MAX_AGE_MS = 600_000;
export const DEFAULT_JWKS_TIMEOUT_MS = 5_000;
/** How long a verified token is taken without checking it again (never past its exp). */
export const VERIFIED_CACHE_MS = 60_000;
/** Verified tokens remembered at most (least recently used forgotten first). */
export const VERIFIED_CACHE_MAX = 1_000;

export type JwtOutcome =
  | { ok: true; identity: AuthIdentity }
  /** The token is not acceptable: 401 invalid_token with this description. */
  | { ok: false; reason: "invalid_token"; description: string }
  /** The issuer's keys could not be fetched: not the client's fault (503). */
  | { ok: false; reason: "keys_unavailable"; description: string };

export class JwtVerifier {
  readonly #options: JwtOptions;
  readonly #keys: JWTVerifyGetKey;
  readonly #algorithms: string[];
  readonly #now: () => number;
  /** SHA-256 of a verified token → its identity and until when (epoch ms) it is taken as is. */
  readonly #verified = new Map<string, { identity: AuthIdentity; untilMs: number }>();

  /** `now` (epoch ms) is injectable for tests; it also drives jose's exp/nbf checks. */
  constructor(options: JwtOptions, now: () => number = Date.now) {
    this.#options = options;
    this.#now = now;
    this.#algorithms = options.algorithms ?? DEFAULT_JWT_ALGORITHMS;
    this.#keys = options.jwksUri
      ? createRemoteJWKSet(new URL(options.jwksUri), {
          cooldownDuration: options.jwksCooldownMs ?? DEFAULT_JWKS_COOLDOWN_MS,
          cacheMaxAge: options.jwksMaxAgeMs ?? DEFAULT_JWKS_MAX_AGE_MS,
          timeoutDuration: options.jwksTimeoutMs ?? DEFAULT_JWKS_TIMEOUT_MS,
        })
      : createLocalJWKSet(options.jwks as Parameters<typeof createLocalJWKSet>[0]);
  }

  /** Verified tokens currently remembered. */
  get cachedTokens(): number {
    return this.#verified.size;
  }

  async verify(token: string): Promise<JwtOutcome> {
    const nowMs = this.#now();
    const digest = createHash("sha256").update(token).digest("base64");
    const cached = this.#verified.get(digest);
    if (cached) {
      this.#verified.delete(digest);
      if (cached.untilMs > nowMs) {
        this.#verified.set(digest, cached);
        return { ok: true, identity: cached.identity };
      }
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#keys, {
        currentDate: new Date(nowMs),
        issuer: this.#options.issuer,
        audience: this.#options.audience,
        algorithms: this.#algorithms,
        clockTolerance: this.#options.clockToleranceS ?? DEFAULT_CLOCK_TOLERANCE_S,
        requiredClaims: ["exp"],
      }));
    } catch (err) {
      return failure(err);
    }
    const identity = identityFrom(payload);
    this.#remember(digest, identity, nowMs, payload.exp! * 1000);
    return { ok: true, identity };
  }

  #remember(digest: string, identity: AuthIdentity, nowMs: number, expMs: number): void {
    const untilMs = Math.min(nowMs + VERIFIED_CACHE_MS, expMs);
    if (untilMs <= nowMs) return;
    if (this.#verified.size >= VERIFIED_CACHE_MAX) {
      const oldest = this.#verified.keys().next();
      if (!oldest.done) this.#verified.delete(oldest.value);
    }
    this.#verified.set(digest, { identity, untilMs });
  }
}

export function identityFrom(payload: JWTPayload): AuthIdentity {
  const subject = typeof payload.sub === "string" ? payload.sub : undefined;
  const clientId = stringClaim(payload, "client_id") ?? stringClaim(payload, "azp") ?? subject ?? "unknown";
  return {
    clientId,
    scopes: scopesOf(payload),
    ...(subject !== undefined ? { subject } : {}),
    ...(typeof payload.exp === "number" ? { expiresAt: payload.exp } : {}),
    extra: { claims: payload },
  };
}

function stringClaim(payload: JWTPayload, name: string): string | undefined {
  const v = payload[name];
  return typeof v === "string" && v.length > 0 ? v : undefined;
}

/** `scope` is a space-separated string (RFC 8693 / RFC 9068); some issuers send `scp` as an array. */
function scopesOf(payload: JWTPayload): string[] {
  if (typeof payload.scope === "string") return payload.scope.split(" ").filter(Boolean);
  const scp = payload.scp;
  if (Array.isArray(scp)) return scp.filter((s): s is string => typeof s === "string");
  if (typeof scp === "string") return scp.split(" ").filter(Boolean);
  return [];
}

function failure(err: unknown): JwtOutcome {
  const invalid = (description: string): JwtOutcome => ({ ok: false, reason: "invalid_token", description });
  if (err instanceof errors.JWTExpired) return invalid("The token has expired");
  if (err instanceof errors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case "iss":
        return invalid("The token was not issued by the accepted issuer");
      case "aud":
        return invalid("The token's audience is not this resource");
      case "nbf":
        return invalid("The token is not valid yet");
      case "exp":
        return invalid(err.reason === "missing" ? "The token has no expiry" : "The token has expired");
      default:
        return invalid("A token claim is invalid");
    }
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return invalid("The token's signing algorithm is not accepted");
  if (err instanceof errors.JWKSMultipleMatchingKeys) return invalid("The token's key id matches several keys");
  if (err instanceof errors.JWKSNoMatchingKey) return invalid("No known key matches the token's key id");
  if (err instanceof errors.JWSSignatureVerificationFailed) return invalid("The token's signature is invalid");
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return invalid("The token is malformed");
  // JWKS fetch timed out, failed, or answered something that is not a key set.
  return { ok: false, reason: "keys_unavailable", description: "The issuer's signing keys could not be fetched" };
}
