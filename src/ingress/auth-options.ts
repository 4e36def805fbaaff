// The `auth` and `rateLimit` options of an ingress (`mcpApp(factory, { auth, rateLimit })`,
// `fetchApp(create, { auth, rateLimit })`): their types and zod schemas, checked at declaration
// so a typo fails where it was written, naming the option. options.ts composes these into the
// ingress schemas; auth.ts, jwt-verifier.ts, permissions.ts and rate-limit.ts read the result.

import * as z from "zod";
import type { AuthIdentity } from "../runtime/http-message.ts";

/** Verifies a bearer token; returns the identity, or null/undefined when the token is not valid. */
export type TokenVerifier = (
  token: string,
  request: { url: string; method: string },
) => AuthIdentity | null | undefined | Promise<AuthIdentity | null | undefined>;

export type StaticToken = string | { token: string; clientId?: string; scopes?: string[] };

/** JWT access tokens (RFC 9068 style) signed by an OAuth authorization server. */
export interface JwtOptions {
  /** The `iss` every token must carry (the authorization server's issuer identifier). */
  issuer: string;
  /** The `aud` every token must name: this resource's URL (RFC 8707), or several accepted values. */
  audience: string | string[];
  /** Where the issuer publishes its keys (https, or http on a loopback host). One of jwksUri / jwks. */
  jwksUri?: string;
  /** The keys inline, as a JWK Set (`{ keys: [...] }`). One of jwksUri / jwks. */
  jwks?: { keys: Array<Record<string, unknown>> };
  /** Accepted `alg` values (default: the asymmetric JWS algorithms; `none` and HMAC never). */
  algorithms?: string[];
  /** Leeway for `exp` / `nbf` / `iat`, in seconds (default 5). */
  clockToleranceS?: number;
  /** A key set fetched less than this long ago is not fetched again for an unknown `kid` (default 30,000 ms). */
  jwksCooldownMs?: number;
  /** Keys older than this are fetched again before use (default 600,000 ms). */
  jwksMaxAgeMs?: number;
  /** Time allowed for one JWKS fetch (default 5,000 ms). */
  jwksTimeoutMs?: number;
}

/** What an MCP request asks to use: a tool, a prompt, or a resource (by URI). */
export interface AuthTarget {
  kind: "tool" | "prompt" | "resource";
  /** Tool or prompt name, or resource URI. */
  name: string;
}

/** A predicate over the identity: may it use `target`? Runs in the proxy and (for list filtering) in the replica. */
export type AuthorizePredicate = (identity: AuthIdentity, target: AuthTarget) => boolean | Promise<boolean>;

/**
 * Scopes required per tool, prompt and resource. A key is an exact name (or URI), or a prefix
 * ending in `*` (`"weather://alerts/*"`, `"admin_*"`, `"*"` for everything else); the exact key
 * wins, then the longest matching prefix. Unlisted names need no extra scope.
 */
export interface ScopeRules {
  tools?: Record<string, string[]>;
  prompts?: Record<string, string[]>;
  resources?: Record<string, string[]>;
}

export interface AuthOptions {
  /** Accepted tokens. A bare string token gets clientId "token-<n>" (its index), never the token. */
  tokens?: StaticToken[];
  /** Name of an environment variable holding more tokens, comma-separated (read when the proxy starts). */
  tokensEnv?: string;
  /** A custom verifier, tried after the static tokens (and, for JWT-shaped tokens, only without `jwt`). */
  verify?: TokenVerifier;
  /** JWT access tokens checked against an issuer's keys. */
  jwt?: JwtOptions;
  /** Scopes every request must carry (403 insufficient_scope otherwise). */
  requiredScopes?: string[];
  /** Scopes required per tool, prompt and resource (403 insufficient_scope naming them). */
  scopes?: ScopeRules;
  /** A predicate per tool, prompt and resource, checked after `scopes` (403 when it says no). */
  authorize?: AuthorizePredicate;
  /** Leave what the caller may not use out of tools/list, prompts/list and resources/list (default true). */
  hideForbidden?: boolean;
  /** RFC 9728 protected-resource metadata; when set, 401 challenges point clients at it. */
  resourceMetadata?: {
    authorizationServers: string[];
    scopesSupported?: string[];
    resourceName?: string;
    resourceDocumentation?: string;
  };
}

/** Token-bucket rate limit per identity (per client address without auth). */
export interface RateLimitOptions {
  /** Sustained requests per second each caller may make. */
  requestsPerS: number;
  /** Requests a caller may make at once after being idle (default: requestsPerS, at least 1). */
  burst?: number;
  /** Callers tracked at once (default 10,000); past it the least recently seen is forgotten. */
  maxTrackedCallers?: number;
}

const fn = <T>() => z.custom<T>((v) => typeof v === "function", { message: "must be a function" });
const positiveInt = z.number().int().positive();

/** JWS algorithms accepted when `jwt.algorithms` is unset: asymmetric only (a JWKS never holds HMAC secrets). */
export const DEFAULT_JWT_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"];

function isLoopbackUrl(u: URL): boolean {
  const h = u.hostname.replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** Public asymmetric keys only: an `oct` (HMAC) key or a private part (`d`) has no place here. */
function isJwkSet(jwks: { keys: Array<Record<string, unknown>> }): boolean {
  return jwks.keys.every((k) => typeof k.kty === "string" && ["RSA", "EC", "OKP", "AKP"].includes(k.kty) && !("d" in k));
}

const jwksUri = z.url().refine(
  (s) => {
    const u = new URL(s);
    return u.protocol === "https:" || (u.protocol === "http:" && isLoopbackUrl(u));
  },
  { message: "must be an https URL (http only on a loopback host)" },
);

const jwtSchema = z
  .object({
    issuer: z.string().min(1),
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    jwksUri: jwksUri.optional(),
    jwks: z
      .object({ keys: z.array(z.record(z.string(), z.unknown())).min(1) })
      .refine(isJwkSet, { message: "must hold public RSA, EC, OKP or AKP keys only" })
      .optional(),
    algorithms: z
      .array(z.string().min(1))
      .min(1)
      .refine((a) => a.every((alg) => alg !== "none" && !alg.startsWith("HS")), { message: "must not list none or HMAC (HS*) algorithms" })
      .optional(),
    clockToleranceS: z.number().nonnegative().optional(),
    jwksCooldownMs: z.number().int().nonnegative().optional(),
    jwksMaxAgeMs: positiveInt.optional(),
    jwksTimeoutMs: positiveInt.optional(),
  })
  .strict()
  .refine((j) => (j.jwksUri === undefined) !== (j.jwks === undefined), { message: "needs exactly one of jwksUri or jwks" });

const scopeMap = z.record(z.string().min(1), z.array(z.string().min(1)));

export const authSchema = z
  .object({
    tokens: z
      .array(
        z.union([
          z.string().min(1),
          z.object({ token: z.string().min(1), clientId: z.string().min(1).optional(), scopes: z.array(z.string()).optional() }).strict(),
        ]),
      )
      .optional(),
    tokensEnv: z.string().min(1).optional(),
    verify: fn<TokenVerifier>().optional(),
    jwt: jwtSchema.optional(),
    requiredScopes: z.array(z.string().min(1)).optional(),
    scopes: z.object({ tools: scopeMap.optional(), prompts: scopeMap.optional(), resources: scopeMap.optional() }).strict().optional(),
    authorize: fn<AuthorizePredicate>().optional(),
    hideForbidden: z.boolean().optional(),
    resourceMetadata: z
      .object({
        authorizationServers: z.array(z.url()).min(1),
        scopesSupported: z.array(z.string()).optional(),
        resourceName: z.string().optional(),
        resourceDocumentation: z.url().optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((a) => a.tokens !== undefined || a.tokensEnv !== undefined || a.verify !== undefined || a.jwt !== undefined, {
    message: "needs tokens, tokensEnv, verify or jwt",
  });

export const rateLimitSchema = z
  .object({
    requestsPerS: z.number().positive(),
    burst: positiveInt.optional(),
    maxTrackedCallers: positiveInt.optional(),
  })
  .strict();
