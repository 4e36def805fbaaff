// The cross-node data plane with real processes: one nats-server, three `stingray start --cluster`
// nodes. Node b alone has a GPU and too few CPUs for the MCP ingress, so the xnode app's Front
// (1.5 CPUs) runs on a or c and its Back (half a GPU) only on b: every Front → Back handle call
// crosses nodes, and the nodes without Front serve its MCP endpoint through another node's
// replica. Then faults under load on a second app (three echo replicas, one per node): kill -9 of
// a node fails only the calls in flight on it, and SIGTERM of a node fails none. Every wait is
// bounded; processes are started and stopped by pid; measured figures are printed for the notes.

import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { mintSessionId, sessionOwner } from "../../../src/ingress/session-id.ts";
import { modernRequest, streamReader } from "../../fixtures/ingress/harness.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../cli/spawn-cli.ts";
import {
  callTool,
  load,
  mcpClient,
  replicasByNode,
  startNode,
  status,
  toolText,
  until,
  type ClusterNodeProcess,
} from "./cluster-helpers.ts";
import { startNatsServer, type NatsServer } from "./nats-server.ts";

let nats: NatsServer;
const nodes = new Map<string, ClusterNodeProcess>();
/** The node running Front (a or c), known after the deploy; and the one running SessionFront. */
let frontNode: ClusterNodeProcess;
let sessionNode: ClusterNodeProcess;

const NODE_FLAGS: Record<string, string[]> = {
  a: ["--num-cpus", "3"],
  b: ["--num-cpus", "1.45", "--num-gpus", "1"],
  c: ["--num-cpus", "3"],
};

beforeAll(async () => {
  nats = await startNatsServer();
  await Promise.all(Object.entries(NODE_FLAGS).map(async ([id, flags]) => nodes.set(id, await startNode(nats.url, id, flags))));
}, 120_000);

afterAll(async () => {
  await Promise.all([...nodes.values()].map((n) => n.cli.stop("SIGKILL", 5_000)));
  await nats?.stop();
}, 30_000);

describe("the cross-node data plane", () => {
  it("every node serves the app: Front answers wherever it runs, and reaches Back on the GPU node", { timeout: 90_000 }, async () => {
    const deployed = await runCli(["deploy", "test/fixtures/cluster/xnode.yaml", "--address", nodes.get("c")!.address], { timeoutMs: 80_000 });
    expect(deployed.code, deployed.stderr).toBe(0);
    const placed = await until("Front, SessionFront and both Backs RUNNING", 60_000, async () => {
      const s = await status(nodes.get("a")!);
      const front = Object.keys(replicasByNode(s, "xnode", "Front"));
      const back = Object.keys(replicasByNode(s, "xnode", "Back"));
      const sessionFront = Object.keys(replicasByNode(s, "xsession", "SessionFront"));
      const ready =
        front.length === 1 &&
        back.length === 1 &&
        sessionFront.length === 1 &&
        Object.keys(replicasByNode(s, "xsession", "Back")).length === 1 &&
        Object.keys(replicasByNode(s, "xevents")).length === 3;
      return ready ? { front: front[0]!, back: back[0]!, sessionFront: sessionFront[0]! } : undefined;
    });
    sessionNode = nodes.get(placed.sessionFront)!;
    expect(placed.back).toBe("b");
    expect(["a", "c"]).toContain(placed.front);
    frontNode = nodes.get(placed.front)!;
    // Each node's proxy, two of which have no Front replica at all; each ready once it joined.
    for (const node of nodes.values()) {
      expect((await fetch(`${node.address}/-/ready`)).status, `${node.id} /-/ready`).toBe(200);
      const answer = await until(`${node.id} answers where`, 20_000, () => callTool(node, "/xnode", "where", {}));
      expect(JSON.parse(answer)).toEqual({ front: placed.front, back: "b" });
    }
  });

  it("each node's /metrics carries its node label and only its own replicas; status names every replica's node", { timeout: 20_000 }, async () => {
    const snap = await status(nodes.get("a")!);
    const replicaNode = new Map<string, string>();
    for (const app of snap.applications) for (const d of app.deployments) for (const r of d.replicas ?? []) if (r.node) replicaNode.set(r.id, r.node);
    expect(new Set(replicaNode.values())).toEqual(new Set(["a", "b", "c"]));
    for (const node of nodes.values()) {
      const text = await (await fetch(`${node.address}/metrics`)).text();
      const series = text.split("\n").filter((l) => l.startsWith("stingray_replica_ongoing_requests{"));
      expect(series.length, `${node.id} exports its replicas`).toBeGreaterThan(0);
      for (const line of series) {
        expect(line).toContain(`node="${node.id}"`);
        const replica = /replica="([^"]+)"/.exec(line)![1]!;
        expect(replicaNode.get(replica), line).toBe(node.id);
      }
    }
  });

  it("a legacy session opened through one node continues through every other; an id naming a gone replica is 404", { timeout: 30_000 }, async () => {
    // Opened through a node without the session's replica (b never runs SessionFront).
    const client = new Client({ name: "cluster-session-test", version: "1" });
    const transport = new StreamableHTTPClientTransport(new URL(`${nodes.get("b")!.address}/xsession/mcp`));
    await client.connect(transport);
    try {
      const sessionId = transport.sessionId!;
      expect(sessionOwner(sessionId)).toMatch(/^xsession#SessionFront#/);
      expect(JSON.parse(await toolText(client, "where", {}))).toEqual({ front: sessionNode.id, back: "b" });
      const post = (node: ClusterNodeProcess, id: string) =>
        fetch(`${node.address}/xsession/mcp`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            accept: "application/json, text/event-stream",
            "mcp-session-id": id,
            "mcp-protocol-version": transport.protocolVersion!,
          },
          body: JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "where", arguments: {} } }),
        });
      // Every node, none of which saw the initialize (b did, through its table), pins it.
      for (const node of nodes.values()) {
        const res = await post(node, sessionId);
        expect(res.status, `${node.id}: ${await res.clone().text()}`).toBe(200);
        expect(await res.text()).toContain(`\\"front\\":\\"${sessionNode.id}\\"`);
      }
      // The owner checks the id itself: a forged id naming the real replica is unknown there.
      expect((await post(nodes.get("a")!, mintSessionId(sessionOwner(sessionId)!))).status).toBe(404);
      // An id naming a replica that does not exist anywhere: 404 without a hop.
      expect((await post(nodes.get("c")!, mintSessionId("xsession#SessionFront#gone"))).status).toBe(404);
    } finally {
      await client.close();
    }
  });

  it("a change event published on one node reaches subscriptions/listen streams on the others", { timeout: 30_000 }, async () => {
    const listen = modernRequest("subscriptions/listen", { notifications: { toolsListChanged: true } }, 70);
    const aborter = new AbortController();
    // A listen stream through a (its local Announcer replica, idle, is chosen first).
    const res = await fetch(`${nodes.get("a")!.address}/xevents/mcp`, { method: "POST", headers: listen.headers, body: listen.body, signal: aborter.signal });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const readUntil = streamReader(res);
    try {
      await readUntil("notifications/subscriptions/acknowledged");
      // Published by the replica on c, through c's proxy.
      const call = modernRequest("tools/call", { name: "announce", arguments: {} }, 71);
      const published = await fetch(`${nodes.get("c")!.address}/xevents/mcp`, { method: "POST", headers: call.headers, body: call.body });
      expect(published.status).toBe(200);
      expect(await published.text()).toContain('"text":"c"');
      await readUntil("notifications/tools/list_changed");
    } finally {
      aborter.abort();
    }
  });

  it("a handle stream across nodes arrives whole and in order (flow control over 32-item credits)", { timeout: 30_000 }, async () => {
    for (const node of nodes.values()) {
      expect(await callTool(node, "/xnode", "count", { n: 2_000 })).toBe("2000 in order");
    }
  });

  it("a deadline on a handle call reaches the replica on the other node and cancels it there", { timeout: 30_000 }, async () => {
    const before = Number(await callTool(frontNode, "/xnode", "cancelled", {}));
    const started = Date.now();
    expect(await callTool(frontNode, "/xnode", "hold", { ms: 20_000, timeoutMs: 300 })).toBe("error TimeoutError");
    expect(Date.now() - started).toBeLessThan(5_000);
    await until("Back saw the cancellation", 5_000, async () => (Number(await callTool(frontNode, "/xnode", "cancelled", {})) > before ? true : undefined));
  });

  it("a client that goes away cancels the work two nodes away (its proxy → Front → Back)", { timeout: 30_000 }, async () => {
    const before = Number(await callTool(frontNode, "/xnode", "cancelled", {}));
    // Through the node that runs neither Front nor Back.
    const via = [...nodes.values()].find((n) => n.id !== "b" && n.id !== frontNode.id)!;
    const call = modernRequest("tools/call", { name: "hold", arguments: { ms: 20_000, timeoutMs: 30_000 } }, 80);
    const aborter = new AbortController();
    const pending = fetch(`${via.address}/xnode/mcp`, { method: "POST", headers: call.headers, body: call.body, signal: aborter.signal }).then(
      (r) => r.text(),
      () => "aborted",
    );
    await new Promise((r) => setTimeout(r, 500));
    aborter.abort();
    expect(await pending).toBe("aborted");
    const started = Date.now();
    await until("Back saw the cancellation", 5_000, async () => (Number(await callTool(frontNode, "/xnode", "cancelled", {})) > before ? true : undefined));
    console.log(`[cluster] client disconnect → Back's call aborted two hops away within ${Date.now() - started} ms of the check starting`);
  });

  it("the leader autoscales a deployment on the whole cluster's load, over several nodes, and back down", { timeout: 90_000 }, async () => {
    const deployed = await runCli(["deploy", "test/fixtures/cluster/auto.yaml", "--address", nodes.get("b")!.address], { timeoutMs: 80_000 });
    expect(deployed.code, deployed.stderr).toBe(0);
    const total = async () => Object.values(replicasByNode(await status(nodes.get("a")!), "auto")).reduce((x, y) => x + y, 0);
    await until("one auto replica", 30_000, async () => ((await total()) === 1 ? true : undefined));
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    // 8 calls of 200 ms in flight all the time, through one node: the target is 4 (maxReplicas).
    const running = load(nodes.get("a")!, 8, stopped, "/auto", 200);
    const startedAt = Date.now();
    const spread = await until("four auto replicas", 30_000, async () => {
      const byNode = replicasByNode(await status(nodes.get("c")!), "auto");
      return Object.values(byNode).reduce((x, y) => x + y, 0) === 4 ? byNode : undefined;
    });
    const upMs = Date.now() - startedAt;
    stop();
    const result = await running;
    expect(result.failed).toEqual([]);
    expect(Object.keys(spread).length).toBeGreaterThanOrEqual(2);
    const idleAt = Date.now();
    await until("back to one auto replica", 30_000, async () => ((await total()) === 1 ? true : undefined));
    console.log(`[cluster] autoscaling: 1 → 4 replicas ${JSON.stringify(spread)} in ${upMs} ms under load; back to 1 in ${Date.now() - idleAt} ms idle`);
  });

  it("kill -9 of a node under load: only the calls in flight on it fail, then its replica runs elsewhere", { timeout: 90_000 }, async () => {
    const deployed = await runCli(["deploy", "test/fixtures/cluster/echo-3.yaml", "--address", frontNode.address], { timeoutMs: 80_000 });
    expect(deployed.code, deployed.stderr).toBe(0);
    await until("one echo replica per node", 60_000, async () => {
      const byNode = replicasByNode(await status(frontNode), "echo");
      return Object.keys(byNode).length === 3 ? byNode : undefined;
    });
    const victim = [...nodes.values()].find((n) => n.id !== "b" && n.id !== frontNode.id)!;
    // Every node's router must know the victim's replica before the load starts.
    await until("the Front node routes to three echo replicas", 10_000, async () => {
      const s = await status(frontNode);
      return s.nodes?.filter((n) => n.state === "ALIVE").length === 3 ? true : undefined;
    });
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const WORKERS = 6;
    const running = load(frontNode, WORKERS, stopped);
    await new Promise((r) => setTimeout(r, 1_500));
    const killedAt = Date.now();
    process.kill(victim.cli.child.pid!, "SIGKILL");
    await victim.cli.exited;
    nodes.delete(victim.id);
    await until(`${victim.id} DEAD`, 10_000, async () => ((await status(frontNode)).nodes?.find((n) => n.id === victim.id)?.state === "DEAD" ? true : undefined));
    const detectedMs = Date.now() - killedAt;
    await new Promise((r) => setTimeout(r, 1_500));
    stop();
    const result = await running;
    console.log(`[cluster] kill -9 under load: DEAD after ${detectedMs} ms; ${result.ok} calls ok, ${result.failed.length} failed (${WORKERS} in flight at most): ${result.failed.slice(0, 3).join("; ")}`);
    // At most one call per worker can have been on the victim when it died; none after.
    expect(result.failed.length).toBeLessThanOrEqual(WORKERS);
    // ReplicaDiedError, as HTTP maps it: 503 "the replica stopped while serving the request".
    for (const f of result.failed) expect(f).toMatch(/replica stopped while serving the request/);
    expect(result.ok).toBeGreaterThan(50);
    const replaced = await until("three echo replicas on the survivors", 60_000, async () => {
      const byNode = replicasByNode(await status(frontNode), "echo");
      return Object.values(byNode).reduce((a, b) => a + b, 0) === 3 && !(victim.id in byNode) ? byNode : undefined;
    });
    console.log(`[cluster] kill -9 → echo running again on ${JSON.stringify(replaced)} after ${Date.now() - killedAt} ms`);
  });

  it("SIGTERM of a node under load fails no request", { timeout: 90_000 }, async () => {
    const victim = nodes.get("b")!;
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const running = load(frontNode, 6, stopped);
    await new Promise((r) => setTimeout(r, 1_500));
    const code = await victim.cli.stop("SIGTERM", 30_000);
    nodes.delete(victim.id);
    await new Promise((r) => setTimeout(r, 1_000));
    stop();
    const result = await running;
    console.log(`[cluster] SIGTERM under load: ${result.ok} calls ok, ${result.failed.length} failed`);
    expect(code).toBe(0);
    expect(result.failed).toEqual([]);
    expect(result.ok).toBeGreaterThan(50);
  });
});
