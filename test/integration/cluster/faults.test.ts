// The cluster's failure model beyond a clean kill, with real processes: one nats-server, three
// `stingray start --cluster` nodes, three echo replicas (one per node) under load through node a.
//   - a hung node (SIGSTOP for 5 s, then SIGCONT): at most one failed call per concurrent caller,
//     throughput once it is excluded at least half of before (the guard against queue-group
//     behaviour, where a frozen member keeps getting work), and after SIGCONT it re-syncs with no
//     duplicate replicas;
//   - a rolling update of the application across the nodes under load: no failed request.
// Bounded in time and requests; processes started and stopped by pid; figures printed for notes.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../cli/spawn-cli.ts";
import { load, rate, replicasByNode, startNode, status, until, type ClusterNodeProcess } from "./cluster-helpers.ts";
import { startNatsServer, type NatsServer } from "./nats-server.ts";

let nats: NatsServer;
const nodes = new Map<string, ClusterNodeProcess>();
const WORKERS = 6;

beforeAll(async () => {
  nats = await startNatsServer();
  await Promise.all(["a", "b", "c"].map(async (id) => nodes.set(id, await startNode(nats.url, id, ["--num-cpus", "2"]))));
  const deployed = await runCli(["deploy", "test/fixtures/cluster/echo-3.yaml", "--address", nodes.get("a")!.address], { timeoutMs: 80_000 });
  if (deployed.code !== 0) throw new Error(`deploy failed: ${deployed.stderr}`);
  await until("one echo replica per node, every node ALIVE", 60_000, async () => {
    const s = await status(nodes.get("a")!);
    const alive = s.nodes?.filter((n) => n.state === "ALIVE").length === 3;
    return alive && Object.keys(replicasByNode(s, "echo")).length === 3 ? true : undefined;
  });
}, 120_000);

afterAll(async () => {
  for (const n of nodes.values()) if (n.cli.child.pid) process.kill(n.cli.child.pid, "SIGCONT");
  await Promise.all([...nodes.values()].map((n) => n.cli.stop("SIGKILL", 5_000)));
  await nats?.stop();
}, 30_000);

function runningReplicas(snap: Awaited<ReturnType<typeof status>>): string[] {
  return (snap.applications.find((a) => a.name === "echo")?.deployments[0]?.replicas ?? []).filter((r) => r.state === "RUNNING").map((r) => `${r.node}:${r.id}`);
}

describe("cluster faults under load", () => {
  it("a hung node (SIGSTOP 5 s): ~one failure per caller, then excluded; after SIGCONT it re-syncs without duplicates", { timeout: 90_000 }, async () => {
    const observer = nodes.get("a")!;
    const snap = await status(observer);
    const leader = snap.nodes!.find((n) => n.leader)!.id;
    const victim = [...nodes.values()].find((n) => n.id !== "a" && n.id !== leader)!;
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const running = load(observer, WORKERS, stopped);
    await new Promise((r) => setTimeout(r, 2_000));
    const frozenAt = Date.now();
    process.kill(victim.cli.child.pid!, "SIGSTOP");
    const states = new Set<string>();
    while (Date.now() - frozenAt < 5_000) {
      const s = await status(observer).catch(() => undefined);
      const state = s?.nodes?.find((n) => n.id === victim.id)?.state;
      if (state) states.add(state);
      await new Promise((r) => setTimeout(r, 200));
    }
    const resumedAt = Date.now();
    process.kill(victim.cli.child.pid!, "SIGCONT");
    await new Promise((r) => setTimeout(r, 1_500));
    stop();
    const result = await running;
    const before = rate(result, frozenAt - 1_500, frozenAt);
    // Excluded (SUSPECT after 1.5 s of silence, DEAD at 3 s) while still frozen.
    const during = rate(result, frozenAt + 3_500, resumedAt);
    console.log(
      `[cluster] SIGSTOP: states seen ${[...states].join(" → ")}; ${result.failed.length} failed of ${result.ok + result.failed.length} (${WORKERS} callers); ` +
        `throughput before ${before.toFixed(0)}/s, once excluded ${during.toFixed(0)}/s (${((during / before) * 100).toFixed(0)}%)`,
    );
    expect(states.has("SUSPECT") || states.has("DEAD")).toBe(true);
    expect(result.failed.length).toBeLessThanOrEqual(WORKERS);
    expect(during).toBeGreaterThanOrEqual(before * 0.5);
    // Back: ALIVE again, and exactly three echo replicas, none twice.
    await until(`${victim.id} ALIVE again`, 15_000, async () => ((await status(observer)).nodes?.find((n) => n.id === victim.id)?.state === "ALIVE" ? true : undefined));
    const settled = await until("exactly three RUNNING echo replicas", 30_000, async () => {
      const r = runningReplicas(await status(observer));
      return r.length === 3 ? r : undefined;
    });
    // And it stays that way (no late duplicate from the resumed node).
    await new Promise((r) => setTimeout(r, 2_000));
    const later = runningReplicas(await status(observer));
    expect(later).toHaveLength(3);
    expect(new Set(later.map((r) => r.split(":")[1])).size).toBe(3);
    console.log(`[cluster] after SIGCONT: ${settled.join(", ")}`);
  });

  it("a rolling update across the nodes under load fails no request", { timeout: 90_000 }, async () => {
    const observer = nodes.get("a")!;
    const old = new Set(runningReplicas(await status(observer)).map((r) => r.split(":")[1]));
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const running = load(observer, WORKERS, stopped);
    await new Promise((r) => setTimeout(r, 1_000));
    const deployed = await runCli(["deploy", "test/fixtures/cluster/echo-3-v2.yaml", "--address", nodes.get("b")!.address], { timeoutMs: 80_000 });
    expect(deployed.code, deployed.stderr).toBe(0);
    const replaced = await until("three new echo replicas, the old ones gone", 60_000, async () => {
      const r = runningReplicas(await status(observer));
      const ids = r.map((x) => x.split(":")[1]!);
      return ids.length === 3 && ids.every((id) => !old.has(id)) ? r : undefined;
    });
    await new Promise((r) => setTimeout(r, 1_000));
    stop();
    const result = await running;
    console.log(`[cluster] rolling update under load: ${result.ok} ok, ${result.failed.length} failed; now ${replaced.join(", ")}`);
    expect(result.failed).toEqual([]);
    expect(result.ok).toBeGreaterThan(100);
  });
});
