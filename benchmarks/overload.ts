// Overload: a deployment with a known capacity (one replica, a `sleep` tool of SLEEP_MS,
// maxOngoingRequests K, maxQueuedRequests Q → at most K running and Q waiting) is offered load
// open-loop at 1× and then 2× its measured capacity. A bounded runtime answers the excess with
// 503 + Retry-After straight away, keeps admitted requests' latency near (1 + Q/K) × SLEEP_MS,
// and its memory flat. Capacity is measured first with autocannon: K + Q/2 connections keep the
// replica's K slots always busy (a queue behind them) without reaching the 503 limit. The
// offered loads use a paced open-loop generator (benchmarks/lib/open-loop.ts) because a closed
// loop cannot offer more than the server accepts. The tool sleeps 50 ms so that 2× capacity
// stays far below what the proxy's CPU can do on 2 cores: the queue bound is what is measured,
// not CPU saturation.
//
//   npx tsx benchmarks/overload.ts          BENCH_QUICK=1 for a short run

import { closedLoop } from "./lib/load.ts";
import { toolCallRequest, waitForToolAnswer } from "./lib/mcp.ts";
import { openLoop, type OpenLoopResult } from "./lib/open-loop.ts";
import { freePort, rssMiB, sleep, spawnServer, tsxCommand } from "./lib/process.ts";
import { emitResultAndExit, isQuick, row, type BenchRow } from "./lib/report.ts";
import { percentile } from "./lib/stats.ts";

const QUICK = isQuick();
const SLEEP_MS = 50;
const MAX_ONGOING = 4;
const MAX_QUEUED = 8;
const PHASE_S = Number(process.env.BENCH_OVERLOAD_SECONDS ?? (QUICK ? 1.5 : 4));
const CAPACITY_S = QUICK ? 1.5 : 3;

interface Phase {
  load: OpenLoopResult;
  rssStart: number | null;
  rssPeak: number | null;
  rssEnd: number | null;
}

/** Runs `run` while sampling the server's RSS every 100 ms. */
async function withRss(pid: number, run: () => Promise<OpenLoopResult>): Promise<Phase> {
  const rssStart = await rssMiB(pid);
  let rssPeak = rssStart;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const v = await rssMiB(pid);
      if (v !== null && (rssPeak === null || v > rssPeak)) rssPeak = v;
      await sleep(100);
    }
  })();
  const load = await run();
  sampling = false;
  await sampler;
  return { load, rssStart, rssPeak, rssEnd: await rssMiB(pid) };
}

function share(load: OpenLoopResult, status: string): number {
  const total = Object.values(load.statusCounts).reduce((a, b) => a + b, 0) + load.errors;
  return total === 0 ? Number.NaN : (load.statusCounts[status] ?? 0) / total;
}

/** p99 of admitted requests scheduled in the first and in the second half of a phase. */
function p99ByHalf(load: OpenLoopResult): { first: number; second: number } {
  const half = (load.durationS * 1000) / 2;
  const ok = load.samples.filter((s) => s.status === 200);
  return {
    first: percentile(ok.filter((s) => s.atMs < half).map((s) => s.latencyMs), 99),
    second: percentile(ok.filter((s) => s.atMs >= half).map((s) => s.latencyMs), 99),
  };
}

function describe(name: string, p: Phase): string {
  const ok = p.load.latencyByStatus["200"];
  return (
    `${name}: offered ${p.load.offeredPerS.toFixed(0)}/s, statuses ${JSON.stringify(p.load.statusCounts)}, errors ${p.load.errors}, ` +
    `200 p50 ${ok?.p50.toFixed(1)} ms p99 ${ok?.p99.toFixed(1)} ms, RSS ${p.rssStart?.toFixed(1)} → peak ${p.rssPeak?.toFixed(1)} → ${p.rssEnd?.toFixed(1)} MiB`
  );
}

async function main(): Promise<void> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/mcp`;
  const cmd = tsxCommand("benchmarks/lib/fixtures/bench-app.ts");
  const server = spawnServer(cmd.file, cmd.args, {
    ...process.env,
    PORT: String(port),
    BENCH_REPLICAS: "1",
    BENCH_MAX_ONGOING: String(MAX_ONGOING),
    BENCH_MAX_QUEUED: String(MAX_QUEUED),
  });
  try {
    await waitForToolAnswer(
      "bench app answering the sleep tool",
      url,
      { tool: "sleep", args: { ms: SLEEP_MS }, accept: (text) => text === `slept ${SLEEP_MS}` },
      { timeoutMs: 30_000, intervalMs: 50, abortIf: () => (server.exited() ? `exited early:\n${server.output()}` : undefined) },
    );
    const req = toolCallRequest("sleep", { ms: SLEEP_MS });

    const capConnections = MAX_ONGOING + Math.floor(MAX_QUEUED / 2);
    await closedLoop({ url, ...req, connections: capConnections, durationS: 0.5 }); // warm-up
    const cap = await closedLoop({ url, ...req, connections: capConnections, durationS: CAPACITY_S });
    const capacity = cap.okPerSecond;
    const theoretical = (MAX_ONGOING * 1000) / SLEEP_MS;
    console.log(`capacity: ${capacity.toFixed(0)} req/s measured (${theoretical} theoretical), statuses ${JSON.stringify(cap.statusCounts)}`);

    const offer = (rate: number) => () =>
      openLoop({ url, ...req, ratePerS: rate, durationS: PHASE_S, maxInFlight: 1024, watchHeaders: ["retry-after"] });
    const one = await withRss(server.pid, offer(capacity));
    console.log(describe("1×", one));
    await sleep(500);
    const two = await withRss(server.pid, offer(2 * capacity));
    console.log(describe("2×", two));

    const ok1 = one.load.latencyByStatus["200"];
    const ok2 = two.load.latencyByStatus["200"];
    const rejected = two.load.statusCounts["503"] ?? 0;
    const withRetryAfter = two.load.headerCounts["503"]?.["retry-after"] ?? 0;
    const other = Object.entries(two.load.statusCounts)
      .filter(([code]) => code !== "200" && code !== "503")
      .reduce((a, [, n]) => a + n, 0) + two.load.errors + two.load.dropped;
    const halves = p99ByHalf(two.load);
    const bound = (1 + Math.ceil(MAX_QUEUED / MAX_ONGOING)) * SLEEP_MS;
    const rows: BenchRow[] = [
      row("capacity", capacity, "req/s", { baseline: theoretical, note: `1 replica, K=${MAX_ONGOING}, Q=${MAX_QUEUED}, ${SLEEP_MS} ms tool, ${capConnections} connections; baseline: K / service time` }),
      row("503 share at 2×", share(two.load, "503"), "fraction", { note: "ideal ≈ 0.5" }),
      row("503 share at 1×", share(one.load, "503"), "fraction"),
      row("503s with Retry-After", rejected === 0 ? null : withRetryAfter / rejected, "fraction", { note: `${withRetryAfter}/${rejected}; Retry-After: ${two.load.headerSamples["retry-after"] ?? "none"}` }),
      row("goodput at 2×", (two.load.statusCounts["200"] ?? 0) / two.load.durationS, "req/s", { baseline: capacity, note: "admitted 200s per second vs capacity" }),
      row("admitted p50 at 2×", ok2?.p50 ?? null, "ms", { baseline: ok1?.p50 ?? null, note: "baseline: p50 at 1×" }),
      row("admitted p99 at 2×", ok2?.p99 ?? null, "ms", { baseline: ok1?.p99 ?? null, note: `baseline: p99 at 1×; queue bound (1+Q/K)×${SLEEP_MS} = ${bound} ms` }),
      row("admitted p99 at 2×, 2nd half", halves.second, "ms", { baseline: halves.first, note: "baseline: 1st half; ≈1× when the queue is bounded, grows with time when not" }),
      row("503 p50 at 2×", two.load.latencyByStatus["503"]?.p50 ?? null, "ms", { note: `time to a rejection; p99 ${two.load.latencyByStatus["503"]?.p99.toFixed(1) ?? "?"} ms` }),
      row("client send lag p99 at 2×", two.load.sendLag.p99, "ms", { note: "part of every latency here: the load generator's own delay on a busy machine" }),
      row("RSS growth during 2×", two.rssPeak !== null && two.rssStart !== null ? two.rssPeak - two.rssStart : null, "MiB", {
        note: `peak − start; at 1×: ${one.rssPeak !== null && one.rssStart !== null ? (one.rssPeak - one.rssStart).toFixed(1) : "?"} MiB`,
      }),
      row("other outcomes at 2×", other, "requests", { note: "non-200/503 statuses, errors, client drops; should be 0" }),
    ];
    await server.stop();
    await emitResultAndExit({
      benchmark: "overload",
      rows,
      quick: QUICK,
      details: {
        sleepMs: SLEEP_MS,
        maxOngoingRequests: MAX_ONGOING,
        maxQueuedRequests: MAX_QUEUED,
        phaseS: PHASE_S,
        capacity: cap,
        // Per-request samples are long; the summaries are enough to compare runs.
        oneX: { ...one, load: { ...one.load, samples: undefined } },
        twoX: { ...two, load: { ...two.load, samples: undefined } },
      },
    });
  } catch (err) {
    await server.stop();
    throw err;
  }
}

await main();
