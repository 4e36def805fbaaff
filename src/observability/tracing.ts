// Tracing's entry point: resolves whether tracing is on and, only then, loads the SDK module with a
// dynamic import. With tracing off the caller gets `undefined` and nothing from @opentelemetry is
// loaded, so the per-request cost is one `tracing === undefined` check.

import { resolveTracingOptions } from "./tracing-options.ts";
import type { TracingSdk } from "./tracing-sdk.ts";

export type { TracingSdk } from "./tracing-sdk.ts";

/** The tracing SDK when the option or the OTEL_* environment turns tracing on, else undefined. */
export async function startTracing(option: unknown, env: NodeJS.ProcessEnv = process.env): Promise<TracingSdk | undefined> {
  const options = resolveTracingOptions(option, env);
  if (options === undefined) return undefined;
  const { createTracingSdk } = await import("./tracing-sdk.ts");
  return createTracingSdk(options);
}
