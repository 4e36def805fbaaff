// The one call contract shared by replicas (main-thread actor proxies), the router and handles.
// A handle call inside a worker thread goes up to the main thread through a CallTransport too.

import type { DeploymentId } from "./ids.ts";

export interface CallOptions {
  /** Aborting cancels the call in the replica (the replica itself keeps running). */
  signal?: AbortSignal;
  /** Reject with TimeoutError (and cancel in the replica) after this many ms. */
  timeoutMs?: number;
  /**
   * A long-lived stream (an SSE subscription that stays open while idle): it takes one of the
   * replica's `maxOngoingStreams` slots instead of a `maxOngoingRequests` one, and never counts as
   * load (least-loaded choice, autoscaling).
   */
  longLived?: boolean;
  /** W3C traceparent of the caller's span (tracing on): the replica's span becomes its child. */
  traceparent?: string;
  /** W3C tracestate going with `traceparent`, passed on unchanged. */
  tracestate?: string;
}

/** How a handle reaches a deployment: the router in the main thread, a port in a worker. */
export interface CallTransport {
  call(target: DeploymentId, method: string, args: unknown[], options?: CallOptions): Promise<unknown>;
  /** Calls an async-generator method; items arrive in order; breaking out of the loop cancels. */
  stream(target: DeploymentId, method: string, args: unknown[], options?: CallOptions): AsyncIterable<unknown>;
}
