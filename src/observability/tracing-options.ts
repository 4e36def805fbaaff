// Tracing options: whether tracing is on and where spans go, from the `tracing` option and the
// standard OpenTelemetry environment variables (OTEL_TRACES_EXPORTER, OTEL_EXPORTER_OTLP_ENDPOINT,
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_TRACES_SAMPLER(_ARG), OTEL_SERVICE_NAME,
// OTEL_SDK_DISABLED). Off unless asked for: unlike the SDK's own default (otlp), an unset
// OTEL_TRACES_EXPORTER means no tracing, so a stingray process pays nothing it did not opt into.
// Explicit option fields win over the environment. Pure: no SDK import.

import * as z from "zod";
import { InvalidOptionsError } from "../errors.ts";

export const SAMPLERS = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;
export type SamplerName = (typeof SAMPLERS)[number];

export interface ResolvedTracingOptions {
  /** Full OTLP/HTTP traces URL (…/v1/traces). */
  endpoint: string;
  serviceName: string;
  sampler: SamplerName;
  /** For the ratio samplers, in [0, 1]. */
  samplerRatio: number;
}

const DEFAULT_OTLP_BASE = "http://localhost:4318";

const objectSchema = z.strictObject({
  enabled: z.boolean().optional(),
  endpoint: z.url().optional(),
  serviceName: z.string().min(1).optional(),
  sampler: z.enum(SAMPLERS).optional(),
  samplerRatio: z.number().min(0).max(1).optional(),
});
const schema = z.union([z.boolean(), objectSchema]).optional();

/** The `tracing` option's shape (the config file validates it with the rest of the file). */
export const tracingOptionSchema = schema;

export type TracingOptions = z.input<typeof schema>;

function fail(message: string): never {
  throw new InvalidOptionsError(message);
}

function tracesUrlFromBase(base: string): string {
  return `${base.replace(/\/+$/, "")}/v1/traces`;
}

/** The resolved tracing settings, or undefined when tracing is off. */
export function resolveTracingOptions(
  input: unknown,
  env: NodeJS.ProcessEnv = process.env,
  where = "tracing",
): ResolvedTracingOptions | undefined {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const at = issue.path.length ? `${where}.${issue.path.join(".")}` : where;
    fail(`${at}: ${issue.message}`);
  }
  const option = parsed.data;
  const fields = typeof option === "object" ? option : {};
  const explicit = option === true || (typeof option === "object" && option.enabled !== false);
  if (option === false || fields.enabled === false) return undefined;
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return undefined;

  const exporters = (env.OTEL_TRACES_EXPORTER ?? "").split(",").map((e) => e.trim().toLowerCase()).filter(Boolean);
  if (!explicit && !exporters.includes("otlp")) return undefined;

  const endpoint =
    fields.endpoint ??
    (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() ||
      tracesUrlFromBase(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || DEFAULT_OTLP_BASE));
  if (!URL.canParse(endpoint)) fail(`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: not a URL: "${endpoint}"`);

  const envSampler = env.OTEL_TRACES_SAMPLER?.trim().toLowerCase();
  if (envSampler && !(SAMPLERS as readonly string[]).includes(envSampler)) {
    fail(`OTEL_TRACES_SAMPLER: expected one of ${SAMPLERS.join(", ")}, got "${envSampler}"`);
  }
  const sampler = fields.sampler ?? ((envSampler || "parentbased_always_on") as SamplerName);

  let samplerRatio = fields.samplerRatio;
  const envRatio = env.OTEL_TRACES_SAMPLER_ARG?.trim();
  if (samplerRatio === undefined && envRatio) {
    const n = Number(envRatio);
    if (!Number.isFinite(n) || n < 0 || n > 1) fail(`OTEL_TRACES_SAMPLER_ARG: expected a ratio in [0, 1], got "${envRatio}"`);
    samplerRatio = n;
  }

  return {
    endpoint,
    serviceName: fields.serviceName ?? (env.OTEL_SERVICE_NAME?.trim() || "stingray"),
    sampler,
    samplerRatio: samplerRatio ?? 1,
  };
}
