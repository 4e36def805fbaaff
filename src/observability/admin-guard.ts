// Who may use the admin API (deploy, shutdown). Policy:
// - With an admin token configured, every admin request must carry `Authorization: Bearer
//   <token>` (compared in constant time); the peer address does not matter.
// - Without a token, only loopback peers (127.0.0.0/8, ::1) are allowed.
// - Either way, a request with an Origin header is refused: the CLI never sends one, and browsers
//   always do on POST, so a web page (or a DNS-rebinding attack) cannot drive the admin API.
// The read-only endpoints (dashboard, status, timeseries: pid, replicas, recent errors) answer
// loopback clients, and others only with the admin token, unless `publicDashboard` opens them:
// on a loopback bind that changes nothing, on 0.0.0.0 it keeps them from answering the network.
// A loopback client must also name a loopback host: a web page that rebinds its own name to
// 127.0.0.1 reaches us from loopback, but with its name in the Host header.
// `/metrics` stays open (scrapers expect it; it carries no secrets or file paths).

import { timingSafeEqual, createHash } from "node:crypto";
import type { NextFunction, Request, Response } from "express";

export const ADMIN_FORBIDDEN = "STINGRAY_ERR_ADMIN_FORBIDDEN";
export const ADMIN_UNAUTHORIZED = "STINGRAY_ERR_ADMIN_UNAUTHORIZED";

export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  return v4.startsWith("127.") || address === "::1";
}

function sameSecret(given: string, expected: string): boolean {
  // Hash first so lengths match and timing says nothing about the expected length.
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

export type AdminDecision = { ok: true } | { ok: false; status: 401 | 403; code: string; message: string };

export function checkAdminAccess(input: {
  remoteAddress: string | undefined;
  authorization: string | undefined;
  origin: string | undefined;
  adminToken: string | undefined;
}): AdminDecision {
  if (input.origin !== undefined) {
    return { ok: false, status: 403, code: ADMIN_FORBIDDEN, message: "the admin API does not accept browser requests (Origin header present)" };
  }
  if (input.adminToken) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(input.authorization ?? "");
    if (!m || !sameSecret(m[1]!, input.adminToken)) {
      return { ok: false, status: 401, code: ADMIN_UNAUTHORIZED, message: "the admin API needs a valid admin token (Authorization: Bearer …)" };
    }
    return { ok: true };
  }
  if (!isLoopbackAddress(input.remoteAddress)) {
    return { ok: false, status: 403, code: ADMIN_FORBIDDEN, message: "the admin API only accepts loopback clients unless an admin token is configured" };
  }
  return { ok: true };
}

/**
 * Who may read the dashboard and its JSON APIs. No Origin rule here: a page on another origin
 * cannot read the answers (no CORS headers), and the dashboard's own same-origin GETs must pass.
 */
export function checkReadAccess(input: {
  remoteAddress: string | undefined;
  /** The Host header (undefined: an HTTP/1.0 client, never a browser). */
  host: string | undefined;
  authorization: string | undefined;
  adminToken: string | undefined;
  publicDashboard: boolean;
}): AdminDecision {
  if (input.publicDashboard) return { ok: true };
  if (isLoopbackAddress(input.remoteAddress) && (input.host === undefined || isLoopbackHostHeader(input.host))) return { ok: true };
  if (input.adminToken) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(input.authorization ?? "");
    if (m && sameSecret(m[1]!, input.adminToken)) return { ok: true };
    return { ok: false, status: 401, code: ADMIN_UNAUTHORIZED, message: "the dashboard and status APIs need the admin token (Authorization: Bearer …) from non-loopback clients" };
  }
  return {
    ok: false,
    status: 403,
    code: ADMIN_FORBIDDEN,
    message:
      "the dashboard and status APIs only answer loopback clients (addressed as localhost, 127.0.0.1 or [::1]) unless an admin token is configured or http.publicDashboard is set",
  };
}

/** Whether a Host header names this machine's loopback: localhost, 127.0.0.0/8 or [::1], any port. */
export function isLoopbackHostHeader(host: string): boolean {
  let name: string;
  try {
    name = new URL(`http://${host}`).hostname;
  } catch {
    return false;
  }
  return name === "localhost" || name === "[::1]" || /^127(\.\d{1,3}){3}$/.test(name);
}

/**
 * The start-up warning for a bind other clients can reach, or undefined on a loopback bind: what
 * answers them and what does not, and the option that changes it.
 */
export function exposureWarning(input: { boundHost: string; adminTokenSet: boolean; publicDashboard: boolean }): string | undefined {
  if (isLoopbackAddress(input.boundHost)) return undefined;
  const where = `listening on ${input.boundHost} (reachable from other hosts)`;
  if (input.publicDashboard) {
    return `${where}: the dashboard, /-/api/status and /-/api/timeseries answer anyone (http.publicDashboard / --public-dashboard)${
      input.adminTokenSet ? "" : "; the admin API answers loopback clients only (no admin token)"
    }`;
  }
  if (input.adminTokenSet) return undefined;
  return `${where} without an admin token: the admin API, dashboard, /-/api/status and /-/api/timeseries answer loopback clients only; set an admin token (--admin-token or STINGRAY_ADMIN_TOKEN) to use them remotely, or http.publicDashboard (--public-dashboard) to open the read-only ones. /metrics is open.`;
}

/** Express middleware for the read-only routes (see checkReadAccess). */
export function readGuard(adminToken: string | undefined, publicDashboard: boolean) {
  return function guard(req: Request, res: Response, next: NextFunction): void {
    const decision = checkReadAccess({
      remoteAddress: req.socket.remoteAddress,
      host: req.headers.host,
      authorization: req.headers.authorization,
      adminToken,
      publicDashboard,
    });
    if (decision.ok) return next();
    refuse(res, decision);
  };
}

function refuse(res: Response, decision: Extract<AdminDecision, { ok: false }>): void {
  if (decision.status === 401) res.setHeader("WWW-Authenticate", 'Bearer realm="stingray-admin"');
  res.status(decision.status).json({ error: { code: decision.code, message: decision.message } });
}

export function adminGuard(adminToken: string | undefined) {
  return function guard(req: Request, res: Response, next: NextFunction): void {
    const decision = checkAdminAccess({
      remoteAddress: req.socket.remoteAddress,
      authorization: req.headers.authorization,
      origin: req.headers.origin,
      adminToken,
    });
    if (decision.ok) return next();
    refuse(res, decision);
  };
}
