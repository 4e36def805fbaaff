// The live start-up display of `stingray run`: one line saying how many replicas of each
// deployment are running, redrawn in place on a terminal, printed only when it changes otherwise
// (so logs and CI output stay readable).

import type { StatusSnapshot } from "../observability/status.ts";
import { formatStates } from "./format.ts";

export function progressLine(snap: StatusSnapshot, apps?: ReadonlySet<string>): string {
  const parts: string[] = [];
  for (const app of snap.applications) {
    if (apps && !apps.has(app.name)) continue;
    for (const d of app.deployments) {
      const running = d.replicaStates.RUNNING ?? 0;
      const others = Object.fromEntries(Object.entries(d.replicaStates).filter(([s]) => s !== "RUNNING"));
      const detail = formatStates(others);
      parts.push(`${app.name}/${d.name} ${running}/${d.targetReplicas} running${detail === "-" ? "" : ` (${detail})`}`);
    }
    if (app.deployments.length === 0) parts.push(`${app.name} ${app.status.toLowerCase()}`);
  }
  return parts.length > 0 ? `starting: ${parts.join(" · ")}` : "starting…";
}

export class ProgressDisplay {
  readonly #out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  #last = "";
  #drawn = false;

  constructor(out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }) {
    this.#out = out;
  }

  update(line: string): void {
    if (line === this.#last) return;
    this.#last = line;
    if (this.#out.isTTY) {
      const width = Math.max(20, (this.#out.columns ?? 100) - 1);
      const shown = line.length > width ? `${line.slice(0, width - 1)}…` : line;
      this.#out.write(`\r\x1b[2K${shown}`);
      this.#drawn = true;
    } else {
      this.#out.write(`${line}\n`);
    }
  }

  /** Ends the in-place line (keeping its last state) so the next output starts on a fresh line. */
  done(): void {
    if (this.#drawn) this.#out.write("\n");
    this.#drawn = false;
  }
}
