// Describes the machine a benchmark run happened on (CPU model, cores, memory, Node, OS, load),
// so a table is never read without knowing where its numbers came from.

import os from "node:os";

export interface MachineInfo {
  cpuModel: string;
  /** Logical cores the OS reports. */
  cores: number;
  /** Cores this process may actually use (cgroup/affinity aware where Node knows it). */
  availableParallelism: number;
  memoryGiB: number;
  node: string;
  platform: string;
  osRelease: string;
  arch: string;
  /** 1-minute load average when the run started: a busy machine skews every number. */
  loadAvg1m: number;
}

export function describeMachine(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim().replace(/\s+/g, " ") ?? "unknown",
    cores: cpus.length,
    availableParallelism: typeof os.availableParallelism === "function" ? os.availableParallelism() : cpus.length,
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: os.platform(),
    osRelease: os.release(),
    arch: os.arch(),
    loadAvg1m: Math.round(os.loadavg()[0]! * 100) / 100,
  };
}

/** One line for a table caption: "Intel Xeon … · 2 cores · 7.8 GiB · Node v20.19.0 · linux x64". */
export function machineSummary(m: MachineInfo): string {
  return `${m.cpuModel} · ${m.cores} cores · ${m.memoryGiB} GiB · Node ${m.node} · ${m.platform} ${m.arch}`;
}
