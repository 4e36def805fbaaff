// Adapts the serve layer (src/runtime/runtime.ts, owned by the serve-layer helper) to the CLI's
// RuntimeBridge. Until that module exists, starting a runtime from the CLI fails with a clear
// message instead of a missing-module stack trace.

import { CliError } from "./errors.ts";
import type { RuntimeBridge, RuntimeStartOptions } from "./runtime-bridge.ts";

export async function startServeRuntime(_options: RuntimeStartOptions): Promise<RuntimeBridge> {
  throw new CliError("this build of stingray has no serve layer yet (src/runtime/runtime.ts is missing)", 1);
}
