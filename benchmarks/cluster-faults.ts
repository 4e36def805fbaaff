// What each node fault costs, measured: four `stingray start --cluster` processes on one real
// nats-server, three echo replicas, six MCP clients calling a 20 ms tool through node a the whole
// time. In turn: kill -9 of a replica-holding node (dead-node detection, replicas running again,
// calls failed), kill -9 of the leader (takeover), SIGTERM of a node (calls failed). Detection is
// polled every 50 ms from node a's status, so times are within ~50 ms.
//
//   npx tsx benchmarks/cluster-faults.ts       (≈ 50 s; needs nats-server)
//   BENCH_QUICK=1 npx tsx benchmarks/cluster-faults.ts

import { runCli } from "../test/integration/cli/spawn-cli.ts";
import { load, replicasByNode, startNode, status, until, type ClusterNodeProcess, type LoadResult } from "../test/integration/cluster/cluster-helpers.ts";
import { startNatsServer } from "../test/integration/cluster/nats-server.ts";
import { emitResult, row, type BenchRow } from "./lib/report.ts";

const QUICK = process.env.BENCH_QUICK === "1" || process.env.BENCH_QUICK === "true";
const WORKERS = 6;
const SETTLE_MS = QUICK ? 500 : 1_500;

async function poll<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs `fault` under load through `via`; returns the load's result and what `fault` measured. */
async function underLoad<T>(via: ClusterNodeProcess, fault: () => Promise<T>): Promise<{ result: LoadResult; measured: T }> {
  let stop!: () => void;
  const stopped = new Promise<void>((r) => (stop = r));
  const running = load(via, WORKERS, stopped);
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  try {
    const measured = await fault();
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    return { result: await (stop(), running), measured };
  } catch (err) {
    stop();
    await running;
    throw err;
  }
}

async function main(): Promise<void> {
  const nats = await startNatsServer();
  const nodes = new Map<string, ClusterNodeProcess>();
  const rows: BenchRow[] = [];
  const details: Record<string, unknown> = {};
  try {
    for (const n of await Promise.all(["a", "b", "c", "d"].map((id) => startNode(nats.url, id, ["--num-cpus", "2"])))) nodes.set(n.id, n);
    const a = nodes.get("a")!;
    const deployed = await runCli(["deploy", "test/fixtures/cluster/echo-3.yaml", "--address", a.address], { timeoutMs: 120_000 });
    if (deployed.code !== 0) throw new Error(`deploy failed: ${deployed.stderr}`);
    await until("three echo replicas and a leader", 60_000, async () => {
      const s = await status(a);
      return Object.keys(replicasByNode(s, "echo")).length === 3 && s.nodes?.some((n) => n.leader) ? true : undefined;
    });
    const leaderOf = async () => (await status(a)).nodes?.find((n) => n.leader && n.state !== "DEAD")?.id;
    const total = async () => Object.values(replicasByNode(await status(a), "echo")).reduce((x, y) => x + y, 0);

    // 1. kill -9 of a node holding a replica (not a, not the leader).
    const leader = (await leaderOf())!;
    const holders = Object.keys(replicasByNode(await status(a), "echo"));
    const victim = nodes.get(holders.find((id) => id !== "a" && id !== leader)!)!;
    const kill = await underLoad(a, async () => {
      const t0 = Date.now();
      process.kill(victim.cli.child.pid!, "SIGKILL");
      await poll("DEAD", async () => ((await status(a)).nodes?.find((n) => n.id === victim.id)?.state === "DEAD" ? true : undefined));
      const deadMs = Date.now() - t0;
      await poll("re-placed", async () => ((await total()) === 3 && !(victim.id in replicasByNode(await status(a), "echo")) ? true : undefined), 60_000);
      return { deadMs, replacedMs: Date.now() - t0 };
    });
    nodes.delete(victim.id);
    rows.push(row("kill -9 of a node → DEAD (heartbeat gap)", kill.measured.deadMs, "ms", { note: "3 missed 500 ms beats by design" }));
    rows.push(row("kill -9 of a node → its replicas running elsewhere", kill.measured.replacedMs, "ms"));
    rows.push(row(`kill -9 of a node: calls failed (${WORKERS} in flight at most)`, kill.result.failed.length, "calls", { note: `of ${kill.result.ok + kill.result.failed.length}` }));

    // 2. kill -9 of the leader.
    const leaderNode = nodes.get((await leaderOf())!)!;
    const takeover = await underLoad(nodes.get([...nodes.keys()].find((id) => id !== leaderNode.id)!)!, async () => {
      const observer = [...nodes.values()].find((n) => n.id !== leaderNode.id)!;
      const t0 = Date.now();
      process.kill(leaderNode.cli.child.pid!, "SIGKILL");
      const next = await poll("a new leader", async () => {
        const id = (await status(observer)).nodes?.find((n) => n.leader && n.id !== leaderNode.id && n.state === "ALIVE")?.id;
        return id;
      });
      return { takeoverMs: Date.now() - t0, next };
    });
    nodes.delete(leaderNode.id);
    rows.push(row("kill -9 of the leader → a survivor leads", takeover.measured.takeoverMs, "ms", { note: "lease TTL 3 s + renewal" }));
    rows.push(row("kill -9 of the leader: calls failed", takeover.result.failed.length, "calls", { note: `of ${takeover.result.ok + takeover.result.failed.length}; calls in flight on its replica` }));

    // 3. SIGTERM of a node: drains, nothing fails.
    const via = [...nodes.values()][0]!;
    const drained = [...nodes.values()].find((n) => n.id !== via.id)!;
    const term = await underLoad(via, async () => {
      const t0 = Date.now();
      await drained.cli.stop("SIGTERM", 30_000);
      return { stopMs: Date.now() - t0 };
    });
    nodes.delete(drained.id);
    rows.push(row("SIGTERM of a node: calls failed", term.result.failed.length, "calls", { note: `of ${term.result.ok + term.result.failed.length}; drain took ${term.measured.stopMs} ms` }));
    details.failures = { kill: kill.result.failed.slice(0, 5), leader: takeover.result.failed.slice(0, 5), term: term.result.failed.slice(0, 5) };
    for (const r of rows) console.log(`${r.metric}: ${r.value} ${r.unit}${r.note ? ` (${r.note})` : ""}`);
  } finally {
    await Promise.all([...nodes.values()].map((n) => n.cli.stop("SIGKILL", 5_000)));
    await nats.stop();
  }
  emitResult({ benchmark: "cluster-faults", rows, details, ...(QUICK ? { quick: true } : {}) });
}

await main();
