// Shared by the serve integration tests: a quiet logger and polling for conditions (never fixed
// sleeps: the CI machine is small and shared).

import { Writable } from "node:stream";
import { createLogger, type Logger } from "../../../src/observability/logger.ts";

/** A logger that keeps its lines in memory (and prints nothing). */
export function quietLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return Object.assign(createLogger({ level: "info", destination }), { lines });
}

export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function errorCode(err: unknown): string {
  return (err as { code?: string }).code ?? (err as Error).name;
}
