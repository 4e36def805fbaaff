// Who may call an application, decided in the proxy once Host and Origin passed: bearer auth
// (auth.ts: static tokens, JWTs, a custom verifier) and the per-caller rate limit (rate-limit.ts).
// A caller is the verified identity (client id and subject) with auth, else the client's address;
// failed authentications count against the address, so guessing tokens (or sending made-up JWT
// key ids) is limited like any other traffic. Answers are built here; the proxy sends them.

import type { IncomingMessage } from "node:http";
import { principalOf, type AuthIdentity } from "../runtime/http-message.ts";
import { protectedResourceMetadataPath } from "./auth.ts";
import { JsonRpcCode, jsonRpcError } from "./jsonrpc.ts";
import type { CompiledRoute } from "./route-table.ts";

export type AccessOutcome =
  | {
      ok: true;
      identity?: AuthIdentity;
      /** The RFC 9728 metadata URL for this resource's challenges (apps with auth). */
      resourceMetadataUrl?: string;
    }
  | {
      ok: false;
      status: number;
      headers: Record<string, string>;
      body: unknown;
      rateLimited: boolean;
      /** Why authentication failed, for the operator's log: fixed words, never from the token. */
      authFailure?: { reason: string; detail: string };
    };

/** `origin` is the scheme and host the client addressed (for the metadata URL). */
export async function checkAccess(compiled: CompiledRoute, req: IncomingMessage, origin: string): Promise<AccessOutcome> {
  const address = `ip:${req.socket.remoteAddress ?? ""}`;
  let identity: AuthIdentity | undefined;
  let resourceMetadataUrl: string | undefined;
  if (compiled.auth) {
    const base = compiled.route.routePrefix === "/" ? "" : compiled.route.routePrefix;
    resourceMetadataUrl = `${origin}${protectedResourceMetadataPath(compiled.mcpPath ?? (base || "/"))}`;
    const authorization = req.headers.authorization;
    const outcome = await compiled.auth.authenticate(authorization, { url: req.url ?? "/", method: req.method ?? "GET" }, resourceMetadataUrl);
    if (!outcome.ok) {
      const limited = compiled.rateLimit?.take(address);
      if (limited && !limited.ok) return tooManyRequests(limited.retryAfterS);
      return {
        ok: false,
        status: outcome.status,
        headers: outcome.headers,
        body: outcome.body,
        rateLimited: false,
        authFailure: { reason: outcome.body.error, detail: outcome.body.error_description },
      };
    }
    identity = outcome.identity;
  }
  if (compiled.rateLimit) {
    const decision = compiled.rateLimit.take(identity ? `id:${principalOf(identity)}` : address);
    if (!decision.ok) return tooManyRequests(decision.retryAfterS);
  }
  return { ok: true, ...(identity ? { identity } : {}), ...(resourceMetadataUrl ? { resourceMetadataUrl } : {}) };
}

function tooManyRequests(retryAfterS: number): AccessOutcome {
  return {
    ok: false,
    status: 429,
    headers: { "retry-after": String(retryAfterS) },
    body: jsonRpcError(JsonRpcCode.SERVER_ERROR, "Too Many Requests: rate limit exceeded"),
    rateLimited: true,
  };
}
