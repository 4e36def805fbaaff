// One of three clustered nats-servers dies under load. Three nats-server processes with routes
// between them and JetStream on each (the cluster's KV buckets at three replicas), three
// `stingray start --cluster` nodes given all three URLs, three echo replicas, load through node a.
// The server node a is connected to is killed (kill -9): every request is still answered (calls
// whose messages were lost in transit are asked about and re-routed or answered again), no node
// is ever seen SUSPECT (heartbeats resume within a second), and a KV write (a new deploy) works
// within seconds. Bounded; processes started and stopped by pid.

import { connect } from "@nats-io/transport-node";
import { Kvm } from "@nats-io/kv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../cli/spawn-cli.ts";
import { load, replicasByNode, startNode, status, until, type ClusterNodeProcess } from "./cluster-helpers.ts";
import { startNatsCluster, type NatsServer } from "./nats-server.ts";

let servers: NatsServer[] = [];
const nodes = new Map<string, ClusterNodeProcess>();

beforeAll(async () => {
  servers = await startNatsCluster(3);
  const urls = servers.map((s) => s.url).join(",");
  await Promise.all(["a", "b", "c"].map(async (id) => nodes.set(id, await startNode(urls, id, ["--num-cpus", "2"]))));
  const deployed = await runCli(["deploy", "test/fixtures/cluster/echo-3.yaml", "--address", nodes.get("a")!.address], { timeoutMs: 80_000 });
  if (deployed.code !== 0) throw new Error(`deploy failed: ${deployed.stderr}`);
  await until("one echo replica per node", 60_000, async () => (Object.keys(replicasByNode(await status(nodes.get("a")!), "echo")).length === 3 ? true : undefined));
}, 150_000);

afterAll(async () => {
  await Promise.all([...nodes.values()].map((n) => n.cli.stop("SIGKILL", 5_000)));
  await Promise.all(servers.map((s) => s.stop()));
}, 30_000);

/** Puts a key into the cluster's state bucket every 100 ms until one is accepted; ms since `sinceMs`. */
async function firstKvWriteAfter(servers: string[], sinceMs: number): Promise<number> {
  const nc = await connect({ servers, timeout: 2_000 });
  try {
    const kv = await new Kvm(nc).open("stingray_stingray_state");
    for (;;) {
      try {
        await kv.put("probe.failover", new TextEncoder().encode(String(Date.now())));
        return Date.now() - sinceMs;
      } catch {
        if (Date.now() - sinceMs > 30_000) throw new Error("KV writes did not resume within 30 s");
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    await nc.close();
  }
}

describe("a clustered nats-server dies", () => {
  it("under load: every request answered, heartbeats keep every node ALIVE, KV writes resume", { timeout: 90_000 }, async () => {
    const a = nodes.get("a")!;
    const connectedTo = (await status(a)).cluster?.natsServer;
    const victim = servers.find((s) => connectedTo !== undefined && s.url.endsWith(`:${connectedTo.split(":").pop()}`));
    expect(victim, `the server node a uses (${connectedTo}) among ${servers.map((s) => s.url).join(", ")}`).toBeDefined();
    const observer = [...nodes.values()].find((n) => n.id !== "a")!;
    const seen = new Set<string>();
    let maxSilenceMs = 0;
    let watching = true;
    const watch = (async () => {
      while (watching) {
        const s = await status(observer).catch(() => undefined);
        for (const n of s?.nodes ?? []) {
          seen.add(`${n.id}:${n.state}`);
          maxSilenceMs = Math.max(maxSilenceMs, n.lastSeenMsAgo ?? 0);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const running = load(a, 6, stopped);
    await new Promise((r) => setTimeout(r, 1_500));
    maxSilenceMs = 0;
    const killedAt = Date.now();
    process.kill(victim!.pid, "SIGKILL");
    const reconnected = await until("node a on another server", 10_000, async () => {
      const now = (await status(a)).cluster?.natsServer;
      return now && now !== connectedTo ? now : undefined;
    });
    const reconnectMs = Date.now() - killedAt;
    // KV writes (R3 bucket) through a surviving server: how long until one is accepted.
    const kvResumedMs = await firstKvWriteAfter(servers.filter((s) => s !== victim).map((s) => s.url), killedAt);
    // End to end: a new application's desired state, its placement by the leader, its replicas.
    const deployed = await runCli(["deploy", "test/fixtures/cluster/echo-3-and-more.yaml", "--address", nodes.get("b")!.address], { timeoutMs: 30_000 }).catch((err: Error) => ({ code: -1, stderr: err.message, stdout: "" }));
    const deployMs = Date.now() - killedAt;
    if (deployed.code !== 0) {
      for (const n of nodes.values()) {
        const lines = (n.cli.output().stdout + n.cli.output().stderr).split("\n").filter((l) => !/"type":"access"/.test(l) && /"level":"(warn|error|info)"/.test(l));
        console.log(`--- ${n.id}\n` + lines.slice(-15).map((l) => l.slice(0, 400)).join("\n"));
      }
    }
    expect(deployed.code, deployed.stderr).toBe(0);
    await new Promise((r) => setTimeout(r, 1_000));
    stop();
    const result = await running;
    watching = false;
    await watch;
    console.log(
      `[cluster] nats-server ${connectedTo} killed: node a on ${reconnected} after ${reconnectMs} ms; ${result.ok} calls answered ok, ${result.failed.length} failed; ` +
        `longest heartbeat silence ${maxSilenceMs} ms; KV writes accepted again ${kvResumedMs} ms after the kill; a deploy (KV, leader's placement, replicas) done ${deployMs} ms after it`,
    );
    expect(result.failed).toEqual([]);
    expect(result.ok).toBeGreaterThan(100);
    expect([...seen].filter((s) => !s.endsWith(":ALIVE"))).toEqual([]);
    expect(maxSilenceMs).toBeLessThan(1_500);
    // 0.4 s when the dead server did not lead the KV stream; when it did, nats-server 2.9's raft
    // elects a new stream leader first (measured 4–5.2 s): the engine's figure, not ours.
    expect(kvResumedMs).toBeLessThan(10_000);
    expect(deployMs).toBeLessThan(30_000);
  });
});
