// The OpenTelemetry SDK side of tracing: a tracer provider with the configured sampler, a batch
// processor and the OTLP/HTTP (JSON) exporter, plus W3C traceparent extraction. This module is the
// only one that imports the SDK, and callers load it with `await import()` only once
// resolveTracingOptions says tracing is on, so a process with tracing off never loads the SDK.

import { context, type Context, type Tracer } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
} from "@opentelemetry/sdk-trace-base";
import type { ResolvedTracingOptions } from "./tracing-options.ts";

export interface TracingSdk {
  tracer: Tracer;
  /** The context carried by a `traceparent` header (the root context when absent or invalid). */
  extract(headers: Record<string, string | string[] | undefined>): Context;
  /** Export everything ended so far (tests, shutdown). */
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

function samplerFor(options: ResolvedTracingOptions): Sampler {
  switch (options.sampler) {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "traceidratio":
      return new TraceIdRatioBasedSampler(options.samplerRatio);
    case "parentbased_always_on":
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.samplerRatio) });
  }
}

const propagator = new W3CTraceContextPropagator();

export function createTracingSdk(options: ResolvedTracingOptions, scheduledDelayMs = 1000): TracingSdk {
  const provider = new BasicTracerProvider({
    sampler: samplerFor(options),
    resource: resourceFromAttributes({ "service.name": options.serviceName }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: options.endpoint }), { scheduledDelayMillis: scheduledDelayMs })],
  });
  // Not registered globally: stingray runs inside a user's process, whose own OpenTelemetry
  // setup (if any) keeps the global provider; we hand our tracer around explicitly.
  const tracer = provider.getTracer("stingray");
  return {
    tracer,
    extract: (headers) =>
      propagator.extract(context.active(), headers, {
        get: (carrier, key) => carrier[key],
        keys: (carrier) => Object.keys(carrier),
      }),
    forceFlush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

