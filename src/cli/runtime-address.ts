// Which runtime `status`, `deploy` and `shutdown` talk to: --address, else STINGRAY_ADDRESS, else
// the most recent `stingray run` of this user that is still running (instance-records.ts), else
// the default port on loopback (a runtime started from code with serve.run records nothing). With
// several running, the choice is said on stderr so a user is never surprised by which one answered.

import { DEFAULT_ADDRESS, type CliIO } from "./io.ts";
import { InstanceRecords, instanceStateDir, type InstanceRecord } from "./instance-records.ts";

export function resolveRuntimeAddress(option: string | undefined, io: Pick<CliIO, "env" | "stderr">, records?: InstanceRecords): string {
  if (option) return option;
  if (io.env.STINGRAY_ADDRESS) return io.env.STINGRAY_ADDRESS;
  const live = (records ?? new InstanceRecords(instanceStateDir(io.env))).live();
  const [newest, ...others] = live;
  if (!newest) return DEFAULT_ADDRESS;
  if (others.length > 0) {
    io.stderr.write(
      `${live.length} stingray runtimes are running; using the most recent: ${describeRecord(newest)}\n` +
        others.map((r) => `  also running: ${describeRecord(r)}\n`).join("") +
        "choose one with --address (or STINGRAY_ADDRESS)\n",
    );
  }
  return newest.address;
}

/** Loopback form of a listening address: a wildcard host is reachable (and admin-allowed) there. */
export function connectableAddress(address: string): string {
  return address.replace(/^http:\/\/0\.0\.0\.0(?=:|\/|$)/, "http://127.0.0.1").replace(/^http:\/\/\[::\](?=:|\/|$)/, "http://[::1]");
}

function describeRecord(r: InstanceRecord): string {
  const what = r.target ? `, stingray run ${r.target}` : "";
  return `${r.address} (pid ${r.pid}${what}, started ${new Date(r.startedAt).toISOString()})`;
}
