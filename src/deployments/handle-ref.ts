// A handle reference: how a bound deployment passed as a constructor argument travels to a
// replica. It is plain data (structured-clone safe); the worker turns it back into a live
// DeploymentHandle with `reviveInitArgs`.

import type { DeploymentId } from "../runtime/ids.ts";

export const HANDLE_REF_KEY = "__stingray_handle__";

export interface HandleRef {
  readonly [HANDLE_REF_KEY]: DeploymentId;
}

export function handleRef(target: DeploymentId): HandleRef {
  return { [HANDLE_REF_KEY]: { app: target.app, deployment: target.deployment } };
}

export function isHandleRef(value: unknown): value is HandleRef {
  if (value === null || typeof value !== "object") return false;
  const inner = (value as Record<string, unknown>)[HANDLE_REF_KEY];
  return (
    inner !== null &&
    typeof inner === "object" &&
    typeof (inner as DeploymentId).app === "string" &&
    typeof (inner as DeploymentId).deployment === "string"
  );
}

/** Only arrays and plain objects are walked; class instances travel as they are. */
export function isPlainContainer(value: unknown): value is unknown[] | Record<string, unknown> {
  if (Array.isArray(value)) return true;
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
