// What more nodes buy: capacity with an I/O-bound tool (sleep 200 ms; maxOngoingRequests 16 per
// replica) on one node vs three nodes with the same replicas per node (one). Three
// `stingray start --cluster` processes on one real nats-server; the same app deployed twice, once
// pinned to node a (nodeSelector) and once spread over the three. Offered load exceeds capacity in
// both phases (closed loops with more connections than replica slots): one node is loaded
// through its own proxy, three nodes through all three proxies at once, as a load balancer would.
// Goal: three nodes ≥ 2.7× one node.
//
//   npx tsx benchmarks/cluster-capacity.ts      (≈ 45 s; needs nats-server)
//   BENCH_QUICK=1 npx tsx benchmarks/cluster-capacity.ts

import { runCli } from "../test/integration/cli/spawn-cli.ts";
import { replicasByNode, startNode, status, until, type ClusterNodeProcess } from "../test/integration/cluster/cluster-helpers.ts";
import { startNatsServer } from "../test/integration/cluster/nats-server.ts";
import { closedLoop, type LoadSummary } from "./lib/load.ts";
import { toolCallRequest } from "./lib/mcp.ts";
import { emitResult, row } from "./lib/report.ts";

const QUICK = process.env.BENCH_QUICK === "1" || process.env.BENCH_QUICK === "true";
const SECONDS = QUICK ? 1.5 : 5;
const WARMUP_SECONDS = QUICK ? 0.5 : 1.5;
const SLEEP_MS = 200;
const SLOTS = 16;
/** Connections per loaded proxy: more than one replica's slots, so each phase is saturated. */
const CONNECTIONS = 24;

async function loadAll(targets: string[], durationS: number): Promise<{ okPerSecond: number; failed: number; runs: LoadSummary[] }> {
  const req = toolCallRequest("sleep", { ms: SLEEP_MS }, { era: "modern" });
  const runs = await Promise.all(targets.map((url) => closedLoop({ url, ...req, connections: CONNECTIONS, durationS, timeoutS: 30 })));
  const failed = runs.reduce((n, r) => n + r.errors + r.timeouts + Object.entries(r.statusCounts).filter(([s]) => s !== "200").reduce((m, [, c]) => m + c, 0), 0);
  return { okPerSecond: runs.reduce((n, r) => n + r.okPerSecond, 0), failed, runs };
}

async function main(): Promise<void> {
  const nats = await startNatsServer();
  const nodes: ClusterNodeProcess[] = [];
  try {
    nodes.push(...(await Promise.all(["a", "b", "c"].map((id) => startNode(nats.url, id, ["--num-cpus", "2"])))));
    const deployed = await runCli(["deploy", "benchmarks/lib/fixtures/cluster-capacity.yaml", "--address", nodes[0]!.address], { timeoutMs: 120_000 });
    if (deployed.code !== 0) throw new Error(`deploy failed: ${deployed.stderr}`);
    await until("one replica on a, three spread", 60_000, async () => {
      const s = await status(nodes[0]!);
      const one = replicasByNode(s, "one");
      const three = replicasByNode(s, "three");
      return one.a === 1 && Object.keys(one).length === 1 && Object.keys(three).length === 3 ? true : undefined;
    });
    const oneTargets = [`${nodes[0]!.address}/one/mcp`];
    const threeTargets = nodes.map((n) => `${n.address}/three/mcp`);
    await loadAll(oneTargets, WARMUP_SECONDS);
    const one = await loadAll(oneTargets, SECONDS);
    await loadAll(threeTargets, WARMUP_SECONDS);
    const three = await loadAll(threeTargets, SECONDS);
    const theory = (1000 / SLEEP_MS) * SLOTS;
    const statuses = (r: { runs: LoadSummary[] }) => JSON.stringify(r.runs.map((x) => x.statusCounts));
    console.log(`one node: ${one.okPerSecond.toFixed(1)} req/s (theory ${theory}); three nodes: ${three.okPerSecond.toFixed(1)} req/s (theory ${3 * theory}); ratio ${(three.okPerSecond / one.okPerSecond).toFixed(2)}; statuses ${statuses(one)} / ${statuses(three)}`);
    emitResult({
      benchmark: "cluster-capacity",
      rows: [
        row("capacity, 3 nodes × 1 replica (sleep 200 ms tool)", three.okPerSecond, "req/s", { baseline: one.okPerSecond, note: "goal ≥ 2.7× one node × 1 replica" }),
        row("capacity, 1 node × 1 replica vs theory", one.okPerSecond, "req/s", { baseline: theory }),
        row("non-200 answers while saturated (1 node / 3 nodes)", one.failed + three.failed, "answers"),
      ],
      details: { one: one.runs.map((r) => r.ok), three: three.runs.map((r) => r.ok), sleepMs: SLEEP_MS, slots: SLOTS, connections: CONNECTIONS },
      ...(QUICK ? { quick: true } : {}),
    });
  } finally {
    await Promise.all(nodes.map((n) => n.cli.stop("SIGTERM", 20_000)));
    await nats.stop();
  }
}

await main();
