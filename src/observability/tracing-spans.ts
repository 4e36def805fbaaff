// The spans stingray makes, on top of a TracingSdk: the proxy's SERVER span per application
// request (HTTP attributes, renamed and given the MCP attributes once the JSON-RPC body is
// parsed), a replica call's SERVER span in the worker thread (named `{deployment}/{method}` as
// RPC spans are, the ingress's HTTP handler shown as `fetch`), and a CLIENT span per handle call
// a replica makes. Spans are linked explicitly (parent passed in, W3C traceparent across the
// thread boundary): nothing is registered globally, so a user's own OpenTelemetry setup is left
// alone. Loaded only when tracing is on (it imports the OpenTelemetry API).

import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span, type Tracer } from "@opentelemetry/api";
import { HTTP_HANDLER_METHOD } from "../runtime/http-message.ts";
import type { DeploymentId } from "../runtime/ids.ts";
import { describeMcpMessage, type McpSpanContext } from "./mcp-span-names.ts";
import type { CallSpan, ReplicaSpanInfo, ReplicaTracer, RequestSpan, RequestSpanInfo, RequestTracer } from "./tracing.ts";
import type { TracingSdk } from "./tracing-sdk.ts";

const RPC_SYSTEM = "stingray";

function traceparentOf(span: Span): string {
  const c = span.spanContext();
  return `00-${c.traceId}-${c.spanId}-${(c.traceFlags & 0xff).toString(16).padStart(2, "0")}`;
}

/** The span's W3C tracestate (inherited from its parent), undefined when empty. */
function tracestateOf(span: Span): string | undefined {
  return span.spanContext().traceState?.serialize() || undefined;
}

function errorType(error: unknown): string {
  if (error instanceof Error) return (error as { code?: unknown }).code !== undefined ? String((error as { code?: unknown }).code) : error.name;
  return "Error";
}

class ProxyRequestSpan implements RequestSpan {
  readonly #span: Span;
  readonly traceId: string;
  readonly spanId: string;
  readonly traceparent: string;
  readonly tracestate: string | undefined;

  constructor(span: Span) {
    this.#span = span;
    const c = span.spanContext();
    this.traceId = c.traceId;
    this.spanId = c.spanId;
    this.traceparent = traceparentOf(span);
    this.tracestate = tracestateOf(span);
  }

  describeMcp(body: unknown, context: McpSpanContext): void {
    const d = describeMcpMessage(body, context);
    if (d === undefined) return;
    this.#span.updateName(d.name);
    this.#span.setAttributes(d.attributes);
  }

  end(status: number, error?: string): void {
    this.#span.setAttribute("http.response.status_code", status);
    // HTTP server spans are errors for 5xx only (a 4xx is the client's mistake).
    if (status >= 500) {
      this.#span.setAttribute("error.type", String(status));
      this.#span.setStatus({ code: SpanStatusCode.ERROR, ...(error ? { message: error } : {}) });
    }
    this.#span.end();
  }
}

export function createRequestTracer(sdk: TracingSdk): RequestTracer {
  const tracer = sdk.tracer;
  return {
    startRequest(headers, info: RequestSpanInfo) {
      const span = tracer.startSpan(
        `${info.method} ${info.route}`,
        {
          kind: SpanKind.SERVER,
          attributes: {
            "http.request.method": info.method,
            "http.route": info.route,
            "url.path": info.path,
            "stingray.app": info.app,
            "stingray.deployment": info.deployment,
          },
        },
        sdk.extract(headers),
      );
      return new ProxyRequestSpan(span);
    },
  };
}

class WorkerSpan implements CallSpan {
  readonly #tracer: Tracer;
  readonly #span: Span;
  readonly traceparent: string;
  readonly tracestate: string | undefined;

  constructor(tracer: Tracer, span: Span) {
    this.#tracer = tracer;
    this.#span = span;
    this.traceparent = traceparentOf(span);
    this.tracestate = tracestateOf(span);
  }

  startHandleCall(target: DeploymentId, method: string): CallSpan {
    // An empty deployment name is the application's ingress (`serve.getAppHandle` in a replica).
    const service = target.deployment || target.app;
    const span = this.#tracer.startSpan(
      `${service}/${method}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          "rpc.system": RPC_SYSTEM,
          "rpc.service": service,
          "rpc.method": method,
          "stingray.app": target.app,
        },
      },
      trace.setSpan(ROOT_CONTEXT, this.#span),
    );
    return new WorkerSpan(this.#tracer, span);
  }

  end(error?: unknown): void {
    if (error !== undefined) {
      this.#span.setAttribute("error.type", errorType(error));
      this.#span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    }
    this.#span.end();
  }
}

export function createReplicaTracer(sdk: TracingSdk, replica: ReplicaSpanInfo): ReplicaTracer {
  const tracer = sdk.tracer;
  return {
    startCall(traceparent, method, tracestate) {
      const label = method === HTTP_HANDLER_METHOD ? "fetch" : method;
      const parent = traceparent === undefined ? ROOT_CONTEXT : sdk.extract({ traceparent, tracestate });
      const span = tracer.startSpan(
        `${replica.deploymentName}/${label}`,
        {
          kind: SpanKind.SERVER,
          attributes: {
            "rpc.system": RPC_SYSTEM,
            "rpc.service": replica.deploymentName,
            "rpc.method": label,
            "stingray.app": replica.appName,
            "stingray.deployment": replica.deploymentName,
            "stingray.replica": replica.replicaId,
          },
        },
        parent,
      );
      return new WorkerSpan(tracer, span);
    },
    flush: () => sdk.forceFlush(),
    shutdown: () => sdk.shutdown(),
  };
}
