import { describe, expect, it } from "vitest";
import { InvalidOptionsError } from "../../../src/errors.ts";
import { resolveTracingOptions } from "../../../src/observability/tracing-options.ts";

describe("resolveTracingOptions", () => {
  it("is off by default, even with an OTLP endpoint set but no exporter chosen", () => {
    expect(resolveTracingOptions(undefined, {})).toBeUndefined();
    expect(resolveTracingOptions(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" })).toBeUndefined();
    expect(resolveTracingOptions(undefined, { OTEL_TRACES_EXPORTER: "none" })).toBeUndefined();
  });

  it("turns on with OTEL_TRACES_EXPORTER=otlp and reads the standard variables", () => {
    expect(
      resolveTracingOptions(undefined, {
        OTEL_TRACES_EXPORTER: "otlp",
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/",
        OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
        OTEL_TRACES_SAMPLER_ARG: "0.25",
        OTEL_SERVICE_NAME: "weather",
      }),
    ).toEqual({
      endpoint: "http://collector:4318/v1/traces",
      serviceName: "weather",
      sampler: "parentbased_traceidratio",
      samplerRatio: 0.25,
    });
  });

  it("uses the traces-specific endpoint as is, and defaults to localhost:4318", () => {
    const env = { OTEL_TRACES_EXPORTER: "otlp", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c:9/t", OTEL_EXPORTER_OTLP_ENDPOINT: "http://x:1" };
    expect(resolveTracingOptions(undefined, env)?.endpoint).toBe("http://c:9/t");
    expect(resolveTracingOptions(true, {})).toEqual({
      endpoint: "http://localhost:4318/v1/traces",
      serviceName: "stingray",
      sampler: "parentbased_always_on",
      samplerRatio: 1,
    });
  });

  it("lets the option win over the environment, and `false` or OTEL_SDK_DISABLED turn it off", () => {
    const env = { OTEL_TRACES_EXPORTER: "otlp", OTEL_SERVICE_NAME: "env", OTEL_TRACES_SAMPLER: "always_off" };
    const r = resolveTracingOptions({ serviceName: "opt", sampler: "always_on", endpoint: "http://127.0.0.1:1/v1/traces" }, env);
    expect(r).toMatchObject({ serviceName: "opt", sampler: "always_on", endpoint: "http://127.0.0.1:1/v1/traces" });
    expect(resolveTracingOptions(false, env)).toBeUndefined();
    expect(resolveTracingOptions({ enabled: false }, env)).toBeUndefined();
    expect(resolveTracingOptions(true, { OTEL_SDK_DISABLED: "true" })).toBeUndefined();
  });

  it("rejects bad options and variables, naming them", () => {
    expect(() => resolveTracingOptions({ samplerRatio: 2 }, {})).toThrow(/tracing\.samplerRatio/);
    expect(() => resolveTracingOptions({ sampler: "sometimes" }, {})).toThrow(InvalidOptionsError);
    expect(() => resolveTracingOptions({ bogus: 1 }, {})).toThrow(/tracing/);
    expect(() => resolveTracingOptions(true, { OTEL_TRACES_SAMPLER: "sometimes" })).toThrow(/OTEL_TRACES_SAMPLER/);
    expect(() => resolveTracingOptions(true, { OTEL_TRACES_SAMPLER_ARG: "1.5" })).toThrow(/OTEL_TRACES_SAMPLER_ARG/);
  });
});
