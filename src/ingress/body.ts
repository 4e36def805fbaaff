// Reads a request body into memory under a byte limit. The proxy buffers bodies (they are bounded,
// and MCP routing needs the parsed message); a declared Content-Length over the limit is refused
// before reading anything, and a body that grows past it stops being kept at once. A body that
// arrived whole with its headers (the usual MCP request) is taken in one read.

import type { IncomingMessage } from "node:http";

export type BodyResult = { ok: true; body: Buffer } | { ok: false; reason: "too-large" | "aborted" };

export function readBody(req: IncomingMessage, limitBytes: number): Promise<BodyResult> {
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > limitBytes) return Promise.resolve({ ok: false, reason: "too-large" });
  // The request event fires from the HTTP parser before it parses the body bytes that came in the
  // same packet; one microtask later those bytes sit in the request stream's buffer (`complete`
  // may still be false). A body that is all there is taken in one read() instead of listening
  // for data/end.
  const declaredBytes = declared === undefined ? undefined : Number(declared);
  return Promise.resolve().then(() => readBuffered(req, limitBytes, declaredBytes) ?? readStreaming(req, limitBytes));
}

/** The whole body when it is already buffered (complete, or all the bytes Content-Length named). */
function readBuffered(req: IncomingMessage, limitBytes: number, declaredBytes: number | undefined): BodyResult | undefined {
  if (req.readableFlowing === true || req.readableEnded) return undefined;
  const whole = req.complete || (declaredBytes !== undefined && req.readableLength === declaredBytes);
  if (!whole) return undefined;
  const chunk = req.read() as Buffer | null;
  const body = chunk ?? Buffer.alloc(0);
  if (body.length > limitBytes) return { ok: false, reason: "too-large" };
  return { ok: true, body };
}

function readStreaming(req: IncomingMessage, limitBytes: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (result: BodyResult): void => {
      if (settled) return;
      settled = true;
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limitBytes) {
        chunks.length = 0;
        finish({ ok: false, reason: "too-large" });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => finish({ ok: true, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) });
    const onError = (): void => finish({ ok: false, reason: "aborted" });
    const onClose = (): void => {
      if (!req.complete) finish({ ok: false, reason: "aborted" });
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
}
