// Memory per idle long-lived stream (issue 11, part 2: the argument for maxOngoingStreams' default
// of 100). A server process (this file with --serve: one MCP replica, room for 10,000 streams)
// and this process as the client: N idle 2026-07-28 `subscriptions/listen` streams, then N legacy
// GET streams (each with its 2025 session); per stream, the growth of the replica thread's V8 heap
// after a full GC (its `heap` tool) and of the server process's RSS. The server runs apart so the
// client's own sockets are not counted.
//
//   npx tsx benchmarks/stream-memory.ts      STREAM_BENCH_N=200 (BENCH_QUICK=1: 50)

import { McpServer } from "@modelcontextprotocol/server";
import { getHeapStatistics } from "node:v8";
import { isMainThread } from "node:worker_threads";
import { fileURLToPath } from "node:url";
import { bind, deployment } from "../src/deployments/decorator.ts";
import { ingress } from "../src/deployments/ingress.ts";
import { mcpApp } from "../src/deployments/mcp-app.ts";
import { ACCEPT_BOTH, legacyInitialize, modernRequest } from "../test/fixtures/ingress/harness.ts";
import { freePort, rssMiB, spawnServer, tsxCommand, waitFor } from "./lib/process.ts";
import { emitResultAndExit, isQuick, row } from "./lib/report.ts";

function buildServer(): McpServer {
  const server = new McpServer({ name: "stream-bench", version: "1.0.0" });
  server.registerTool("heap", { description: "The replica thread's heap after GC", inputSchema: {} }, async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    for (let i = 0; i < 4; i++) gc?.();
    return { content: [{ type: "text" as const, text: String(getHeapStatistics().used_heap_size) }] };
  });
  return server;
}

@deployment({ numReplicas: 1, maxOngoingStreams: 10_000, actorOptions: { numCpus: 0 } })
@ingress(mcpApp(buildServer, { sessions: { idleTimeoutMs: 3_600_000 } }))
export class StreamBench {}

async function serveHere(port: number): Promise<void> {
  process.env.STINGRAY_LOG_LEVEL ??= "warn";
  const { serve } = await import("../src/serve.ts");
  await serve.start({ http: { host: "127.0.0.1", port }, numCpus: 1 });
  await serve.run(bind(StreamBench), { name: "streams" });
  console.log("READY");
}

async function measure(): Promise<never> {
  const n = Number(process.env.STREAM_BENCH_N ?? (isQuick() ? 50 : 200));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/mcp`;
  const cmd = tsxCommand(fileURLToPath(import.meta.url), ["--serve", String(port)]);
  // --expose-gc reaches the replica thread too (workers inherit execArgv): its heap is read after GC.
  const server = spawnServer(cmd.file, ["--expose-gc", ...cmd.args], process.env);
  const open: AbortController[] = [];
  try {
    await waitFor("the server to start", () => server.output().includes("READY"), {
      timeoutMs: 60_000,
      abortIf: () => (server.exited() ? `it exited: ${server.output().slice(-2_000)}` : undefined),
    });
    const heap = async (): Promise<number> => {
      const req = modernRequest("tools/call", { name: "heap", arguments: {} });
      const body = await (await fetch(url, { method: "POST", headers: req.headers, body: req.body })).json();
      return Number(body.result.content[0].text);
    };
    const settled = async () => {
      for (let i = 0; i < 3; i++) await heap();
      return { heap: await heap(), rssMiB: (await rssMiB(server.pid)) ?? NaN };
    };
    const openStream = async (era: "listen" | "legacy", i: number): Promise<void> => {
      const aborter = new AbortController();
      open.push(aborter);
      let res: Response;
      if (era === "listen") {
        const l = modernRequest("subscriptions/listen", { notifications: { toolsListChanged: true } }, 100 + i);
        res = await fetch(url, { method: "POST", headers: l.headers, body: l.body, signal: aborter.signal });
      } else {
        const init = legacyInitialize();
        const r = await fetch(url, { method: "POST", headers: init.headers, body: init.body });
        await r.text();
        const h = { accept: ACCEPT_BOTH, "mcp-session-id": r.headers.get("mcp-session-id")!, "mcp-protocol-version": "2025-11-25" };
        const body = JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" });
        await (await fetch(url, { method: "POST", headers: { ...h, "content-type": "application/json" }, body })).text();
        res = await fetch(url, { headers: { ...h, accept: "text/event-stream" }, signal: aborter.signal });
      }
      if (res.status !== 200) throw new Error(`${era} stream ${i}: HTTP ${res.status}`);
    };
    const rows = [];
    const details: Record<string, unknown> = { n };
    for (const era of ["listen", "legacy"] as const) {
      const before = await settled();
      for (let i = 0; i < n; i++) await openStream(era, i);
      const after = await settled();
      details[era] = { before, after };
      const label = era === "listen" ? "subscriptions/listen stream" : "legacy GET stream + its session";
      rows.push(row(`replica heap per ${label}`, (after.heap - before.heap) / 1024 / n, "KiB", { digits: 3 }));
      rows.push(row(`server RSS per ${label}`, ((after.rssMiB - before.rssMiB) * 1024) / n, "KiB", { digits: 3, note: `${n} idle streams` }));
      for (const a of open.splice(0)) a.abort();
    }
    return await emitResultAndExit({ benchmark: "stream-memory", rows, details, quick: isQuick() });
  } finally {
    for (const a of open) a.abort();
    await server.stop();
  }
}

if (isMainThread) {
  const at = process.argv.indexOf("--serve");
  if (at !== -1) await serveHere(Number(process.argv[at + 1]));
  else await measure();
}
