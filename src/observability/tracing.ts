// Tracing's entry point: resolves whether tracing is on and, only then, loads the SDK modules
// (tracing-sdk.ts, tracing-spans.ts) with a dynamic import. With tracing off the caller gets
// `undefined` and nothing from @opentelemetry is loaded, so the per-request cost is one
// `tracer === undefined` check. The interfaces below are what the proxy, the worker entry and the
// worker's call transport see; they never touch the OpenTelemetry API themselves.

import type { DeploymentId } from "../runtime/ids.ts";
import type { McpSpanContext } from "./mcp-span-names.ts";
import { resolveTracingOptions, type ResolvedTracingOptions } from "./tracing-options.ts";
import type { TracingSdk } from "./tracing-sdk.ts";

export type { TracingSdk } from "./tracing-sdk.ts";
export type { ResolvedTracingOptions, TracingOptions } from "./tracing-options.ts";

/** The proxy's SERVER span for one application request. */
export interface RequestSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** W3C traceparent naming this span: the replica call's parent. */
  readonly traceparent: string;
  /** W3C tracestate the span carries on (the incoming header's vendor entries), if any. */
  readonly tracestate: string | undefined;
  /** Renames the span and adds the MCP attributes once the JSON-RPC body is parsed. */
  describeMcp(body: unknown, context: McpSpanContext): void;
  /** Ends the span with the answer's status (5xx marks it an error). */
  end(status: number, error?: string): void;
}

export interface RequestSpanInfo {
  method: string;
  /** Request path without the query (a query can carry a credential). */
  path: string;
  app: string;
  deployment: string;
  /** The route prefix that matched (http.route). */
  route: string;
}

/** Starts the proxy's request spans (main thread). */
export interface RequestTracer {
  /** `headers` are the incoming ones: a valid `traceparent` makes the span its child. */
  startRequest(headers: Record<string, string | string[] | undefined>, info: RequestSpanInfo): RequestSpan;
}

/** A span in a replica's worker thread: a replica call (SERVER) or a handle call it made (CLIENT). */
export interface CallSpan {
  readonly traceparent: string;
  readonly tracestate: string | undefined;
  /** A CLIENT span for a handle call made while this call runs, its child. */
  startHandleCall(target: DeploymentId, method: string): CallSpan;
  end(error?: unknown): void;
}

/** Starts the replica-call spans of one replica (its worker thread's own provider and exporter). */
export interface ReplicaTracer {
  /**
   * The span of one call; its parent is `traceparent` when the caller sent one (with its
   * `tracestate`, carried on unchanged), else a new trace.
   */
  startCall(traceparent: string | undefined, method: string, tracestate?: string): CallSpan;
  /** Exports every span ended so far (before the thread is stopped). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** Who the replica is, for its spans' attributes. */
export interface ReplicaSpanInfo {
  appName: string;
  deploymentName: string;
  replicaId: string;
}

/** The main thread's tracing: the resolved options (handed to every replica) and the proxy's tracer. */
export interface RuntimeTracing {
  readonly options: ResolvedTracingOptions;
  readonly requests: RequestTracer;
  shutdown(): Promise<void>;
}

/** The tracing SDK when the option or the OTEL_* environment turns tracing on, else undefined. */
export async function startTracing(option: unknown, env: NodeJS.ProcessEnv = process.env): Promise<TracingSdk | undefined> {
  const options = resolveTracingOptions(option, env);
  if (options === undefined) return undefined;
  const { createTracingSdk } = await import("./tracing-sdk.ts");
  return createTracingSdk(options);
}

/**
 * The runtime's tracing, or undefined when it is off. `where` names the option in errors (a bad
 * option or OTEL_* variable fails here, before anything starts).
 */
export async function startRuntimeTracing(
  option: unknown,
  where: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RuntimeTracing | undefined> {
  const options = resolveTracingOptions(option, env, where);
  if (options === undefined) return undefined;
  const [{ createTracingSdk }, { createRequestTracer }] = await Promise.all([import("./tracing-sdk.ts"), import("./tracing-spans.ts")]);
  const sdk = createTracingSdk(options);
  return { options, requests: createRequestTracer(sdk), shutdown: () => bounded(sdk.shutdown(), SHUTDOWN_EXPORT_MS) };
}

/** How long shutdown waits for the last spans to export (an unreachable collector must not hold it). */
const SHUTDOWN_EXPORT_MS = 2_000;

function bounded(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

/** A replica thread's tracer (called only when its init carries tracing options). */
export async function startReplicaTracing(options: ResolvedTracingOptions, replica: ReplicaSpanInfo): Promise<ReplicaTracer> {
  const [{ createTracingSdk }, { createReplicaTracer }] = await Promise.all([import("./tracing-sdk.ts"), import("./tracing-spans.ts")]);
  return createReplicaTracer(createTracingSdk(options), replica);
}
