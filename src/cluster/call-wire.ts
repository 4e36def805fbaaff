// The cross-node call protocol over core NATS, in one place: the messages a caller's node and a
// replica's node exchange, and their encoding. A call is published on the owning node's subject
// (`stingray.<cluster>.call.<nodeId>`) with a reply subject unique to the call; every answer to it
// (a result, an error, stream items, the stream's end) comes back on that reply subject, and the
// caller's cancels and stream credits go to the owner's control subject. Bodies use V8's
// structured-clone serializer, so a remote call carries exactly what a call to a local worker
// thread carries (Uint8Array bodies, Maps, Dates, BigInts, undefined). No NATS import here.

import { deserialize, serialize } from "node:v8";
import { PayloadTooLargeError, type SerializedError } from "../errors.ts";

/** Stream items a caller lets the owner send before it hears more credit. */
export const STREAM_WINDOW = 32;

/** A call, from the caller's node to the replica's node. */
export interface CallRequest {
  k: "call" | "stream";
  /** The caller's node (the owner cancels its calls when that node dies). */
  from: string;
  app: string;
  dep: string;
  rid: string;
  method: string;
  args: unknown[];
  /** What is left of the caller's deadline, in ms. */
  timeoutMs?: number;
  longLived?: boolean;
  /** Stream items the owner may send before waiting for credit. */
  credit?: number;
  /** W3C traceparent of the caller's span (tracing on): the replica's span continues the trace. */
  traceparent?: string;
  /** W3C tracestate going with it. */
  tracestate?: string;
}

/**
 * From the caller to the owner's control subject, naming the call by its reply subject. `status`
 * asks what became of a call after a connection to a NATS server broke (a message in transit
 * through a dying server is lost): the owner answers on the call's reply subject.
 */
export type CallControl =
  | { k: "cancel"; reply: string }
  | { k: "credit"; reply: string; n: number }
  /** `fromSeq`: for a stream, the first item the caller is missing (the owner replays from it). */
  | { k: "status"; reply: string; fromSeq?: number };

/** From the owner, on the call's reply subject. */
export type CallAnswer =
  | { k: "ok"; value: unknown }
  | { k: "item"; seq: number; value: unknown }
  | { k: "end"; seq: number }
  /** `undelivered`: the replica never saw the call (not on this node, or not routable now). */
  | { k: "err"; error: SerializedError; undelivered?: boolean }
  /**
   * The answer to a `status` question: the call is still running, the owner never saw it (safe to
   * send elsewhere), or it finished and its answer cannot be sent again (a stream, a large result).
   * A finished unary call whose answer the owner still holds gets that answer again instead.
   */
  | { k: "status"; state: "running" | "unknown" | "finished"; replay?: boolean };

export function callSubject(cluster: string, nodeId: string): string {
  return `stingray.${cluster}.call.${nodeId}`;
}

export function controlSubject(cluster: string, nodeId: string): string {
  return `stingray.${cluster}.ctl.${nodeId}`;
}

export function encode(message: CallRequest | CallControl | CallAnswer | object, maxPayload: number, what: string): Uint8Array {
  const bytes = serialize(message);
  if (bytes.length > maxPayload) {
    throw new PayloadTooLargeError(
      `${what} is ${formatBytes(bytes.length)}, over the NATS server's max_payload of ${formatBytes(maxPayload)}; ` +
        "send large data in smaller pieces (a stream), or raise max_payload in the nats-server configuration (up to 64 MiB)",
    );
  }
  return bytes;
}

export function decode<T>(data: Uint8Array): T {
  return deserialize(data) as T;
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / (1024 * 1024)).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}
