// Maps runtime errors to HTTP answers: the ONE place where a StingrayError code becomes a status
// line (and Retry-After), and where it picks its JSON-RPC code. The proxy calls this for every
// failure that happens before a replica produced a response head.

import { ErrorCode } from "../errors.ts";
import { JsonRpcCode } from "./jsonrpc.ts";

export interface ErrorAnswer {
  status: number;
  code: JsonRpcCode;
  message: string;
  headers?: Record<string, string>;
}

/** Client-safe message per error code; internal details (stacks, user messages) never leak. */
export function answerForError(err: unknown, context: { pinnedSession: boolean }): ErrorAnswer {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case ErrorCode.BACKPRESSURE:
      return {
        status: 503,
        code: JsonRpcCode.SERVER_ERROR,
        message: "Service Unavailable: too many queued requests, retry later",
        headers: { "retry-after": "1" },
      };
    case ErrorCode.STREAM_LIMIT:
      // A stream slot frees only when some client leaves: a quick retry would rarely find one.
      return {
        status: 503,
        code: JsonRpcCode.SERVER_ERROR,
        message: "Service Unavailable: too many open streams, retry later",
        headers: { "retry-after": "5" },
      };
    case ErrorCode.REPLICA_BUSY:
      return {
        status: 503,
        code: JsonRpcCode.SERVER_ERROR,
        message: "Service Unavailable: no replica can take the request, retry later",
        headers: { "retry-after": "1" },
      };
    case ErrorCode.REPLICA_DIED:
    case ErrorCode.REPLICA_STOPPED:
      // A session lives in its replica's memory: when the replica is gone the session is gone, and
      // 404 is what tells an MCP client to initialize again.
      if (context.pinnedSession) {
        return { status: 404, code: JsonRpcCode.SESSION_NOT_FOUND, message: "Session not found" };
      }
      return {
        status: 503,
        code: JsonRpcCode.SERVER_ERROR,
        message: "Service Unavailable: the replica stopped while serving the request",
        headers: { "retry-after": "1" },
      };
    case ErrorCode.TIMEOUT:
      return { status: 504, code: JsonRpcCode.SERVER_ERROR, message: "Gateway Timeout: the request took too long" };
    case ErrorCode.APP_NOT_FOUND:
    case ErrorCode.DEPLOYMENT_NOT_FOUND:
      return { status: 404, code: JsonRpcCode.SERVER_ERROR, message: "Not Found: no application serves this route" };
    case ErrorCode.SHUTTING_DOWN:
      return {
        status: 503,
        code: JsonRpcCode.SERVER_ERROR,
        message: "Service Unavailable: the server is shutting down",
        headers: { connection: "close" },
      };
    case ErrorCode.DEPLOY_FAILED:
    case ErrorCode.RESOURCE_UNAVAILABLE:
    case ErrorCode.REPLICA_START_FAILED:
      return {
        status: 503,
        code: JsonRpcCode.SERVER_ERROR,
        message: "Service Unavailable: the application has no running replica",
        headers: { "retry-after": "5" },
      };
    case ErrorCode.CANCELLED:
      // Only reached when the client went away; nobody reads this answer.
      return { status: 499, code: JsonRpcCode.SERVER_ERROR, message: "Client Closed Request" };
    default:
      return { status: 500, code: JsonRpcCode.INTERNAL_ERROR, message: "Internal error" };
  }
}
