// Runs `node bin/stingray.js ...` as a child process, the way a user would, and collects its
// output and exit code. `startCli` leaves it running (for `stingray run`) with live output access.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const BIN = path.join(ROOT, "bin/stingray.js");
export const FIXTURES = path.join(ROOT, "test/fixtures/cli");
/**
 * The instance-record directory of every CLI this test file spawns: its own, so `status` without
 * --address never finds a developer's runtime or another test file's.
 */
export const STATE_DIR = mkdtempSync(path.join(os.tmpdir(), "stingray-cli-state-"));
process.once("exit", () => rmSync(STATE_DIR, { recursive: true, force: true }));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface SpawnOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Written to stdin, which is then closed (stdin is a pipe, never a TTY). */
  input?: string;
  timeoutMs?: number;
  /** A command the CLI runs under, e.g. ["ip", "netns", "exec", "ns1"] (it must exec, keeping the pid). */
  prefix?: string[];
}

function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  // Tests must not inherit a developer's runtime address or token.
  const { STINGRAY_ADDRESS: _a, STINGRAY_ADMIN_TOKEN: _t, ...env } = process.env;
  return { ...env, STINGRAY_LOG_LEVEL: "warn", STINGRAY_STATE_DIR: STATE_DIR, ...extra };
}

export function runCli(args: string[], options: SpawnOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? ROOT, env: childEnv(options.env), stdio: "pipe" });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`stingray ${args.join(" ")} did not exit within ${options.timeoutMs ?? 20_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 20_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? "");
  });
}

export interface RunningCli {
  child: ChildProcess;
  output(): { stdout: string; stderr: string };
  /** Resolves with the first stdout match; rejects if the process exits first or on timeout. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
  /** Sends a signal and waits for exit (SIGKILL after the timeout). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

export function startCli(args: string[], options: SpawnOptions = {}): RunningCli {
  const [command, ...rest] = [...(options.prefix ?? []), process.execPath, BIN, ...args];
  const child = spawn(command!, rest, { cwd: options.cwd ?? ROOT, env: childEnv(options.env), stdio: "pipe" });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code, signal) => resolve(code ?? (signal ? -1 : null))));
  return {
    child,
    output: () => ({ stdout, stderr }),
    exited,
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const started = Date.now();
        const check = () => {
          const m = stdout.match(pattern);
          if (m) return resolve(m);
          if (child.exitCode !== null || child.signalCode !== null) {
            return reject(new Error(`stingray exited (${child.exitCode ?? child.signalCode}) before printing ${pattern}\nstdout: ${stdout}\nstderr: ${stderr}`));
          }
          if (Date.now() - started > timeoutMs) return reject(new Error(`no ${pattern} within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
          setTimeout(check, 50);
        };
        check();
      });
    },
    async stop(signal = "SIGTERM", timeoutMs = 20_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
