// What a cross-node hop costs. Node a runs in this process, node b is a `stingray start --cluster`
// child process (as on another machine, it has its own event loop), both on one real
// nats-server; the same tiny app deployed twice, pinned by node label: "near" runs its replica on
// node a, "far" on node b. From node a, the same calls go to the local replica (baseline) and
// over NATS to the remote one, in the same run, after a warm-up:
//   - a handle call to a no-op method, at concurrency 1 and 16 (p50, p99, calls/s);
//   - MCP tools/call through node a's proxy (autocannon, both eras), the ingress replica local vs
//     on node b;
//   - the floor: a bare NATS publish/reply round trip from this process to a responder in another
//     process (benchmarks/lib/fixtures/nats-echo.mjs), so what a hop adds splits into NATS's own
//     cost on this machine and the runtime's.
//
//   npx tsx benchmarks/cluster-calls.ts          (≈ 25 s; needs nats-server, see README)
//   BENCH_QUICK=1 npx tsx benchmarks/cluster-calls.ts
//
// The last stdout line is the JSON result run-all reads; every row's baseline is the local run.

import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { connect, createInbox, type NatsConnection } from "@nats-io/transport-node";
import { startNode as startNodeProcess } from "../test/integration/cluster/cluster-helpers.ts";
import { startNatsServer } from "../test/integration/cluster/nats-server.ts";
import { Runtime } from "../src/runtime/runtime.ts";
import { loadApplication } from "../src/cli/load-app.ts";
import { closedLoop } from "./lib/load.ts";
import { toolCallRequest, type McpEra } from "./lib/mcp.ts";
import { emitResult, row, type BenchRow } from "./lib/report.ts";
import { summarize } from "./lib/stats.ts";

const QUICK = process.env.BENCH_QUICK === "1" || process.env.BENCH_QUICK === "true";
const SECONDS = QUICK ? 0.5 : 3;
const WARMUP_SECONDS = QUICK ? 0.2 : 1;
const APP_MODULE = fileURLToPath(new URL("./lib/fixtures/cluster-app.ts", import.meta.url));
const NATS_ECHO = fileURLToPath(new URL("./lib/fixtures/nats-echo.mjs", import.meta.url));
const ECHO_SUBJECT = "bench.echo";

interface Measured {
  p50Ms: number;
  p99Ms: number;
  perSecond: number;
}

/** `concurrency` closed loops of `call` for `seconds`. */
async function measure(call: () => Promise<unknown>, concurrency: number, seconds: number): Promise<Measured> {
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const start = performance.now();
        await call();
        latencies.push(performance.now() - start);
      }
    }),
  );
  const s = summarize(latencies);
  return { p50Ms: s.p50, p99Ms: s.p99, perSecond: latencies.length / ((performance.now() - t0) / 1000) };
}

/**
 * A bare NATS round trip as the runtime's call client makes one: publish with a reply subject
 * under one wildcard inbox subscription, to a responder in another process.
 */
async function rawRoundTrip(nc: NatsConnection): Promise<() => Promise<void>> {
  const inbox = createInbox();
  const waiting = new Map<string, () => void>();
  nc.subscribe(`${inbox}.>`, { callback: (_err, msg) => waiting.get(msg.subject)?.() });
  await nc.flush();
  const body = new Uint8Array(64);
  let next = 0;
  return () =>
    new Promise<void>((resolve) => {
      const reply = `${inbox}.${++next}`;
      waiting.set(reply, () => {
        waiting.delete(reply);
        resolve();
      });
      nc.publish(ECHO_SUBJECT, body, { reply });
    });
}

async function startNode(servers: string, nodeId: string): Promise<Runtime> {
  return Runtime.start({
    numCpus: 2,
    http: { host: "127.0.0.1", port: 0 },
    cluster: { servers: [servers], name: "bench", nodeId, labels: { name: nodeId } },
  });
}

async function main(): Promise<void> {
  const nats = await startNatsServer();
  const a = await startNode(nats.url, "a");
  const b = await startNodeProcess(nats.url, "b", ["--num-cpus", "2", "--cluster-name", "bench"]);
  const echo = spawn(process.execPath, [NATS_ECHO, nats.url, ECHO_SUBJECT], { stdio: ["ignore", "pipe", "inherit"] });
  const rows: BenchRow[] = [];
  const details: Record<string, unknown> = {};
  let nc: NatsConnection | undefined;
  try {
    await once(echo.stdout, "data");
    nc = await connect({ servers: nats.url });
    const raw = await rawRoundTrip(nc);
    const { app } = await loadApplication(`${APP_MODULE}:app`, { cwd: process.cwd(), where: "cluster-calls bench" });
    for (const [name, node] of [
      ["near", "a"],
      ["far", "b"],
    ] as const) {
      await a.cluster!.deploy(app, { name, routePrefix: `/${name}`, importPath: `${APP_MODULE}:app`, nodeSelector: { name: node } });
    }
    // Node a serves both: "near" from its own replica, "far" through node b's.
    for (const name of ["near", "far"]) {
      for (let i = 0; ; i++) {
        try {
          await a.getAppHandle<{ noop(): void }>(name).options({ timeoutMs: 2_000 }).noop.remote();
          break;
        } catch (err) {
          if (i > 300) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
    const near = a.getAppHandle<{ noop(): void }>("near");
    const far = a.getAppHandle<{ noop(): void }>("far");
    for (const concurrency of [1, 16]) {
      await measure(() => near.noop.remote(), concurrency, WARMUP_SECONDS);
      await measure(() => far.noop.remote(), concurrency, WARMUP_SECONDS);
      const local = await measure(() => near.noop.remote(), concurrency, SECONDS);
      const remote = await measure(() => far.noop.remote(), concurrency, SECONDS);
      rows.push(row(`handle call p50, c=${concurrency}, other node`, remote.p50Ms, "ms", { baseline: local.p50Ms }));
      rows.push(row(`handle calls/s, c=${concurrency}, other node`, remote.perSecond, "calls/s", { baseline: local.perSecond }));
      await measure(raw, concurrency, WARMUP_SECONDS);
      const floor = await measure(raw, concurrency, SECONDS);
      details[`handle c=${concurrency}`] = { local, remote, natsRoundTrip: floor };
      rows.push(
        row(`bare NATS publish/reply p50, c=${concurrency}, other process`, floor.p50Ms, "ms", {
          baseline: local.p50Ms,
          note: `no stingray code: of the ${(remote.p50Ms - local.p50Ms).toFixed(2)} ms a hop adds, NATS itself costs this`,
        }),
      );
      console.log(`handle c=${concurrency}: local p50 ${local.p50Ms.toFixed(3)} ms p99 ${local.p99Ms.toFixed(3)} ms ${local.perSecond.toFixed(0)}/s; other node p50 ${remote.p50Ms.toFixed(3)} ms p99 ${remote.p99Ms.toFixed(3)} ms ${remote.perSecond.toFixed(0)}/s; bare NATS p50 ${floor.p50Ms.toFixed(3)} ms`);
    }
    for (const era of ["legacy", "modern"] as McpEra[]) {
      const req = toolCallRequest("echo", { text: "hi" }, { era });
      const run = (name: string, durationS: number) => closedLoop({ url: `${a.address}/${name}/mcp`, ...req, connections: 8, durationS });
      await run("near", WARMUP_SECONDS);
      await run("far", WARMUP_SECONDS);
      const local = await run("near", SECONDS);
      const remote = await run("far", SECONDS);
      details[`mcp ${era}`] = { local: local.ok, remote: remote.ok, localStatus: local.statusCounts, remoteStatus: remote.statusCounts };
      rows.push(row(`MCP tools/call (${era === "legacy" ? "2025" : "2026"} era) p50, ingress on other node`, remote.ok.p50, "ms", { baseline: local.ok.p50 }));
      rows.push(row(`MCP tools/call/s (${era === "legacy" ? "2025" : "2026"} era), ingress on other node`, remote.okPerSecond, "req/s", { baseline: local.okPerSecond }));
      console.log(`MCP ${era}: local p50 ${local.ok.p50.toFixed(2)} ms ${local.okPerSecond.toFixed(0)}/s; other node p50 ${remote.ok.p50.toFixed(2)} ms ${remote.okPerSecond.toFixed(0)}/s`);
    }
  } finally {
    echo.kill("SIGTERM");
    await nc?.close();
    await Promise.all([a.shutdown(), b.cli.stop("SIGTERM", 20_000)]);
    await nats.stop();
  }
  emitResult({ benchmark: "cluster-calls", rows, details, ...(QUICK ? { quick: true } : {}) });
}

await main();
