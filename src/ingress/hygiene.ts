// MCP transport hygiene, as pure checks the proxy runs before a request reaches any replica: Host
// and Origin (DNS rebinding, the spec's MUST), Accept and Content-Type, protocol-version support,
// and the JSON-RPC shape of the body (batches only for the revisions that still had them). Each
// check returns null when the request may pass, or a Rejection saying exactly what to answer.

import { isJsonContentType, validateHostHeader, validateOriginHeader } from "@modelcontextprotocol/server";
import { JsonRpcCode, requestIdOf } from "./jsonrpc.ts";

export interface Rejection {
  status: number;
  code: JsonRpcCode;
  message: string;
  data?: unknown;
  id?: string | number | null;
  headers?: Record<string, string>;
}

/** 2025-era revisions, newest first (the SDK's list of legacy versions). */
export const LEGACY_PROTOCOL_VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", "2024-10-07"] as const;
export const MODERN_PROTOCOL_VERSIONS = ["2026-07-28"] as const;
export const SUPPORTED_PROTOCOL_VERSIONS: readonly string[] = [...MODERN_PROTOCOL_VERSIONS, ...LEGACY_PROTOCOL_VERSIONS];
/** Revisions that still allowed JSON-RPC batches (removed in 2025-06-18). */
const BATCH_VERSIONS = new Set(["2025-03-26", "2024-11-05", "2024-10-07"]);

const ENVELOPE_VERSION_KEY = "io.modelcontextprotocol/protocolVersion";

const LOCALHOST_NAMES = ["localhost", "127.0.0.1", "[::1]"];

export function localhostNames(): string[] {
  return [...LOCALHOST_NAMES];
}

export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127(\.\d{1,3}){3}$/.test(host);
}

/**
 * Host values already accepted, per allow-list (a route's list is built once and never changed).
 * Validating parses a URL (5–20 µs, a hot-path cost at concurrency 1), and a client sends the same
 * Host on every request. Only acceptances are kept, at most ACCEPTED_HOSTS_CAP per list.
 */
const acceptedHosts = new WeakMap<string[], Set<string>>();
const ACCEPTED_HOSTS_CAP = 64;

export function checkHost(hostHeader: string | undefined, allowed: string[] | undefined): Rejection | null {
  if (!allowed) return null;
  const accepted = hostHeader === undefined ? undefined : acceptedHosts.get(allowed);
  if (accepted?.has(hostHeader!)) return null;
  const result = validateHostHeader(hostHeader, allowed);
  if (result.ok) {
    if (hostHeader !== undefined) {
      if (!accepted) acceptedHosts.set(allowed, new Set([hostHeader]));
      else if (accepted.size < ACCEPTED_HOSTS_CAP) accepted.add(hostHeader);
    }
    return null;
  }
  return { status: 403, code: JsonRpcCode.SERVER_ERROR, message: `Forbidden: ${result.message}` };
}

/** Requests without Origin pass (non-browser clients); a present Origin must be allowed. */
export function checkOrigin(originHeader: string | undefined, allowed: string[]): Rejection | null {
  if (originHeader === undefined || originHeader === "") return null;
  const result = validateOriginHeader(originHeader, allowed);
  if (result.ok) return null;
  return { status: 403, code: JsonRpcCode.SERVER_ERROR, message: `Forbidden: ${result.message}` };
}

/** Whether an Accept header admits `type`, exactly or through its wildcard ranges. */
function accepts(accept: string, type: string, range: string): boolean {
  return accept
    .toLowerCase()
    .split(",")
    .some((part) => {
      const t = part.split(";")[0]!.trim();
      return t === type || t === range || t === "*/*";
    });
}

// Clients send the same few Accept values over and over: remember the verdicts (bounded).
const postAcceptVerdicts = new Map<string, boolean>();

function postAcceptable(accept: string): boolean {
  let ok = postAcceptVerdicts.get(accept);
  if (ok === undefined) {
    ok = accepts(accept, "application/json", "application/*") && accepts(accept, "text/event-stream", "text/*");
    if (postAcceptVerdicts.size >= 64) postAcceptVerdicts.clear();
    postAcceptVerdicts.set(accept, ok);
  }
  return ok;
}

/** POST: the client must accept both JSON and SSE (either answer shape may come back). */
export function checkPostAccept(accept: string | undefined): Rejection | null {
  if (accept && postAcceptable(accept)) return null;
  return {
    status: 406,
    code: JsonRpcCode.SERVER_ERROR,
    message: "Not Acceptable: Client must accept both application/json and text/event-stream",
  };
}

/** GET opens an SSE stream: the client must accept text/event-stream. */
export function checkGetAccept(accept: string | undefined): Rejection | null {
  if (accept && accepts(accept, "text/event-stream", "text/*")) return null;
  return { status: 406, code: JsonRpcCode.SERVER_ERROR, message: "Not Acceptable: Client must accept text/event-stream" };
}

export function checkContentType(contentType: string | undefined): Rejection | null {
  if (contentType !== undefined && isJsonContentType(contentType)) return null;
  return { status: 415, code: JsonRpcCode.SERVER_ERROR, message: "Unsupported Media Type: Content-Type must be application/json" };
}

/**
 * A 2025-style request (no `_meta` envelope claim) naming a revision nobody here serves. Requests
 * with an envelope claim are left to the 2026-07-28 handler: it answers version problems with the
 * versions its server/discover lists, and a header that disagrees with the claim with -32020.
 */
export function checkProtocolVersionHeader(version: string | undefined, id: string | number | null = null): Rejection | null {
  if (version === undefined || SUPPORTED_PROTOCOL_VERSIONS.includes(version)) return null;
  return {
    status: 400,
    code: JsonRpcCode.UNSUPPORTED_VERSION,
    message: `Bad Request: Unsupported protocol version: ${version}`,
    data: { supported: [...SUPPORTED_PROTOCOL_VERSIONS], requested: version },
    id,
  };
}

/** What the proxy learned from a valid body (for routing, timeouts and metrics). */
export interface BodyInfo {
  /** The method of a single message (undefined for batches and responses). */
  method?: string;
  /** `params.name` of tools/call, prompts/get (for metrics). */
  name?: string;
  isBatch: boolean;
}

/** Validates the JSON-RPC shape of a parsed POST body. */
export function checkBody(body: unknown, versionHeader: string | undefined): Rejection | BodyInfo {
  if (Array.isArray(body)) {
    if (body.length === 0) {
      return { status: 400, code: JsonRpcCode.INVALID_REQUEST, message: "Bad Request: empty JSON-RPC batch" };
    }
    const modern = body.some((m) => envelopeVersion(m) !== undefined);
    if (modern || (versionHeader !== undefined && !BATCH_VERSIONS.has(versionHeader))) {
      return {
        status: 400,
        code: JsonRpcCode.INVALID_REQUEST,
        message: `Bad Request: JSON-RPC batches are not supported by protocol revision ${versionHeader ?? "2026-07-28"}`,
      };
    }
    if (!body.every(isMessageShaped)) return notJsonRpc();
    const rejected = checkProtocolVersionHeader(versionHeader);
    if (rejected) return rejected;
    return { isBatch: true };
  }
  if (!isMessageShaped(body)) return notJsonRpc();
  const message = body as { method?: unknown; params?: { name?: unknown } };
  if (envelopeVersion(body) === undefined) {
    const rejected = checkProtocolVersionHeader(versionHeader, requestIdOf(body));
    if (rejected) return rejected;
  }
  const info: BodyInfo = { isBatch: false };
  if (typeof message.method === "string") info.method = message.method;
  if (typeof message.params?.name === "string") info.name = message.params.name;
  return info;
}

function notJsonRpc(): Rejection {
  return { status: 400, code: JsonRpcCode.INVALID_REQUEST, message: "Bad Request: the request body is not a valid JSON-RPC message" };
}

function isMessageShaped(m: unknown): boolean {
  if (typeof m !== "object" || m === null || Array.isArray(m)) return false;
  const msg = m as { jsonrpc?: unknown; method?: unknown; result?: unknown; error?: unknown };
  return msg.jsonrpc === "2.0" && (typeof msg.method === "string" || "result" in msg || "error" in msg);
}

function envelopeVersion(m: unknown): string | undefined {
  const meta = (m as { params?: { _meta?: Record<string, unknown> } } | null)?.params?._meta;
  const v = meta?.[ENVELOPE_VERSION_KEY];
  return typeof v === "string" ? v : undefined;
}

export function isRejection(x: Rejection | BodyInfo): x is Rejection {
  return "status" in x;
}
