// Helpers for benchmarks that run a server in another process: free ports, spawning a server in
// its own process group (so npx → tsx → node trees end together), polling for a condition, and
// reading a process's resident memory from /proc.

import { spawn, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { killGroup } from "./child.ts";

/** Asks the OS for a port nobody uses, then frees it for the server. */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

export interface ServerProcess {
  readonly proc: ChildProcess;
  readonly pid: number;
  /** Everything it printed so far (both streams), for error messages. */
  output(): string;
  exited(): boolean;
  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

export function spawnServer(file: string, args: string[], env: NodeJS.ProcessEnv, cwd = process.cwd()): ServerProcess {
  const proc = spawn(file, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let out = "";
  const keep = (d: Buffer) => {
    out += d.toString("utf8");
    if (out.length > 64 * 1024) out = out.slice(-64 * 1024);
  };
  proc.stdout!.on("data", keep);
  proc.stderr!.on("data", keep);
  const gone = new Promise<void>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve();
    else proc.once("exit", () => resolve());
  });
  if (proc.pid === undefined) throw new Error(`could not start ${file} ${args.join(" ")}`);
  const pid = proc.pid;
  return {
    proc,
    pid,
    output: () => out,
    exited: () => proc.exitCode !== null || proc.signalCode !== null,
    async stop(graceMs = 5000) {
      killGroup(pid, "SIGTERM");
      const timer = setTimeout(() => killGroup(pid, "SIGKILL"), graceMs);
      await gone;
      clearTimeout(timer);
      // The group may still hold a grandchild that ignored SIGTERM.
      killGroup(pid, "SIGKILL");
    },
  };
}

/** The command that runs a TypeScript file with this Node and tsx's loader (pid = the server itself). */
export function tsxCommand(script: string, extraArgs: string[] = []): { file: string; args: string[] } {
  return { file: process.execPath, args: ["--import", "tsx", script, ...extraArgs] };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Polls `probe` every `intervalMs` until it returns a value other than undefined/false, or throws
 * naming `what` after `timeoutMs`. `abortIf` is checked each round (e.g. "the server exited").
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  options: { timeoutMs: number; intervalMs?: number; abortIf?: () => string | undefined },
): Promise<T> {
  const deadline = performance.now() + options.timeoutMs;
  for (;;) {
    const reason = options.abortIf?.();
    if (reason) throw new Error(`${what}: ${reason}`);
    const value = await probe();
    if (value !== undefined && value !== false) return value as T;
    if (performance.now() > deadline) throw new Error(`${what}: not within ${options.timeoutMs} ms`);
    await sleep(options.intervalMs ?? 50);
  }
}

/** Resident set size of a process in MiB (Linux /proc), or null if it is gone or /proc is absent. */
export async function rssMiB(pid: number): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    return parseVmRssMiB(status);
  } catch {
    return null;
  }
}

/** The VmRSS line of a /proc/<pid>/status text, in MiB. */
export function parseVmRssMiB(statusText: string): number | null {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(statusText);
  return m ? Number(m[1]) / 1024 : null;
}
