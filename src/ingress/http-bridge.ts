// The replica side of an HTTP request: rebuilds a web-standard Request from the message the proxy
// sent, runs the ingress's fetch handler, and turns the Response into stream items (the head,
// then body chunks as they are produced). Cancellation flows both ways: the call's signal aborts
// the Request (so the handler stops its work), and a consumer that stops reading cancels the body.

import { CancelledError } from "../errors.ts";
import type { FetchHandler } from "../deployments/ingress-definition.ts";
import type { HttpResponseHead, HttpStreamItem, SerializedHttpRequest } from "../runtime/http-message.ts";
import { lazyRequest } from "./lazy-request.ts";
import { takeSimpleBody } from "./light-response.ts";

const rawBodies = new WeakMap<Request, Uint8Array>();
const bodyDoneHooks = new WeakMap<Response, () => void>();

/**
 * Runs `fn` once the bridge is done with `response`'s body: read to its end, cancelled (client
 * gone, deadline) or failed. For a handler that must release per-request state when its streamed
 * answer is out and would otherwise wrap the stream to find out (see ingress/mcp/legacy-stateless.ts).
 */
export function onBodyDone(response: Response, fn: () => void): void {
  bodyDoneHooks.set(response, fn);
}

/**
 * The request body bytes the proxy already buffered, when `request` came from the bridge. Lets the
 * MCP ingress parse JSON once from bytes instead of draining the Request's stream.
 */
export function rawBodyOf(request: Request): Uint8Array | undefined {
  return rawBodies.get(request);
}

/**
 * How a request is cancelled: the replica's call scope (its signal is the Request's signal, so one
 * AbortController serves the call, the Request and the handler), or `followSignal(...)`.
 */
export interface RequestCancellation {
  readonly signal: AbortSignal;
  readonly aborted: boolean;
  abort(reason: unknown): void;
}

/** A cancellation of its own that also aborts when `signal` (an in-process caller's) does. */
export function followSignal(signal: AbortSignal | undefined): RequestCancellation & { dispose(): void } {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(signal?.reason);
  if (signal?.aborted) controller.abort(signal.reason);
  else signal?.addEventListener("abort", onAbort, { once: true });
  return {
    signal: controller.signal,
    get aborted() {
      return controller.signal.aborted;
    },
    abort: (reason) => controller.abort(reason),
    dispose: () => signal?.removeEventListener("abort", onAbort),
  };
}

export interface ServeHttpOptions {
  /**
   * Build the Request on demand (lazy-request.ts): for handlers known to read only method, URL,
   * headers and signal up front, like the MCP SDK's. Not for arbitrary user handlers, which may
   * pass the Request to `fetch` or `new Request`.
   */
  lazyRequest?: boolean;
}

export function toWebRequest(message: SerializedHttpRequest, signal: AbortSignal, options?: ServeHttpOptions): Request {
  const hasBody = message.body !== null && message.method !== "GET" && message.method !== "HEAD";
  let request: Request;
  if (options?.lazyRequest) {
    request = lazyRequest(message.url, { method: message.method, headers: message.headers, body: message.body, signal });
  } else {
    const init: RequestInit & { duplex?: "half" } = { method: message.method, headers: message.headers, signal };
    if (hasBody) init.body = message.body as Uint8Array<ArrayBuffer>;
    request = new Request(message.url, init);
  }
  if (hasBody) rawBodies.set(request, message.body!);
  return request;
}

function headOf(response: Response): HttpResponseHead {
  const headers: Array<[string, string]> = [];
  response.headers.forEach((value, name) => {
    headers.push([name, value]);
  });
  // fetch's Headers joins repeated Set-Cookie values with ", "; split them back.
  const cookies = response.headers.getSetCookie?.() ?? [];
  if (cookies.length > 1) {
    const rest = headers.filter(([name]) => name !== "set-cookie");
    return { status: response.status, headers: [...rest, ...cookies.map((c): [string, string] => ["set-cookie", c])] };
  }
  return { status: response.status, headers };
}

function internalErrorResponse(): Response {
  return new Response(
    JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32603, message: "Internal error" } }),
    { status: 500, headers: { "content-type": "application/json" } },
  );
}

/**
 * Runs one request through `handler` and yields its response. `cancel` is the call's cancellation
 * (client disconnect, timeout); it aborts the Request and ends the body stream even while the
 * handler is idle between SSE events. A handler that throws answers 500 instead of failing the
 * call, so one bad request never looks like a broken replica.
 */
export async function* serveHttp(
  handler: FetchHandler,
  message: SerializedHttpRequest,
  cancel: RequestCancellation,
  options?: ServeHttpOptions,
): AsyncGenerator<HttpStreamItem, void, undefined> {
  if (cancel.aborted) return;
  const signal = cancel.signal;
  let completed = false;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  const onAbort = (): void => {
    reader?.cancel(signal.reason).catch(() => {});
  };
  signal.addEventListener("abort", onAbort, { once: true });
  let bodyDone: (() => void) | undefined;
  try {
    const request = toWebRequest(message, signal, options);
    let response: Response;
    try {
      response = await handler(request, { signal, auth: message.auth, requestId: message.requestId });
    } catch (err) {
      if (signal.aborted) return;
      reportHandlerError(err);
      response = internalErrorResponse();
    }
    bodyDone = bodyDoneHooks.get(response);
    const simple = takeSimpleBody(response);
    if (signal.aborted) {
      if (!simple) await response.body?.cancel().catch(() => {});
      return;
    }
    const head = headOf(response);
    if (simple) {
      // A LightResponse (light-response.ts): the bytes as given, no stream to read.
      completed = true;
      yield* simpleItems(head, simple.bytes);
      return;
    }
    if (!response.body) {
      head.complete = true;
      completed = true;
      yield head;
      return;
    }
    reader = response.body.getReader();
    if (signal.aborted) {
      await reader.cancel().catch(() => {});
      return;
    }
    let pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;
    if (isWholeDocument(head)) {
      // A JSON answer is one document, useless in pieces: send it with the head (one message
      // across the thread boundary instead of three), up to a cap past which it streams.
      const first = await readUpTo(reader, INLINE_BODY_LIMIT);
      if (signal.aborted) return;
      if (first.bytes.byteLength > 0) head.body = first.bytes;
      if (first.done) head.complete = true;
      completed = first.done;
      yield head;
      if (first.done) return;
    } else {
      // A stream's first bytes often follow within a millisecond (a 2025 answer is one SSE event
      // and the end): wait that long so they — and the end, if it came — share the head's message.
      // Later events go out one by one as they are produced.
      const early = await readWithin(reader, STREAM_COALESCE_MS, INLINE_BODY_LIMIT);
      if (signal.aborted) return;
      if (early.bytes.byteLength > 0) head.body = early.bytes;
      if (early.done) head.complete = true;
      completed = early.done;
      pending = early.pending;
      yield head;
      if (early.done) return;
    }
    for (;;) {
      const { done, value } = await (pending ?? reader.read());
      pending = undefined;
      if (done) {
        completed = true;
        return;
      }
      if (value.byteLength > 0) yield value;
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    // Reached early when the consumer return()s the generator (client gone) or on error: stop the
    // handler's work. A body that ended normally needs no abort (an abort builds a DOMException
    // and wakes every listener: measurable per request).
    if (!completed && !cancel.aborted) cancel.abort(new CancelledError("the response is no longer read"));
    if (!completed) reader?.cancel().catch(() => {});
    bodyDone?.();
  }
}

/** How long a streamed answer's head waits for its first bytes (see serveHttp). */
const STREAM_COALESCE_MS = 2;

/**
 * Reads what arrives within `windowMs` (up to `limit` bytes). A read still in flight when the
 * window closes is handed back as `pending`, so no chunk is lost.
 */
async function readWithin(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  windowMs: number,
  limit: number,
): Promise<{ bytes: Uint8Array; done: boolean; pending?: Promise<ReadableStreamReadResult<Uint8Array>> }> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const closed = new Promise<"window">((resolve) => {
    timer = setTimeout(() => resolve("window"), windowMs);
  });
  try {
    while (size <= limit) {
      const read = reader.read();
      const winner = await Promise.race([read, closed]);
      if (winner === "window") return { bytes: concat(chunks, size), done: false, pending: read };
      if (winner.done) return { bytes: concat(chunks, size), done: true };
      chunks.push(winner.value);
      size += winner.value.byteLength;
    }
    return { bytes: concat(chunks, size), done: false };
  } finally {
    clearTimeout(timer);
  }
}

/** Bodies up to this size travel inside the head message. */
const INLINE_BODY_LIMIT = 256 * 1024;

/** A whole body in hand: inside the head when it fits, else the head then slices of the same cap. */
function* simpleItems(head: HttpResponseHead, bytes: Uint8Array | null): Generator<HttpStreamItem, void, undefined> {
  if (bytes === null || bytes.byteLength <= INLINE_BODY_LIMIT) {
    if (bytes !== null && bytes.byteLength > 0) head.body = bytes;
    head.complete = true;
    yield head;
    return;
  }
  yield head;
  for (let offset = 0; offset < bytes.byteLength; offset += INLINE_BODY_LIMIT) {
    yield bytes.subarray(offset, offset + INLINE_BODY_LIMIT);
  }
}

function isWholeDocument(head: HttpResponseHead): boolean {
  const type = head.headers.find(([n]) => n === "content-type")?.[1] ?? "";
  return /^application\/(?:[\w.+-]+\+)?json\b/i.test(type);
}

async function readUpTo(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  limit: number,
): Promise<{ bytes: Uint8Array; done: boolean }> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size <= limit) {
    const { done, value } = await reader.read();
    if (done) return { bytes: concat(chunks, size), done: true };
    chunks.push(value);
    size += value.byteLength;
  }
  return { bytes: concat(chunks, size), done: false };
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

function reportHandlerError(err: unknown): void {
  // The replica keeps serving; the error goes to the replica's stderr for its operator.
  const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`stingray ingress: handler failed: ${text}\n`);
}
