// Profiles the request hot path: starts a stingray app under `node --cpu-prof`, drives one
// `tools/call` with autocannon, stops it, and prints where the CPU went per thread (start-up left
// out), plus CPU per request. --app bench (default): lib/fixtures/bench-app.ts and its zero-sleep
// tool (a raw-shape schema, so zod compiles it per request); --app throughput: the mcp-throughput
// benchmark's server and its get_forecast tool (hoisted schema), i.e. what that benchmark measures.
//
//   npx tsx benchmarks/lib/profile-run.ts [--app bench|throughput] [--seconds 10] [--connections 16]
//       [--replicas 1] [--era legacy|modern]
//   (profiles stay in /tmp/stingray-prof-<time>/ for Chrome DevTools or speedscope)

import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { summarizeProfile, type CpuProfile } from "./cpuprofile.ts";
import { closedLoop } from "./load.ts";
import { toolCallRequest, waitForToolAnswer, type McpEra } from "./mcp.ts";
import { freePort, spawnServer } from "./process.ts";
import { EXPECTED_TEXT, TOOL_ARGS, TOOL_NAME } from "../mcp-throughput/tool.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    connections: { type: "string", default: "16" },
    replicas: { type: "string", default: "1" },
    era: { type: "string", default: "legacy" },
    app: { type: "string", default: "bench" },
    top: { type: "string", default: "15" },
  },
});
const seconds = Number(values.seconds);
if (values.app !== "bench" && values.app !== "throughput") throw new Error(`--app: bench or throughput, got ${values.app}`);
const target =
  values.app === "bench"
    ? { script: "benchmarks/lib/fixtures/bench-app.ts", tool: "sleep", args: { ms: 0 }, expected: "slept 0" }
    : { script: "benchmarks/mcp-throughput/stingray-server.ts", tool: TOOL_NAME, args: TOOL_ARGS, expected: EXPECTED_TEXT };
const dir = `/tmp/stingray-prof-${Date.now()}`;
mkdirSync(dir, { recursive: true });
const port = await freePort();
const url = `http://127.0.0.1:${port}/mcp`;
const spawnedAt = performance.now();
const server = spawnServer(
  process.execPath,
  ["--cpu-prof", `--cpu-prof-dir=${dir}`, "--import", "tsx", target.script],
  { ...process.env, PORT: String(port), BENCH_REPLICAS: values.replicas, BENCH_MAX_ONGOING: "64", BENCH_MAX_QUEUED: "-1" },
);
const era = values.era as McpEra;
await waitForToolAnswer(
  "bench app",
  url,
  { tool: target.tool, args: target.args, accept: (text) => text === target.expected, era },
  { timeoutMs: 60_000, abortIf: () => (server.exited() ? server.output() : undefined) },
);
const req = toolCallRequest(target.tool, target.args, { era });
await closedLoop({ url, ...req, connections: Number(values.connections), durationS: 2 }); // warm-up: JIT, pools
const loadFromMs = performance.now() - spawnedAt;
const load = await closedLoop({ url, ...req, connections: Number(values.connections), durationS: seconds });
await server.stop(20_000);
console.log(`${load.okPerSecond.toFixed(0)} req/s, p50 ${load.ok.p50.toFixed(2)} ms, p99 ${load.ok.p99.toFixed(2)} ms, statuses ${JSON.stringify(load.statusCounts)}`);

const requests = load.responses;
const profiles = readdirSync(dir)
  .filter((f) => f.endsWith(".cpuprofile"))
  .sort()
  .map((file) => ({ file, p: JSON.parse(readFileSync(join(dir, file), "utf8")) as CpuProfile }));
// Every thread's profile uses the same monotonic clock (µs); the earliest start is the process's.
const processStart = Math.min(...profiles.map(({ p }) => p.startTime));
for (const { file, p } of profiles) {
  const skipMs = Math.max(0, loadFromMs - (p.startTime - processStart) / 1000);
  const pkg = summarizeProfile(p, "package", skipMs);
  const fn = summarizeProfile(p, "function", skipMs);
  const busy = pkg.totalMs - pkg.idleMs;
  if (busy < 50) continue; // a loader thread, idle once start-up is over
  console.log(`\n== ${file}: busy ${(busy / 1000).toFixed(2)} s under load = ${((busy / requests) * 1000).toFixed(0)} µs per request`);
  for (const l of pkg.lines.slice(0, Number(values.top))) console.log(`${(l.share * 100).toFixed(1).padStart(5)}%  ${l.name}`);
  console.log("   --");
  for (const l of fn.lines.slice(0, Number(values.top))) console.log(`${(l.share * 100).toFixed(1).padStart(5)}%  ${l.name}`);
}
console.log(`\nprofiles: ${dir}`);
