// Turns structured-clone-safe constructor arguments back into live objects inside a replica:
// handle references (bound deployments passed as arguments) become DeploymentHandles that call
// through the given transport. Owned by the serve layer; the worker entry calls it.

import { DeploymentNotFoundError } from "../errors.ts";
import type { CallTransport } from "../runtime/call.ts";
import { createDeploymentHandle } from "./handle.ts";
import { HANDLE_REF_KEY, isHandleRef, isPlainContainer } from "./handle-ref.ts";

export function reviveInitArgs(args: unknown[], transport: CallTransport | undefined): unknown[] {
  const source = (): CallTransport => {
    if (!transport) {
      throw new DeploymentNotFoundError("this replica has no call transport, so its deployment handles cannot make calls");
    }
    return transport;
  };
  const revive = (value: unknown): unknown => {
    if (isHandleRef(value)) return createDeploymentHandle(value[HANDLE_REF_KEY], source);
    if (Array.isArray(value)) return value.map(revive);
    if (isPlainContainer(value)) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = revive(v);
      return out;
    }
    return value;
  };
  return args.map(revive);
}
