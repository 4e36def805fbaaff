// Sends one buffered request to a replica through the HttpDispatcher and streams the response
// back: head as soon as the replica produced it, then each body chunk as it arrives (SSE events
// reach the client while the handler is still running). A client disconnect or the request's
// deadline aborts the dispatch, which cancels the work in the replica. Failures before the head
// become JSON-RPC errors through the one status mapping (error-response.ts).

import type { IncomingMessage, ServerResponse } from "node:http";
import { CancelledError, TimeoutError } from "../errors.ts";
import type { ReplicaId } from "../runtime/ids.ts";
import type { ReplicaPlacement } from "../runtime/replica-picker.ts";
import type { HttpResponseHead, SerializedHttpRequest } from "../runtime/http-message.ts";
import type { RequestSpan } from "../observability/tracing.ts";
import { answerForError } from "./error-response.ts";
import { sendJsonRpcError } from "./respond.ts";
import type { DispatchResult, HttpDispatcher } from "./types.ts";

/** What happened to one request, for the access log and metrics. */
export interface RequestRecord {
  status: number;
  replica?: string;
  error?: string;
  /** The proxy's span for the request (tracing on). */
  span?: RequestSpan;
}

export interface ForwardOptions {
  appName: string;
  message: SerializedHttpRequest;
  replicaId?: ReplicaId;
  timeoutMs?: number;
  /** A long-lived stream (see DispatchOptions.longLived); it has no deadline either. */
  longLived?: boolean;
  /** Where a new request may go (see DispatchOptions.placement). */
  placement?: ReplicaPlacement;
  /** The JSON-RPC id of the request, echoed by error answers. */
  rpcId?: string | number | null;
  /** A session pinned this request (a dead replica then reads as "session not found"). */
  pinnedSession?: boolean;
  /** Sees the head before it is written (session bookkeeping). */
  onHead?: (result: DispatchResult) => void;
  /** Sees a dispatch failure before the error answer is written. */
  onDispatchError?: (err: unknown) => void;
  /**
   * The last SSE event to write when the call fails after the head went out (the deadline passed,
   * the replica or its node died): a JSON-RPC error for the request, so the client gets an answer
   * instead of a silently cut stream it may wait on until its own timeout.
   */
  errorEvent?: (cause: unknown) => Uint8Array | undefined;
}

const TIMEOUT_BACKSTOP_MS = 1_000;

// Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection, never forwarded.
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"]);

export async function forward(
  dispatcher: HttpDispatcher,
  req: IncomingMessage,
  res: ServerResponse,
  options: ForwardOptions,
  record: RequestRecord,
): Promise<void> {
  const controller = new AbortController();
  const onClose = (): void => {
    if (!res.writableFinished) controller.abort(new CancelledError("the client disconnected"));
  };
  res.once("close", onClose);
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (options.timeoutMs !== undefined) {
    // The dispatcher enforces the deadline itself (so the replica learns it was a timeout, not a
    // disconnect); this timer only backs up a dispatcher that does not.
    timer = setTimeout(
      () => controller.abort(new TimeoutError(`the request took longer than ${options.timeoutMs} ms`)),
      options.timeoutMs + TIMEOUT_BACKSTOP_MS,
    );
  }
  try {
    let result: DispatchResult;
    try {
      // One object with every key (undefined when unset): no spread temporaries on the hot path.
      result = await dispatcher.dispatch(options.appName, options.message, {
        signal: controller.signal,
        replicaId: options.replicaId,
        timeoutMs: options.timeoutMs,
        longLived: options.longLived,
        placement: options.placement,
        traceparent: record.span?.traceparent,
        tracestate: record.span?.tracestate,
      });
    } catch (err) {
      // The abort reason says why better than whatever the router rejected with.
      const cause = controller.signal.aborted ? controller.signal.reason : err;
      options.onDispatchError?.(cause);
      failBeforeHead(res, cause, options, record);
      return;
    }
    record.replica = result.replicaId;
    record.status = result.head.status;
    options.onHead?.(result);
    await stream(result, req, res, controller.signal, (err) => failBeforeHead(res, err, options, record), options.errorEvent);
  } finally {
    if (timer) clearTimeout(timer);
    res.off("close", onClose);
  }
}

function failBeforeHead(res: ServerResponse, cause: unknown, options: ForwardOptions, record: RequestRecord): void {
  if (res.destroyed || (cause as { code?: string } | null)?.code === CANCELLED) {
    record.status = 499;
    return;
  }
  const answer = answerForError(cause, { pinnedSession: options.pinnedSession === true });
  record.status = answer.status;
  record.error = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
  sendJsonRpcError(res, answer.status, answer.code, answer.message, { id: options.rpcId ?? null, headers: answer.headers });
}

const CANCELLED = new CancelledError().code;

function writeHead(res: ServerResponse, head: HttpResponseHead, contentLength?: number): void {
  let hasLength = false;
  for (const [name, value] of head.headers) {
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) continue;
    if (lower === "content-length") hasLength = true;
    // appendHeader keeps repeated headers (Set-Cookie) and what the proxy set before (X-Request-ID).
    res.appendHeader(lower, value);
  }
  if (contentLength !== undefined && !hasLength) res.setHeader("content-length", contentLength);
  res.writeHead(head.status);
}

async function stream(
  result: DispatchResult,
  req: IncomingMessage,
  res: ServerResponse,
  signal: AbortSignal,
  failBeforeHead: (err: unknown) => void,
  errorEvent: ((cause: unknown) => Uint8Array | undefined) | undefined,
): Promise<void> {
  const contentType = result.head.headers.find(([n]) => n.toLowerCase() === "content-type")?.[1] ?? "";
  const streaming = contentType.toLowerCase().startsWith("text/event-stream");
  const iterator = result.body[Symbol.asyncIterator]();
  const stopOnAbort = (): void => {
    void iterator.return?.();
  };
  signal.addEventListener("abort", stopOnAbort, { once: true });
  if (result.head.complete) {
    // The whole body came with the head: answer now, then let the (empty) stream end in the
    // background — waiting for its end message would cost one more thread hop of latency.
    writeHead(res, result.head, result.head.body?.byteLength ?? 0);
    res.end(result.head.body);
    signal.removeEventListener("abort", stopOnAbort);
    void drain(iterator);
    if (!req.complete) req.resume();
    return;
  }
  if (streaming) {
    writeHead(res, result.head);
    // An SSE stream may stay quiet for a while: the client must see the head now.
    res.flushHeaders();
  }
  try {
    // A non-streaming body is held one chunk back, so a one-chunk JSON answer goes out as one
    // write with Content-Length (no chunked framing, one packet).
    let held: Uint8Array | undefined = result.head.body;
    if (held !== undefined && streaming) {
      await write(res, held);
      held = undefined;
    }
    for (;;) {
      const item = await raceSignal(iterator.next(), signal);
      if (item.done) break;
      if (res.destroyed) return;
      if (streaming) {
        await write(res, item.value);
        continue;
      }
      if (held) {
        if (!res.headersSent) writeHead(res, result.head);
        await write(res, held);
      }
      held = item.value;
    }
    if (!res.headersSent) writeHead(res, result.head, held?.byteLength ?? 0);
    res.end(held);
  } catch (err) {
    const cause = signal.aborted ? signal.reason : err;
    if (res.destroyed) return;
    if (!res.headersSent) {
      failBeforeHead(cause);
      return;
    }
    // Mid-body failure (replica died, deadline): the status line is gone. An SSE stream ends with
    // the error as its last event; anything else is cut short so the client sees it broken.
    const event = streaming ? errorEvent?.(cause) : undefined;
    if (event || isTimeout(cause)) res.end(event);
    else res.destroy();
  } finally {
    signal.removeEventListener("abort", stopOnAbort);
    if (!req.complete) req.resume();
  }
}

function isTimeout(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === TIMEOUT;
}

const TIMEOUT = new TimeoutError("").code;

/** Reads a stream to its end, ignoring what comes (it frees the replica's slot when it ends). */
async function drain(iterator: AsyncIterator<Uint8Array>): Promise<void> {
  try {
    while (!(await iterator.next()).done);
  } catch {
    // The answer is out; a late failure changes nothing for the client.
  }
}

/** Rejects with the abort reason as soon as `signal` aborts, whatever `promise` is doing. */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

function write(res: ServerResponse, chunk: Uint8Array): Promise<void> {
  if (res.write(chunk)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}
