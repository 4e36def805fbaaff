// CPU time per request, per thread, of the mcp-throughput servers: starts one (the SDK baseline or
// stingray with N replicas), warms it up, drives `tools/call` with autocannon and reads each
// thread's utime+stime from /proc/<pid>/task/*/stat before and after. Unlike a --cpu-prof profile,
// which samples wall time and charges a thread descheduled inside a syscall (postMessage, writev)
// to that syscall, these are CPU seconds the kernel accounted. Linux only.
//
//   npx tsx benchmarks/lib/thread-cpu.ts [--target sdk|stingray] [--replicas 2] [--connections 16]
//       [--seconds 6] [--rounds 1] [--era modern|legacy]
//
// Each figure is that thread's CPU divided by all the requests served, so they add up to the total
// per request. Threads are named by role: "main" (the process's first thread: the proxy for
// stingray), "replica" (a worker thread that did the MCP work: at least a third of the busiest
// non-main thread's CPU), "other" (V8's platform threads — garbage collection — libuv and tsx's
// loader threads, summed).

import { readdir, readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { closedLoop } from "./load.ts";
import { toolCallRequest, waitForToolAnswer, type McpEra } from "./mcp.ts";
import { freePort, spawnServer, tsxCommand } from "./process.ts";
import { EXPECTED_TEXT, TOOL_ARGS, TOOL_NAME } from "../mcp-throughput/tool.ts";

const { values } = parseArgs({
  options: {
    target: { type: "string", default: "stingray" },
    replicas: { type: "string", default: "2" },
    connections: { type: "string", default: "16" },
    seconds: { type: "string", default: "6" },
    rounds: { type: "string", default: "1" },
    era: { type: "string", default: "modern" },
  },
});
if (values.target !== "sdk" && values.target !== "stingray") throw new Error(`--target: sdk or stingray, got ${values.target}`);
if (values.era !== "modern" && values.era !== "legacy") throw new Error(`--era: modern or legacy, got ${values.era}`);
const era: McpEra = values.era;
const TICK_S = 0.01; // USER_HZ is 100 on Linux

/** utime + stime, in clock ticks, of every thread of `pid`, by thread id. */
async function threadTicks(pid: number): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, "utf8").catch(() => "");
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (rest.length > 13) out.set(Number(tid), Number(rest[11]) + Number(rest[12]));
  }
  return out;
}

const script = values.target === "sdk" ? "benchmarks/mcp-throughput/sdk-server.ts" : "benchmarks/mcp-throughput/stingray-server.ts";
const port = await freePort();
const url = `http://127.0.0.1:${port}/mcp`;
const { file, args } = tsxCommand(script);
const server = spawnServer(file, args, { ...process.env, PORT: String(port), BENCH_REPLICAS: values.replicas, STINGRAY_LOG_LEVEL: "warn" });
try {
  await waitForToolAnswer(
    "server",
    url,
    { tool: TOOL_NAME, args: TOOL_ARGS, accept: (text) => text === EXPECTED_TEXT, era },
    { timeoutMs: 60_000, abortIf: () => (server.exited() ? server.output() : undefined) },
  );
  const req = toolCallRequest(TOOL_NAME, TOOL_ARGS, { era });
  const connections = Number(values.connections);
  await closedLoop({ url, ...req, connections, durationS: 3 }); // warm-up: JIT, pools
  for (let round = 1; round <= Number(values.rounds); round++) {
    const before = await threadTicks(server.pid);
    const load = await closedLoop({ url, ...req, connections, durationS: Number(values.seconds) });
    const after = await threadTicks(server.pid);
    const perRequestUs = (ticks: number) => (ticks * TICK_S * 1e6) / load.responses;
    const used = [...after].map(([tid, t]) => ({ tid, ticks: t - (before.get(tid) ?? 0) }));
    const main = used.find((u) => u.tid === server.pid)?.ticks ?? 0;
    const busiest = Math.max(0, ...used.filter((u) => u.tid !== server.pid).map((u) => u.ticks));
    const replicas = values.target === "stingray" ? used.filter((u) => u.tid !== server.pid && u.ticks >= busiest / 3) : [];
    const other = used.filter((u) => u.tid !== server.pid && !replicas.includes(u)).reduce((s, u) => s + u.ticks, 0);
    const total = used.reduce((s, u) => s + u.ticks, 0);
    const shown = [`main ${perRequestUs(main).toFixed(0)}`, ...replicas.map((r) => `replica ${perRequestUs(r.ticks).toFixed(0)}`), `other ${perRequestUs(other).toFixed(0)}`];
    console.log(
      `${values.target}${values.target === "stingray" ? `-${values.replicas}` : ""} ${era} c=${connections}: ${load.okPerSecond.toFixed(0)} req/s; ` +
        `CPU µs per request: ${shown.join(", ")}; total ${perRequestUs(total).toFixed(0)}`,
    );
  }
} finally {
  await server.stop();
}
