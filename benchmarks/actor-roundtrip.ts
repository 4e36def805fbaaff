// Measures a no-op replica method call through PiscinaReplicaActor against a raw worker_threads
// postMessage round trip (same message shape: id, method, args → id, value) in the same run, at
// concurrency 1 and 16, and prints the ratios.
//
//   npx tsx benchmarks/actor-roundtrip.ts            (≈ 15 s)
//   BENCH_SECONDS=5 npx tsx benchmarks/actor-roundtrip.ts   BENCH_QUICK=1 for a smoke run
//
// Goal: actor p50 within 2x of raw; actor calls/s at concurrency 16 at least half of raw.
// The last stdout line is the JSON result ({ benchmark, rows: [{ metric, value, unit, baseline,
// ratio }], details }) that benchmarks/run-all reads; the baseline of every row is the raw run.

import { fileURLToPath } from "node:url";
import { MessageChannel, Worker } from "node:worker_threads";
import { PiscinaReplicaActor } from "../src/runtime/replica-actor.ts";
import { replicaId } from "../src/runtime/ids.ts";
import { emitResult, type BenchResult } from "./lib/report.ts";

const QUICK = process.env.BENCH_QUICK === "1" || process.env.BENCH_QUICK === "true";
const SECONDS = Number(process.env.BENCH_SECONDS ?? (QUICK ? 0.3 : 2.5));
const WARMUP_SECONDS = Math.min(1, SECONDS / 2);

type Call = () => Promise<unknown>;

interface Result {
  p50Us: number;
  p99Us: number;
  callsPerSec: number;
}

/** Runs `concurrency` closed loops of `call` for `seconds`, recording every round trip. */
async function measure(call: Call, concurrency: number, seconds: number): Promise<Result> {
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  let count = 0;
  async function loop(): Promise<void> {
    while (performance.now() < end) {
      const start = performance.now();
      await call();
      latencies.push(performance.now() - start);
      count++;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, loop));
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]! * 1000;
  return { p50Us: at(0.5), p99Us: at(0.99), callsPerSec: count / elapsed };
}

/**
 * A minimal hand-written RPC over a bare Worker: the floor any thread runtime is measured against.
 * `parentPort` uses the worker's built-in channel; `channel` a MessagePort handed over at start,
 * which is what the actor uses. The faster of the two is the baseline.
 */
function rawWorker(kind: "parentPort" | "channel"): { call: Call; close: () => Promise<number> } {
  const worker = new Worker(
    `const { parentPort } = require("node:worker_threads");
     const target = { noop() {} };
     const serve = (port) => port.on("message", (m) => port.postMessage({ type: "result", id: m.id, value: target[m.method](...m.args) }));
     parentPort.once("message", (m) => (m.port ? serve(m.port) : (serve(parentPort), parentPort.emit("message", m))));`,
    { eval: true },
  );
  const pending = new Map<number, (v: unknown) => void>();
  let nextId = 1;
  const onReply = (m: { id: number; value: unknown }) => {
    const resolve = pending.get(m.id)!;
    pending.delete(m.id);
    resolve(m.value);
  };
  let send: (m: unknown) => void;
  if (kind === "channel") {
    const { port1, port2 } = new MessageChannel();
    worker.postMessage({ port: port2 }, [port2]);
    port1.on("message", onReply);
    send = (m) => port1.postMessage(m);
  } else {
    worker.on("message", onReply);
    send = (m) => worker.postMessage(m);
  }
  return {
    call: () =>
      new Promise((resolve) => {
        const id = nextId++;
        pending.set(id, resolve);
        send({ type: "call", id, method: "noop", args: [], stream: false });
      }),
    close: () => worker.terminate(),
  };
}

function best(a: Result, b: Result): Result {
  return { p50Us: Math.min(a.p50Us, b.p50Us), p99Us: Math.min(a.p99Us, b.p99Us), callsPerSec: Math.max(a.callsPerSec, b.callsPerSec) };
}

async function main(): Promise<void> {
  const rawParent = rawWorker("parentPort");
  const rawChannel = rawWorker("channel");
  const actor = new PiscinaReplicaActor({
    replicaId: replicaId("bench-1"),
    appName: "bench",
    deploymentName: "Noop",
    modulePath: fileURLToPath(new URL("../test/fixtures/actors/noop.js", import.meta.url)),
    exportName: "Noop",
    initArgs: [],
    maxOngoingRequests: 64,
    gpuIds: [],
    resources: {},
  });
  const startT0 = performance.now();
  await actor.start();
  const startMs = performance.now() - startT0;
  const actorCall: Call = () => actor.call("noop", []);

  const rows: Array<{ name: string; concurrency: number; raw: Result; actor: Result; rawParent: Result; rawChannel: Result }> = [];
  try {
    for (const concurrency of [1, 16]) {
      // Interleave warm-ups and runs so neither side gets a systematically quieter machine.
      await measure(rawParent.call, concurrency, WARMUP_SECONDS);
      await measure(rawChannel.call, concurrency, WARMUP_SECONDS);
      await measure(actorCall, concurrency, WARMUP_SECONDS);
      const parentResult = await measure(rawParent.call, concurrency, SECONDS);
      const channelResult = await measure(rawChannel.call, concurrency, SECONDS);
      const actorResult = await measure(actorCall, concurrency, SECONDS);
      rows.push({
        name: `c=${concurrency}`,
        concurrency,
        raw: best(parentResult, channelResult),
        actor: actorResult,
        rawParent: parentResult,
        rawChannel: channelResult,
      });
    }
  } finally {
    await actor.stop({ gracefulTimeoutMs: 1000 });
    await rawParent.close();
    await rawChannel.close();
  }

  const cell = (v: string, w: number) => v.padStart(w);
  const cols: Array<[string, number]> = [["", 6], ["raw p50 µs", 11], ["actor p50 µs", 13], ["p50 x", 7], ["raw calls/s", 12], ["actor calls/s", 14], ["calls/s x", 10]];
  console.log(`actor start: ${startMs.toFixed(0)} ms (worker + tsx + module import); raw = best of parentPort and MessageChannel`);
  console.log(cols.map(([h, w]) => cell(h, w)).join(" |"));
  for (const r of rows) {
    const values = [
      r.name,
      r.raw.p50Us.toFixed(1),
      r.actor.p50Us.toFixed(1),
      (r.actor.p50Us / r.raw.p50Us).toFixed(2),
      r.raw.callsPerSec.toFixed(0),
      r.actor.callsPerSec.toFixed(0),
      (r.actor.callsPerSec / r.raw.callsPerSec).toFixed(2),
    ];
    console.log(values.map((v, i) => cell(v, cols[i]![1])).join(" |"));
  }
  const c1 = rows.find((r) => r.concurrency === 1)!;
  const c16 = rows.find((r) => r.concurrency === 16)!;
  const metric = (name: string, unit: string, value: number, baseline: number) => ({
    metric: name,
    value: round(value),
    unit,
    baseline: round(baseline),
    ratio: round(value / baseline),
  });
  const result: BenchResult = {
    benchmark: "actor-roundtrip",
    rows: [
      metric("p50 round trip, concurrency 1", "µs", c1.actor.p50Us, c1.raw.p50Us),
      metric("calls/s, concurrency 1", "calls/s", c1.actor.callsPerSec, c1.raw.callsPerSec),
      metric("p50 round trip, concurrency 16", "µs", c16.actor.p50Us, c16.raw.p50Us),
      metric("calls/s, concurrency 16", "calls/s", c16.actor.callsPerSec, c16.raw.callsPerSec),
    ],
    details: {
      seconds: SECONDS,
      actorStartMs: Math.round(startMs),
      rawParentPort: { c1: summarize(c1.rawParent), c16: summarize(c16.rawParent) },
      rawMessageChannel: { c1: summarize(c1.rawChannel), c16: summarize(c16.rawChannel) },
      p99Us: { c1: { raw: round(c1.raw.p99Us), actor: round(c1.actor.p99Us) }, c16: { raw: round(c16.raw.p99Us), actor: round(c16.actor.p99Us) } },
      goals: {
        p50Within2xOfRaw: c1.actor.p50Us / c1.raw.p50Us <= 2,
        throughputC16AtLeastHalfOfRaw: c16.actor.callsPerSec / c16.raw.callsPerSec >= 0.5,
      },
    },
    ...(QUICK ? { quick: true } : {}),
  };
  await emitResult(result);
}

function summarize(r: Result): Record<string, number> {
  return { p50Us: round(r.p50Us), p99Us: round(r.p99Us), callsPerSec: Math.round(r.callsPerSec) };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

await main();
