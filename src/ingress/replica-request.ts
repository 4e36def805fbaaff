// What a replica receives of an HTTP request, built in the proxy: the headers worth forwarding
// (no connection-scoped ones, no credential once the proxy verified it, the request id the proxy
// settled on) and the body's exact bytes.

import type { IncomingMessage } from "node:http";

// Never forwarded to a replica: connection-scoped (RFC 9110 §7.6.1), or recomputed for the
// rebuilt Request (content-length, since the body is re-framed).
const DROP_REQUEST_HEADERS = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "content-length",
  "expect",
  "x-request-id",
]);

export function forwardedHeaders(req: IncomingMessage, requestId: string, dropAuthorization: boolean): Array<[string, string]> {
  const raw = req.rawHeaders;
  const out: Array<[string, string]> = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (DROP_REQUEST_HEADERS.has(name)) continue;
    // The proxy verified the token; the replica gets the identity, never the credential.
    if (dropAuthorization && name === "authorization") continue;
    out.push([name, raw[i + 1]!]);
  }
  out.push(["x-request-id", requestId]);
  return out;
}

/**
 * The body as a Uint8Array over exactly its bytes. Cloning a view to the replica copies its whole
 * ArrayBuffer, and a small Buffer often sits in Node's shared 8 KiB pool: copy those few bytes out.
 */
export function exactBytes(body: Buffer): Uint8Array {
  if (body.byteOffset === 0 && body.byteLength === body.buffer.byteLength) {
    return new Uint8Array(body.buffer, 0, body.byteLength);
  }
  return new Uint8Array(body);
}
