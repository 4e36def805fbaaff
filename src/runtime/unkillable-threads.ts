// The process-wide list of replica threads that were told to end and did not exit in time
// (blocked in native code: Worker.terminate() interrupts JavaScript, not a native call). Their
// replicas are gone from the control plane (resources released, replacements started), but each
// such thread still runs and holds what it holds, so the runtime reports them in status, logs and
// metrics and fails its readiness check until they have exited. Kept by the controller, not by a
// deployment, so the report outlives a deleted deployment.

import type { UnkillableThreadInfo } from "../observability/status.ts";

export type { UnkillableThreadInfo } from "../observability/status.ts";

interface Entry {
  info: UnkillableThreadInfo;
  exited: () => boolean;
}

export class UnkillableThreads {
  readonly #entries = new Map<string, Entry>();

  /** Records a thread that missed its exit deadline; `exited` says when it finally has. */
  add(info: UnkillableThreadInfo, exited: () => boolean): void {
    this.#entries.set(info.replica, { info, exited });
  }

  /** Forgets the threads that have exited since; returns them. */
  sweep(): UnkillableThreadInfo[] {
    const gone: UnkillableThreadInfo[] = [];
    for (const [id, entry] of this.#entries) {
      if (!entry.exited()) continue;
      this.#entries.delete(id);
      gone.push(entry.info);
    }
    return gone;
  }

  list(): UnkillableThreadInfo[] {
    return [...this.#entries.values()].map((e) => ({ ...e.info }));
  }

  get size(): number {
    return this.#entries.size;
  }
}
