// Runs one benchmark script as a child process with a time budget and collects its result line.
// Each script gets a fresh Node process (fresh heap, no threads or sockets left over from the
// previous benchmark) in its own process group, so a script that overruns its budget is ended
// together with whatever servers it spawned. Never throws for a misbehaving script: the outcome
// says what happened.

import { spawn } from "node:child_process";
import { parseResultLine, type BenchResult } from "./report.ts";

export type ScriptStatus = "ok" | "unparsed" | "timeout" | "spawn-error";

export interface ScriptOutcome {
  /** Short name for the table when the script produced no result. */
  name: string;
  script: string;
  status: ScriptStatus;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  durationS: number;
  result?: BenchResult;
  /** Why the result line could not be read (status "unparsed"/"timeout"). */
  reason?: string;
  /** The last lines of stdout and stderr, for diagnosing a failed script. */
  tail: string;
}

export interface RunScriptOptions {
  name: string;
  /** Path of the .ts (or .js) script, relative to cwd or absolute. */
  script: string;
  timeoutS: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** The command that runs the script; default: this Node with tsx's loader. */
  command?: { file: string; args: string[] };
  /** Each complete output line as it arrives (for live progress). */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
  /** Grace period between SIGTERM and SIGKILL on timeout. */
  killGraceMs?: number;
}

const TAIL_LINES = 25;
/** Cap on the stdout kept in memory; the result line is the last one, so the tail is enough. */
const KEEP_BYTES = 256 * 1024;

export function runScript(options: RunScriptOptions): Promise<ScriptOutcome> {
  const started = performance.now();
  const command = options.command ?? { file: process.execPath, args: ["--import", "tsx", options.script] };
  let stdout = "";
  let stderr = "";
  const partial = { stdout: "", stderr: "" };

  return new Promise((resolve) => {
    let settled = false;
    let timedOut = false;
    const finish = (outcome: Omit<ScriptOutcome, "name" | "script" | "durationS" | "tail">) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(killTimer);
      resolve({
        name: options.name,
        script: options.script,
        durationS: Math.round((performance.now() - started) / 10) / 100,
        tail: tailOf(stdout, stderr),
        ...outcome,
      });
    };

    let child;
    try {
      child = spawn(command.file, command.args, {
        cwd: options.cwd ?? process.cwd(),
        env: options.env ?? process.env,
        stdio: ["ignore", "pipe", "pipe"],
        // Own process group: on timeout the whole tree (servers the script spawned) goes too.
        detached: true,
      });
    } catch (err) {
      finish({ status: "spawn-error", exitCode: null, signal: null, reason: String(err) });
      return;
    }

    const take = (stream: "stdout" | "stderr") => (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      if (stream === "stdout") stdout = keepTail(stdout + text);
      else stderr = keepTail(stderr + text);
      if (!options.onLine) return;
      const lines = (partial[stream] + text).split("\n");
      partial[stream] = lines.pop()!;
      for (const l of lines) options.onLine(l.replace(/\r$/, ""), stream);
    };
    child.stdout!.on("data", take("stdout"));
    child.stderr!.on("data", take("stderr"));

    let killTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid, "SIGTERM");
      killTimer = setTimeout(() => killGroup(child.pid, "SIGKILL"), options.killGraceMs ?? 3000);
    }, options.timeoutS * 1000);

    child.once("error", (err) => finish({ status: "spawn-error", exitCode: null, signal: null, reason: err.message }));
    // "close" (not "exit"): every pipe drained, so the result line is in `stdout`.
    child.once("close", (code, signal) => {
      if (options.onLine) {
        for (const s of ["stdout", "stderr"] as const) if (partial[s] !== "") options.onLine(partial[s], s);
      }
      // Grandchildren left in the group (a server the script forgot) must not outlive it.
      killGroup(child.pid, "SIGKILL");
      const parsed = parseResultLine(stdout);
      if (timedOut) {
        finish({
          status: "timeout",
          exitCode: code,
          signal,
          reason: `ran past its ${options.timeoutS} s budget`,
          ...(parsed.ok ? { result: parsed.result } : {}),
        });
      } else if (parsed.ok) {
        finish({ status: "ok", exitCode: code, signal, result: parsed.result });
      } else {
        finish({ status: "unparsed", exitCode: code, signal, reason: parsed.reason });
      }
    });
  });
}

/** Signals a whole process group; a group that is already gone is fine. */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: nothing left to end.
  }
}

function keepTail(s: string): string {
  return s.length > KEEP_BYTES ? s.slice(s.length - KEEP_BYTES) : s;
}

/** The last lines of both streams, labelled, for the JSON record of a failed script. */
export function tailOf(stdout: string, stderr: string, lines = TAIL_LINES): string {
  const last = (s: string) => s.split("\n").filter((l) => l.trim() !== "").slice(-lines).join("\n");
  const parts: string[] = [];
  const out = last(stdout);
  const err = last(stderr);
  if (out) parts.push(`[stdout]\n${out}`);
  if (err) parts.push(`[stderr]\n${err}`);
  return parts.join("\n");
}
