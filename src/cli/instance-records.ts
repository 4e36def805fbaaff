// Where `stingray run` leaves its address so that `status`, `deploy` and `shutdown` find it without
// --address (as Ray's `serve status` needs none). One JSON file per running instance, named by its
// pid, in a per-user state directory: $STINGRAY_STATE_DIR, else $XDG_STATE_HOME/stingray, else
// ~/.local/state/stingray. A record holds the address, never the admin token. Files are written
// atomically (temp file + rename), so a reader never sees half a record. A record whose process is
// gone (SIGKILL, a crash, a reboot) is stale: readers skip it and delete it.

import { mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";

export interface InstanceRecord {
  pid: number;
  /** Base URL of the proxy and admin API, e.g. http://127.0.0.1:9000. */
  address: string;
  /** Epoch ms when the runtime started listening; the newest record wins. */
  startedAt: number;
  /** What `run` was given (module:export or config file), to tell instances apart. */
  target?: string;
  cwd?: string;
  /**
   * Start time of the process in clock ticks since boot (Linux /proc/<pid>/stat field 22): with it
   * a record is stale when its pid was reused by another process. Absent elsewhere.
   */
  procStart?: number;
}

const RECORD = /^(\d+)\.json$/;

/** The state directory for this user, from the environment the CLI was given. */
export function instanceStateDir(env: NodeJS.ProcessEnv): string {
  if (env.STINGRAY_STATE_DIR) return path.resolve(env.STINGRAY_STATE_DIR);
  // XDG says a relative XDG_STATE_HOME is invalid and must be ignored.
  const xdg = env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : undefined;
  return path.join(xdg ?? path.join(env.HOME || homedir(), ".local", "state"), "stingray");
}

export class InstanceRecords {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /**
   * Writes this process's record (replacing an older one with the same pid) and returns a function
   * that removes it; the function is idempotent and synchronous, so an `exit` handler can call it.
   */
  write(record: Omit<InstanceRecord, "pid" | "procStart"> & { pid?: number }): () => void {
    const pid = record.pid ?? process.pid;
    const full: InstanceRecord = { ...record, pid };
    const procStart = processStartTicks(pid);
    if (procStart !== undefined) full.procStart = procStart;
    // 0700/0600: the record names what a user runs; nobody else needs to read it.
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const file = this.#file(pid);
    const tmp = path.join(this.dir, `.${pid}.${Date.now()}.${Math.random().toString(36).slice(2)}.tmp`);
    writeFileSync(tmp, `${JSON.stringify(full)}\n`, { mode: 0o600 });
    renameSync(tmp, file);
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      // Only our own record: a later instance may have reused the pid (and the file) meanwhile.
      const current = readRecord(file);
      if (current && (current.startedAt !== full.startedAt || current.address !== full.address)) return;
      unlinkQuietly(file);
    };
  }

  /** Records of instances still running, newest first; stale and unreadable records are deleted. */
  live(): InstanceRecord[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const live: InstanceRecord[] = [];
    for (const name of names) {
      const m = RECORD.exec(name);
      if (!m) continue;
      const file = path.join(this.dir, name);
      const record = readRecord(file);
      if (!record || record.pid !== Number(m[1]) || !isRunning(record)) {
        unlinkQuietly(file);
        continue;
      }
      live.push(record);
    }
    return live.sort((a, b) => b.startedAt - a.startedAt || b.pid - a.pid);
  }

  #file(pid: number): string {
    return path.join(this.dir, `${pid}.json`);
  }
}

function readRecord(file: string): InstanceRecord | undefined {
  try {
    const r = JSON.parse(readFileSync(file, "utf8")) as Partial<InstanceRecord>;
    if (!Number.isInteger(r.pid) || typeof r.address !== "string" || typeof r.startedAt !== "number") return undefined;
    return r as InstanceRecord;
  } catch {
    return undefined;
  }
}

function isRunning(record: InstanceRecord): boolean {
  try {
    process.kill(record.pid, 0);
  } catch (err) {
    // EPERM: the pid exists but is another user's; without proof that it is stale, keep it.
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  if (record.procStart === undefined) return true;
  const now = processStartTicks(record.pid);
  return now === undefined || now === record.procStart;
}

/** Field 22 of /proc/<pid>/stat (after the parenthesised command, which may hold spaces). */
function processStartTicks(pid: number): number | undefined {
  if (process.platform !== "linux") return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[19]);
    return Number.isFinite(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Already gone (another reader cleaned it, or the instance removed it as it exited).
  }
}
