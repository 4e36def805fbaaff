// A network partition of one node, for real: node p runs in its own network namespace, joined to
// the host by a veth pair, and reaches nats-server (on the host side of the pair) only through
// it; nodes a and b run on the host. Three echo replicas, one per node, under load through a.
// Taking the host end of the link down cuts p off: about one failed call per concurrent caller,
// then p is excluded and its replica runs elsewhere; once the link is back, p rejoins and
// re-syncs, and exactly three replicas run. Needs root (ip netns): without it the suite is
// skipped with the reason printed. The namespace and the link are always deleted.

import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../cli/spawn-cli.ts";
import { load, rate, replicasByNode, startNode, status, until, type ClusterNodeProcess } from "./cluster-helpers.ts";
import { startNatsServer, type NatsServer } from "./nats-server.ts";

const NS = `srpart${process.pid % 100000}`;
const HOST_IF = `srh${process.pid % 100000}`;
const NODE_IF = `srn${process.pid % 100000}`;
const HOST_IP = "10.231.7.1";
const NODE_IP = "10.231.7.2";
const WORKERS = 6;

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: "pipe" });
}

function cleanup(): void {
  for (const args of [["netns", "del", NS], ["link", "del", HOST_IF]]) {
    try {
      ip(...args);
    } catch {
      // Not there.
    }
  }
}

/** Creates the namespace and the link; the reason it cannot, if it cannot. */
function setUpNamespace(): string | undefined {
  if (process.getuid?.() !== 0) return "not root (ip netns needs CAP_NET_ADMIN)";
  try {
    cleanup();
    ip("netns", "add", NS);
    ip("link", "add", HOST_IF, "type", "veth", "peer", "name", NODE_IF);
    ip("link", "set", NODE_IF, "netns", NS);
    ip("addr", "add", `${HOST_IP}/30`, "dev", HOST_IF);
    ip("link", "set", HOST_IF, "up");
    ip("netns", "exec", NS, "ip", "addr", "add", `${NODE_IP}/30`, "dev", NODE_IF);
    ip("netns", "exec", NS, "ip", "link", "set", NODE_IF, "up");
    ip("netns", "exec", NS, "ip", "link", "set", "lo", "up");
    return undefined;
  } catch (err) {
    cleanup();
    return `ip netns failed: ${(err as Error).message.split("\n")[0]}`;
  }
}

const skipReason = setUpNamespace();
if (skipReason) console.log(`[cluster] partition test skipped: ${skipReason}`);

let nats: NatsServer;
const nodes = new Map<string, ClusterNodeProcess>();

describe.skipIf(skipReason !== undefined)("a network partition of one node", () => {
  beforeAll(async () => {
    nats = await startNatsServer(undefined, "0.0.0.0");
    const port = nats.url.split(":").pop();
    const [a, b, p] = await Promise.all([
      startNode(`nats://127.0.0.1:${port}`, "a", ["--num-cpus", "2"]),
      startNode(`nats://127.0.0.1:${port}`, "b", ["--num-cpus", "2"]),
      startNode(`nats://${HOST_IP}:${port}`, "p", ["--num-cpus", "2", "--host", NODE_IP], ["ip", "netns", "exec", NS]),
    ]);
    for (const n of [a, b, p]) nodes.set(n.id, n);
    const deployed = await runCli(["deploy", "test/fixtures/cluster/echo-3.yaml", "--address", a.address], { timeoutMs: 80_000 });
    if (deployed.code !== 0) throw new Error(`deploy failed: ${deployed.stderr}`);
    await until("one echo replica on each of a, b, p", 60_000, async () => {
      const byNode = replicasByNode(await status(a), "echo");
      return byNode.a === 1 && byNode.b === 1 && byNode.p === 1 ? true : undefined;
    });
  }, 150_000);

  afterAll(async () => {
    try {
      ip("link", "set", HOST_IF, "up");
    } catch {
      // Gone already.
    }
    await Promise.all([...nodes.values()].map((n) => n.cli.stop("SIGKILL", 5_000)));
    await nats?.stop();
    cleanup();
  }, 30_000);

  it("cut off: ~one failure per caller, then excluded and re-placed; healed: it rejoins with no duplicate replica", { timeout: 120_000 }, async () => {
    const a = nodes.get("a")!;
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const running = load(a, WORKERS, stopped);
    await new Promise((r) => setTimeout(r, 2_000));
    const cutAt = Date.now();
    ip("link", "set", HOST_IF, "down");
    await until("p DEAD as a sees it", 15_000, async () => ((await status(a)).nodes?.find((n) => n.id === "p")?.state === "DEAD" ? true : undefined));
    const deadMs = Date.now() - cutAt;
    await until("three echo replicas on a and b", 30_000, async () => {
      const byNode = replicasByNode(await status(a), "echo");
      return (byNode.a ?? 0) + (byNode.b ?? 0) === 3 ? true : undefined;
    });
    const replacedMs = Date.now() - cutAt;
    await new Promise((r) => setTimeout(r, 1_500));
    const excludedFrom = Date.now() - 1_500;
    stop();
    const result = await running;
    const before = rate(result, cutAt - 1_500, cutAt);
    const after = rate(result, excludedFrom, excludedFrom + 1_500);
    console.log(
      `[cluster] partition: p DEAD after ${deadMs} ms, its replica elsewhere after ${replacedMs} ms; ${result.failed.length} failed of ${result.ok + result.failed.length} ` +
        `(${WORKERS} callers); throughput before ${before.toFixed(0)}/s, once excluded ${after.toFixed(0)}/s`,
    );
    expect(result.failed.length).toBeLessThanOrEqual(WORKERS);
    expect(after).toBeGreaterThanOrEqual(before * 0.5);

    const healedAt = Date.now();
    ip("link", "set", HOST_IF, "up");
    await until("p ALIVE again", 30_000, async () => ((await status(a)).nodes?.find((n) => n.id === "p")?.state === "ALIVE" ? true : undefined));
    const rejoinMs = Date.now() - healedAt;
    // p stops the replica it kept while cut off: exactly three, each once, and it stays that way.
    const settled = await until("exactly three RUNNING echo replicas", 30_000, async () => {
      const replicas = (await status(a)).applications.find((x) => x.name === "echo")?.deployments[0]?.replicas?.filter((r) => r.state === "RUNNING") ?? [];
      return replicas.length === 3 ? replicas : undefined;
    });
    await new Promise((r) => setTimeout(r, 2_000));
    const later = (await status(a)).applications.find((x) => x.name === "echo")?.deployments[0]?.replicas?.filter((r) => r.state === "RUNNING") ?? [];
    expect(later.map((r) => r.id).sort()).toEqual(settled.map((r) => r.id).sort());
    console.log(`[cluster] partition healed: p ALIVE after ${rejoinMs} ms; replicas ${later.map((r) => `${r.node}:${r.id}`).join(", ")}`);
  });
});
