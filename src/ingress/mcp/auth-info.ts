// The identity the proxy verified, as the MCP SDK carries it (`AuthInfo`: handlers read it as
// `ctx.http.authInfo`) and back. The token stays in the proxy (`token` is always ""); a JWT's
// subject rides in `extra.subject` and its claims in `extra.claims`, since AuthInfo has no field
// for them.

import type { AuthInfo } from "@modelcontextprotocol/server";
import type { IngressRequestContext } from "../../deployments/ingress-definition.ts";
import { principalOf, type AuthIdentity } from "../../runtime/http-message.ts";

export function authInfoOf(context: IngressRequestContext): AuthInfo | undefined {
  const auth = context.auth;
  if (!auth) return undefined;
  const extra = auth.subject !== undefined ? { ...auth.extra, subject: auth.subject } : auth.extra;
  return {
    token: "",
    clientId: auth.clientId,
    scopes: auth.scopes,
    ...(auth.expiresAt !== undefined ? { expiresAt: auth.expiresAt } : {}),
    ...(extra ? { extra } : {}),
  };
}

export function identityOf(authInfo: AuthInfo | undefined): AuthIdentity | undefined {
  if (!authInfo) return undefined;
  const subject = authInfo.extra?.subject;
  return {
    clientId: authInfo.clientId,
    scopes: authInfo.scopes,
    ...(typeof subject === "string" ? { subject } : {}),
    ...(authInfo.expiresAt !== undefined ? { expiresAt: authInfo.expiresAt } : {}),
    ...(authInfo.extra ? { extra: authInfo.extra } : {}),
  };
}

/** Who owns a session or task opened with this AuthInfo (see principalOf). */
export function principalOfAuthInfo(authInfo: AuthInfo | undefined): string | null {
  return principalOf(identityOf(authInfo));
}
