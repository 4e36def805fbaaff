// Optional bearer-token auth for an application, checked in the proxy before any replica sees the
// request. Static tokens (from options or an environment variable) are compared in constant time
// against SHA-256 digests, every configured token every time, so neither timing nor an early exit
// tells how close a guess was; JWT access tokens are verified against the issuer's keys
// (jwt-verifier.ts); a user verifier can accept other tokens. Failures answer 401 (or 403 for
// missing scopes) with an RFC 6750 WWW-Authenticate challenge that points MCP clients at the
// RFC 9728 protected-resource metadata. The token itself never leaves this module: replicas get
// the identity (clientId, subject, scopes, claims), and nothing here logs.

import { createHash, timingSafeEqual } from "node:crypto";
import { InvalidOptionsError } from "../errors.ts";
import type { AuthIdentity } from "../runtime/http-message.ts";
import type { AuthOptions } from "./auth-options.ts";
import type { JwtVerifier } from "./jwt-verifier.ts";
import { Permissions } from "./permissions.ts";

export const PROTECTED_RESOURCE_WELL_KNOWN = "/.well-known/oauth-protected-resource";

interface StaticEntry {
  digest: Buffer;
  identity: AuthIdentity;
}

export type AuthOutcome =
  | { ok: true; identity: AuthIdentity }
  | { ok: false; status: 401 | 403 | 500 | 503; headers: Record<string, string>; body: { error: string; error_description: string } };

function digest(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

export class BearerAuth {
  readonly #entries: StaticEntry[];
  readonly #options: AuthOptions;
  /** Loaded on demand: jose costs ~60 ms of start-up to import, and most apps never need it. */
  readonly #jwt: Promise<JwtVerifier> | undefined;
  /** Per-tool, per-prompt and per-resource rules (`auth.scopes`, `auth.authorize`). */
  readonly permissions: Permissions;

  /** `env` is read now (when the proxy mounts the app), not per request. */
  constructor(options: AuthOptions, env: Record<string, string | undefined> = process.env) {
    this.#options = options;
    this.#jwt = options.jwt ? loadJwtVerifier(options.jwt) : undefined;
    this.permissions = new Permissions(options);
    const entries: StaticEntry[] = [];
    (options.tokens ?? []).forEach((t, i) => {
      const spec = typeof t === "string" ? { token: t } : t;
      entries.push({
        digest: digest(spec.token),
        identity: { clientId: spec.clientId ?? `token-${i}`, scopes: spec.scopes ?? [] },
      });
    });
    if (options.tokensEnv !== undefined) {
      const raw = env[options.tokensEnv];
      if (raw === undefined && options.verify === undefined && options.jwt === undefined && entries.length === 0) {
        throw new InvalidOptionsError(`auth.tokensEnv: environment variable ${options.tokensEnv} is not set`);
      }
      (raw ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)
        .forEach((token, i) => {
          entries.push({ digest: digest(token), identity: { clientId: `${options.tokensEnv}-${i}`, scopes: [] } });
        });
    }
    this.#entries = entries;
  }

  async authenticate(
    authorization: string | undefined,
    request: { url: string; method: string },
    resourceMetadataUrl: string,
  ): Promise<AuthOutcome> {
    const match = authorization === undefined ? null : /^Bearer[ \t]+([A-Za-z0-9._~+/=-]+)[ \t]*$/i.exec(authorization);
    if (!match) {
      const description = authorization === undefined ? "Missing bearer token" : "Malformed Authorization header";
      return this.#challenge(401, authorization === undefined ? undefined : "invalid_request", description, resourceMetadataUrl);
    }
    const token = match[1]!;
    let identity = this.#matchStatic(token);
    if (!identity && this.#jwt && looksLikeJwt(token)) {
      // A JWT-shaped token is the issuer's to judge: its answer (and reason) stands.
      const verdict = await (await this.#jwt).verify(token);
      if (!verdict.ok) {
        if (verdict.reason === "keys_unavailable") {
          return {
            ok: false,
            status: 503,
            headers: { "content-type": "application/json", "retry-after": "5" },
            body: { error: "temporarily_unavailable", error_description: verdict.description },
          };
        }
        return this.#challenge(401, "invalid_token", verdict.description, resourceMetadataUrl);
      }
      identity = verdict.identity;
    } else if (!identity && this.#options.verify) {
      try {
        identity = (await this.#options.verify(token, request)) ?? undefined;
      } catch {
        // The verifier's own error text could echo the token: say nothing specific.
        return {
          ok: false,
          status: 500,
          headers: { "content-type": "application/json" },
          body: { error: "server_error", error_description: "Token verification failed" },
        };
      }
    }
    if (!identity) return this.#challenge(401, "invalid_token", "Invalid bearer token", resourceMetadataUrl);
    const required = this.#options.requiredScopes ?? [];
    if (!required.every((s) => identity!.scopes.includes(s))) {
      return this.#challenge(403, "insufficient_scope", "Insufficient scope", resourceMetadataUrl, required);
    }
    return { ok: true, identity };
  }

  #matchStatic(token: string): AuthIdentity | undefined {
    const presented = digest(token);
    let found: AuthIdentity | undefined;
    for (const entry of this.#entries) {
      // No early exit: every entry is compared whatever matched before.
      if (timingSafeEqual(presented, entry.digest) && !found) found = entry.identity;
    }
    return found;
  }

  /** The 403 challenge for an operation that needs scopes the caller's token lacks. */
  insufficientScopeHeaders(scopes: string[], description: string, resourceMetadataUrl: string): Record<string, string> {
    return this.#challenge(403, "insufficient_scope", description, resourceMetadataUrl, scopes).headers;
  }

  #challenge(
    status: 401 | 403,
    error: string | undefined,
    description: string,
    resourceMetadataUrl: string,
    scopes?: string[],
  ): AuthOutcome & { ok: false } {
    const params = [`realm="stingray"`];
    if (error) params.push(`error="${error}"`, `error_description="${description}"`);
    if (scopes && scopes.length > 0) params.push(`scope="${scopes.join(" ")}"`);
    params.push(`resource_metadata="${resourceMetadataUrl}"`);
    return {
      ok: false,
      status,
      headers: { "www-authenticate": `Bearer ${params.join(", ")}`, "content-type": "application/json" },
      body: { error: error ?? "invalid_token", error_description: description },
    };
  }

  /** The RFC 9728 document for the resource at `resourceUrl`. */
  metadata(resourceUrl: string): Record<string, unknown> {
    const m = this.#options.resourceMetadata;
    const doc: Record<string, unknown> = { resource: resourceUrl, bearer_methods_supported: ["header"] };
    const servers = m?.authorizationServers ?? (this.#options.jwt ? [this.#options.jwt.issuer] : undefined);
    if (servers) doc.authorization_servers = servers;
    const ruleScopes = this.permissions.allScopes();
    const scopes =
      m?.scopesSupported ??
      (ruleScopes.length > 0 ? [...new Set([...(this.#options.requiredScopes ?? []), ...ruleScopes])] : this.#options.requiredScopes);
    if (scopes && scopes.length > 0) doc.scopes_supported = scopes;
    if (m?.resourceName) doc.resource_name = m.resourceName;
    if (m?.resourceDocumentation) doc.resource_documentation = m.resourceDocumentation;
    return doc;
  }
}

/** Compact JWS shape: three base64url segments. Anything else is not tried as a JWT. */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);
}

function loadJwtVerifier(options: NonNullable<AuthOptions["jwt"]>): Promise<JwtVerifier> {
  const loading = import("./jwt-verifier.ts").then((m) => new m.JwtVerifier(options));
  // A failed load surfaces on the first JWT request (a 500), not as an unhandled rejection.
  loading.catch(() => {});
  return loading;
}

/** RFC 9728 §3.1: the well-known path goes between the host and the resource's path. */
export function protectedResourceMetadataPath(resourcePath: string): string {
  return resourcePath === "/" ? PROTECTED_RESOURCE_WELL_KNOWN : `${PROTECTED_RESOURCE_WELL_KNOWN}${resourcePath}`;
}
