// Cluster mode with real processes: one nats-server and four `stingray start --cluster` nodes on
// this machine (four so that each fault below still leaves someone to observe it). Spread
// placement, every node serving MCP for the replicas it holds, SIGTERM drain, kill -9 of a node,
// kill -9 of the leader, and a deploy the new leader applies. Every wait is bounded; processes are
// started and stopped by pid. The measured times are printed for the project notes.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StatusSnapshot } from "../../../src/observability/status.ts";
import { runCli } from "../cli/spawn-cli.ts";
import { callTool, replicasByNode, startNode as startNodeProcess, status, until, type ClusterNodeProcess as Node } from "./cluster-helpers.ts";
import { startNatsServer, type NatsServer } from "./nats-server.ts";

const LEASE_TTL_MS = 3_000;
let nats: NatsServer;
const nodes = new Map<string, Node>();

async function startNode(id: string): Promise<Node> {
  const node = await startNodeProcess(nats.url, id, ["--num-cpus", "2"]);
  nodes.set(id, node);
  return node;
}

async function leaderOf(node: Node): Promise<string | undefined> {
  return (await status(node)).nodes?.find((n) => n.leader && n.state !== "DEAD")?.id;
}

async function echo(node: Node, prefix: string, text: string): Promise<string> {
  return callTool(node, prefix, "echo", { text });
}

function survivor(except: string[]): Node {
  return [...nodes.values()].find((n) => !except.includes(n.id))!;
}

beforeAll(async () => {
  nats = await startNatsServer();
  await Promise.all(["a", "b", "c", "d"].map((id) => startNode(id)));
}, 120_000);

afterAll(async () => {
  await Promise.all([...nodes.values()].map((n) => n.cli.stop("SIGKILL", 5_000)));
  await nats?.stop();
}, 30_000);

describe("a cluster of nodes on one nats-server", () => {
  const gone: string[] = [];

  it("every node sees every node ALIVE, and exactly one leads", { timeout: 30_000 }, async () => {
    // A node can see all four ALIVE a heartbeat before it hears who holds the lease: wait for
    // both, then require exactly one leader, the same one on every node.
    const leaders = new Set<string>();
    for (const node of nodes.values()) {
      const snap = await until(`${node.id} sees four ALIVE nodes and a leader`, 15_000, async () => {
        const s = await status(node);
        const alive = s.nodes?.filter((n) => n.state === "ALIVE").length === 4;
        return alive && s.nodes!.some((n) => n.leader) ? s : undefined;
      });
      expect(snap.nodes!.map((n) => n.id)).toEqual(["a", "b", "c", "d"]);
      const leading = snap.nodes!.filter((n) => n.leader);
      expect(leading).toHaveLength(1);
      leaders.add(leading[0]!.id);
      expect(snap.nodes!.every((n) => n.address?.startsWith("http://") && n.resources.total.CPU === 2)).toBe(true);
    }
    expect([...leaders]).toHaveLength(1);
  });

  it("a deploy through one node spreads the replicas over three nodes, and each serves its own", { timeout: 90_000 }, async () => {
    const via = nodes.get("b")!;
    const deployed = await runCli(["deploy", "test/fixtures/cluster/echo-3.yaml", "--address", via.address], { timeoutMs: 80_000 });
    expect(deployed.code, deployed.stderr).toBe(0);
    let last: StatusSnapshot | undefined;
    const spread = await until("3 RUNNING replicas on 3 nodes", 60_000, async () => {
      last = await status(nodes.get("a")!);
      const byNode = replicasByNode(last, "echo");
      return Object.keys(byNode).length === 3 && Object.values(byNode).every((n) => n === 1) ? byNode : undefined;
    }).catch((err: Error) => {
      throw new Error(`${err.message}; last status: ${JSON.stringify(last?.applications)}`);
    });
    // Every node reports the same picture, whoever is asked.
    expect(replicasByNode(await status(nodes.get("d")!), "echo")).toEqual(spread);
    for (const id of Object.keys(spread)) {
      const node = nodes.get(id)!;
      expect(await until(`${id} answers tools/call`, 20_000, () => echo(node, "/echo", `hi ${id}`))).toMatch(new RegExp(`^hi ${id}\\|`));
    }
  });

  it("SIGTERM drains a node: DRAINING, then gone; its replica moves to the others", { timeout: 60_000 }, async () => {
    const observer = nodes.get("a")!;
    const snap = await status(observer);
    const leader = snap.nodes!.find((n) => n.leader)!.id;
    const holders = Object.keys(replicasByNode(snap, "echo"));
    const victimId = holders.find((id) => id !== leader && id !== "a");
    expect(victimId, `a replica holder that is neither the leader nor the observer in ${JSON.stringify(holders)}`).toBeDefined();
    const victim = nodes.get(victimId!)!;
    const seen = new Set<string>();
    const watching = (async () => {
      while (!gone.includes(victim.id)) {
        const s = await status(observer).catch(() => undefined);
        const state = s?.nodes?.find((n) => n.id === victim.id)?.state ?? "GONE";
        seen.add(state);
        if (state === "GONE") break;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    // A call in flight on the victim keeps it draining long enough to be seen (an idle node
    // drains in less than one status poll), and a graceful drain must finish it.
    const inFlight = callTool(victim, "/echo", "sleep", { ms: 2_000 });
    await new Promise((r) => setTimeout(r, 700));
    const code = await victim.cli.stop("SIGTERM", 30_000);
    expect(await inFlight).toBe("slept 2000");
    gone.push(victim.id);
    nodes.delete(victim.id);
    await watching;
    expect(code).toBe(0);
    expect(seen.has("DRAINING")).toBe(true);
    expect(seen.has("GONE")).toBe(true);
    expect(seen.has("DEAD")).toBe(false);
    const moved = await until("3 RUNNING replicas without the drained node", 60_000, async () => {
      const byNode = replicasByNode(await status(observer), "echo");
      return Object.values(byNode).reduce((a, b) => a + b, 0) === 3 && !(victim.id in byNode) ? byNode : undefined;
    });
    expect(Object.keys(moved).length).toBe(3);
  });

  it("kill -9 of a node: DEAD within ~3 s, its replicas re-placed on the survivors", { timeout: 60_000 }, async () => {
    const observer = nodes.get("a")!;
    const snap = await status(observer);
    const leader = snap.nodes!.find((n) => n.leader)!.id;
    const victim = [...nodes.values()].find((n) => n.id !== leader && n.id !== "a" && replicasByNode(snap, "echo")[n.id]);
    expect(victim, "a replica holder that is neither the leader nor the observer").toBeDefined();
    if (!victim) return;
    const killedAt = Date.now();
    process.kill(victim.cli.child.pid!, "SIGKILL");
    await victim.cli.exited;
    nodes.delete(victim.id);
    gone.push(victim.id);
    await until(`${victim.id} DEAD`, 10_000, async () => ((await status(observer)).nodes?.find((n) => n.id === victim.id)?.state === "DEAD" ? true : undefined));
    const detectedMs = Date.now() - killedAt;
    console.log(`[cluster] kill -9 → DEAD on ${observer.id}: ${detectedMs} ms`);
    expect(detectedMs).toBeLessThan(3_000 + 2_000);
    const replaced = await until("3 RUNNING replicas on the two survivors", 60_000, async () => {
      const byNode = replicasByNode(await status(observer), "echo");
      return Object.values(byNode).reduce((a, b) => a + b, 0) === 3 && !(victim.id in byNode) ? byNode : undefined;
    });
    console.log(`[cluster] kill -9 → replicas running again: ${Date.now() - killedAt} ms, ${JSON.stringify(replaced)}`);
    expect(Object.keys(replaced).sort()).toEqual([...nodes.keys()].sort());
  });

  it("kill -9 of the leader: a survivor leads within TTL + 1 s and applies a new deploy", { timeout: 90_000 }, async () => {
    const anyNode = [...nodes.values()][0]!;
    const leaderId = (await until("a leader", 10_000, () => leaderOf(anyNode)))!;
    const leader = nodes.get(leaderId)!;
    const other = survivor([leaderId]);
    const killedAt = Date.now();
    process.kill(leader.cli.child.pid!, "SIGKILL");
    await leader.cli.exited;
    nodes.delete(leaderId);
    const newLeader = await until("a new leader", LEASE_TTL_MS + 5_000, async () => {
      const s = await status(other);
      return s.nodes?.find((n) => n.id === other.id)?.leader ? other.id : undefined;
    });
    const takeoverMs = Date.now() - killedAt;
    console.log(`[cluster] kill -9 of leader ${leaderId} → ${newLeader} leads: ${takeoverMs} ms`);
    expect(takeoverMs).toBeLessThan(LEASE_TTL_MS + 1_000 + 500);
    const deployed = await runCli(["deploy", "test/fixtures/cluster/echo-3-and-more.yaml", "--address", other.address], { timeoutMs: 80_000 });
    expect(deployed.code, deployed.stderr).toBe(0);
    const byNode = await until("the new application runs", 60_000, async () => {
      const s = await status(other);
      const more = replicasByNode(s, "more");
      const echoTotal = Object.values(replicasByNode(s, "echo")).reduce((a, b) => a + b, 0);
      return Object.keys(more).length === 1 && echoTotal === 3 ? more : undefined;
    });
    expect(Object.keys(byNode)).toEqual([other.id]);
    expect(await echo(other, "/more", "x")).toMatch(/^more:x\|/);
  });
});
