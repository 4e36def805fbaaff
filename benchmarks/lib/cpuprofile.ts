// Summarizes V8 .cpuprofile files (from `node --cpu-prof`) to find the hot path's biggest costs:
// self time per function and per package (node_modules/<pkg>, src/<dir>, node: internals), and
// inclusive time for functions whose name matches a filter. Used when profiling the runtime under
// benchmark load:
//
//   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx benchmarks/lib/fixtures/bench-app.ts
//   npx tsx benchmarks/lib/cpuprofile.ts /tmp/prof/*.cpuprofile [--top 25] [--skip-s 5]

import { readFileSync } from "node:fs";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface CostLine {
  name: string;
  ms: number;
  share: number;
}

/** Where a frame's code lives: "node_modules/<pkg>", "src/<dir>", "node:internal", "(program)", … */
export function packageOf(url: string, functionName = ""): string {
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)";
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith("node:")) return "node:" + (url.slice(5).split("/")[0] ?? "");
  const src = /\/(src|benchmarks|examples|test)\/([^/]+)/.exec(url);
  if (src) return `${src[1]}/${src[2]!.replace(/\.[cm]?[tj]s$/, "")}`;
  return url;
}

/** Self time per node id, in ms, counting only samples at least `skipMs` after the profile began. */
function selfTimes(p: CpuProfile, skipMs: number): Map<number, number> {
  const self = new Map<number, number>();
  let at = 0;
  for (let i = 0; i < p.samples.length; i++) {
    at += (p.timeDeltas[i] ?? 0) / 1000;
    if (at < skipMs) continue;
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
    self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + dt);
  }
  return self;
}

/** `skipMs` leaves out start-up (module loading) so the summary shows the steady state. */
export function summarizeProfile(p: CpuProfile, key: "function" | "package", skipMs = 0): { totalMs: number; idleMs: number; lines: CostLine[] } {
  const self = selfTimes(p, skipMs);
  const byKey = new Map<string, number>();
  let totalMs = 0;
  let idleMs = 0;
  for (const node of p.nodes) {
    const ms = self.get(node.id) ?? 0;
    if (ms === 0) continue;
    totalMs += ms;
    const f = node.callFrame;
    if (f.functionName === "(idle)") {
      idleMs += ms;
      continue;
    }
    const k =
      key === "package"
        ? packageOf(f.url, f.functionName)
        : `${f.functionName || "(anonymous)"} ${packageOf(f.url, f.functionName)}:${f.lineNumber + 1}`;
    byKey.set(k, (byKey.get(k) ?? 0) + ms);
  }
  const busy = totalMs - idleMs;
  const lines = [...byKey.entries()]
    .map(([name, ms]) => ({ name, ms, share: busy > 0 ? ms / busy : 0 }))
    .sort((a, b) => b.ms - a.ms);
  return { totalMs, idleMs, lines };
}

function main(argv: string[]): void {
  const flag = (name: string, fallback: number) => {
    const i = argv.indexOf(name);
    return i >= 0 ? Number(argv[i + 1]) : fallback;
  };
  const top = flag("--top", 20);
  const skipMs = flag("--skip-s", 0) * 1000;
  const files = argv.filter((a, i) => !a.startsWith("--") && !argv[i - 1]?.startsWith("--"));
  for (const file of files) {
    const p = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
    const pkg = summarizeProfile(p, "package", skipMs);
    const fn = summarizeProfile(p, "function", skipMs);
    const busy = pkg.totalMs - pkg.idleMs;
    console.log(`\n== ${file}: ${(pkg.totalMs / 1000).toFixed(1)} s sampled, busy ${(busy / 1000).toFixed(1)} s`);
    console.log("-- self time by package");
    for (const l of pkg.lines.slice(0, top)) console.log(`${(l.share * 100).toFixed(1).padStart(5)}%  ${l.ms.toFixed(0).padStart(7)} ms  ${l.name}`);
    console.log("-- self time by function");
    for (const l of fn.lines.slice(0, top)) console.log(`${(l.share * 100).toFixed(1).padStart(5)}%  ${l.ms.toFixed(0).padStart(7)} ms  ${l.name}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main(process.argv.slice(2));
