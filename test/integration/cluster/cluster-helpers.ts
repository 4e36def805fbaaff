// What the cluster tests with real processes share: starting a `stingray start --cluster` node,
// reading its status, polling with a bound, counting RUNNING replicas per node, and an MCP tool
// call through a node's proxy with the real SDK client.

import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import type { StatusSnapshot } from "../../../src/observability/status.ts";
import { startCli, type RunningCli } from "../cli/spawn-cli.ts";

export interface ClusterNodeProcess {
  id: string;
  cli: RunningCli;
  address: string;
}

export async function startNode(natsUrl: string, id: string, extra: string[] = [], prefix?: string[]): Promise<ClusterNodeProcess> {
  const cli = startCli(["start", "--cluster", natsUrl, "--port", "0", "--node-id", id, "--labels", `name=${id}`, ...extra], prefix ? { prefix } : {});
  const m = await cli.waitFor(/joined cluster "[^"]+" at (http:\/\/\S+)/, 90_000);
  return { id, cli, address: m[1]! };
}

export async function status(node: ClusterNodeProcess): Promise<StatusSnapshot> {
  const res = await fetch(`${node.address}/-/api/status`);
  if (!res.ok) throw new Error(`status of ${node.id}: HTTP ${res.status}`);
  return (await res.json()) as StatusSnapshot;
}

/** Polls `check` every 100 ms until it returns a value; fails after `timeoutMs` with the last error. */
export async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** RUNNING replicas per node of an application (one deployment, or all). */
export function replicasByNode(snap: StatusSnapshot, app: string, deployment?: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const d of snap.applications.find((a) => a.name === app)?.deployments ?? []) {
    if (deployment !== undefined && d.name !== deployment) continue;
    for (const r of d.replicas ?? []) if (r.state === "RUNNING" && r.node) out[r.node] = (out[r.node] ?? 0) + 1;
  }
  return out;
}

export async function mcpClient(node: ClusterNodeProcess, prefix: string): Promise<Client> {
  const client = new Client({ name: "cluster-test", version: "1" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${node.address}${prefix}/mcp`)));
  return client;
}

export async function toolText(client: Client, name: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<string> {
  const result = (await client.callTool({ name, arguments: args }, signal ? { signal } : undefined)) as {
    content: Array<{ text: string }>;
    isError?: boolean;
  };
  if (result.isError) throw new Error(`tool ${name} failed: ${result.content[0]?.text}`);
  return result.content[0]!.text;
}

export async function callTool(node: ClusterNodeProcess, prefix: string, name: string, args: Record<string, unknown>): Promise<string> {
  const client = await mcpClient(node, prefix);
  try {
    return await toolText(client, name, args);
  } finally {
    await client.close();
  }
}

export interface LoadResult {
  ok: number;
  failed: string[];
  /** Date.now() of every successful answer (throughput per time window). */
  okAt: number[];
}

/**
 * `workers` MCP clients calling the echo app's `sleep` tool through `via`, back to back, until
 * `stop` resolves.
 */
export async function load(via: ClusterNodeProcess, workers: number, stop: Promise<void>, prefix = "/echo", sleepMs = 20): Promise<LoadResult> {
  const result: LoadResult = { ok: 0, failed: [], okAt: [] };
  let stopped = false;
  void stop.then(() => (stopped = true));
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      const client = await mcpClient(via, prefix);
      try {
        for (let i = 0; !stopped; i++) {
          try {
            await toolText(client, "sleep", { ms: sleepMs });
            result.ok++;
            result.okAt.push(Date.now());
          } catch (err) {
            result.failed.push(`worker ${w} call ${i}: ${(err as Error).message}`);
          }
        }
      } finally {
        await client.close();
      }
    }),
  );
  return result;
}

/** Successful answers per second between two times. */
export function rate(result: LoadResult, fromMs: number, toMs: number): number {
  return result.okAt.filter((t) => t >= fromMs && t < toMs).length / ((toMs - fromMs) / 1000);
}
