// Measures a no-op replica method call through PiscinaReplicaActor against a raw worker_threads
// postMessage round trip (same message shape: id, method, args → id, value) in the same run, at
// concurrency 1 and 16, and prints the ratios.
//
//   npx tsx benchmarks/actor-roundtrip.ts            (≈ 15 s)
//   BENCH_SECONDS=5 npx tsx benchmarks/actor-roundtrip.ts
//
// Goal: actor p50 within 2x of raw; actor calls/s at concurrency 16 at least half of raw.

import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { PiscinaReplicaActor } from "../src/runtime/replica-actor.ts";
import { replicaId } from "../src/runtime/ids.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2.5);
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

/** A minimal hand-written RPC over a bare Worker: the floor any thread runtime is measured against. */
function rawWorker(): { call: Call; close: () => Promise<number> } {
  const worker = new Worker(
    `const { parentPort } = require("node:worker_threads");
     const target = { noop() {} };
     parentPort.on("message", (m) => parentPort.postMessage({ type: "result", id: m.id, value: target[m.method](...m.args) }));`,
    { eval: true },
  );
  const pending = new Map<number, (v: unknown) => void>();
  let nextId = 1;
  worker.on("message", (m: { id: number; value: unknown }) => {
    const resolve = pending.get(m.id)!;
    pending.delete(m.id);
    resolve(m.value);
  });
  return {
    call: () =>
      new Promise((resolve) => {
        const id = nextId++;
        pending.set(id, resolve);
        worker.postMessage({ type: "call", id, method: "noop", args: [], stream: false });
      }),
    close: () => worker.terminate(),
  };
}

async function main(): Promise<void> {
  const raw = rawWorker();
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

  const rows: Array<{ name: string; concurrency: number; raw: Result; actor: Result }> = [];
  try {
    for (const concurrency of [1, 16]) {
      // Interleave warm-ups and runs so neither side gets a systematically quieter machine.
      await measure(raw.call, concurrency, WARMUP_SECONDS);
      await measure(actorCall, concurrency, WARMUP_SECONDS);
      const rawResult = await measure(raw.call, concurrency, SECONDS);
      const actorResult = await measure(actorCall, concurrency, SECONDS);
      rows.push({ name: `c=${concurrency}`, concurrency, raw: rawResult, actor: actorResult });
    }
  } finally {
    await actor.stop({ gracefulTimeoutMs: 1000 });
    await raw.close();
  }

  const fmt = (n: number, digits = 1) => n.toFixed(digits).padStart(10);
  console.log(`actor start: ${startMs.toFixed(0)} ms (worker + tsx + module import)`);
  console.log("             |    raw p50 |  actor p50 |   p50 x | raw calls/s | actor calls/s | thrpt x");
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(12)} | ${fmt(r.raw.p50Us)}µs | ${fmt(r.actor.p50Us)}µs | ${fmt(r.actor.p50Us / r.raw.p50Us, 2)} | ${fmt(r.raw.callsPerSec, 0)}  | ${fmt(r.actor.callsPerSec, 0)}    | ${fmt(r.actor.callsPerSec / r.raw.callsPerSec, 2)}`,
    );
  }
  const c1 = rows.find((r) => r.concurrency === 1)!;
  const c16 = rows.find((r) => r.concurrency === 16)!;
  const summary = {
    benchmark: "actor-roundtrip",
    seconds: SECONDS,
    startMs: Math.round(startMs),
    c1: { rawP50Us: round(c1.raw.p50Us), actorP50Us: round(c1.actor.p50Us), rawCallsPerSec: Math.round(c1.raw.callsPerSec), actorCallsPerSec: Math.round(c1.actor.callsPerSec) },
    c16: { rawP50Us: round(c16.raw.p50Us), actorP50Us: round(c16.actor.p50Us), rawCallsPerSec: Math.round(c16.raw.callsPerSec), actorCallsPerSec: Math.round(c16.actor.callsPerSec) },
    p50RatioC1: round(c1.actor.p50Us / c1.raw.p50Us),
    p50RatioC16: round(c16.actor.p50Us / c16.raw.p50Us),
    throughputRatioC1: round(c1.actor.callsPerSec / c1.raw.callsPerSec),
    throughputRatioC16: round(c16.actor.callsPerSec / c16.raw.callsPerSec),
  };
  const goals = { p50Within2x: summary.p50RatioC1 <= 2, throughputC16AtLeastHalf: summary.throughputRatioC16 >= 0.5 };
  console.log(JSON.stringify({ ...summary, goals }));
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

await main();
