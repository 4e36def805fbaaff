// What a foreground runtime (`stingray run`, `stingray start`) is told from outside: the admin
// API's deploy (modules imported only under the deploy roots, refused until the runtime is up) and
// shutdown, and the one promise that settles with why it should stop (signal, admin API, or the
// runtime ending on its own).

import { InvalidOptionsError } from "../errors.ts";
import type { AdminActions } from "../observability/http.ts";
import type { Logger } from "../observability/logger.ts";
import { applyDeployConfig } from "./apply-config.ts";
import type { RuntimeBridge } from "./runtime-bridge.ts";

export interface ForegroundControl {
  admin: AdminActions;
  /** Settles with the reason the first time a stop is asked for. */
  stopped: Promise<string>;
  requestStop(reason: string): void;
  /** Deploys are refused (naming `what`) until the runtime is attached. */
  attach(runtime: RuntimeBridge): void;
}

export function foregroundControl(o: { what: string; cwd: string; deployRoots: string[]; logger: Logger }): ForegroundControl {
  let requestStop: (reason: string) => void = () => {};
  const stopped = new Promise<string>((resolve) => (requestStop = resolve));
  let started: RuntimeBridge | undefined;
  const admin: AdminActions = {
    async deploy(body) {
      if (!started) throw new InvalidOptionsError(`the ${o.what} is still starting`);
      // A request names modules by path: import only those under the deploy roots.
      return applyDeployConfig(body, started, { cwd: o.cwd, allowedRoots: o.deployRoots, logger: o.logger });
    },
    shutdown() {
      requestStop("admin API");
    },
  };
  return {
    admin,
    stopped,
    requestStop: (reason) => requestStop(reason),
    attach: (runtime) => {
      started = runtime;
    },
  };
}
