// Open-loop HTTP load: requests are sent on a fixed schedule (`ratePerS`) whether or not earlier
// ones have answered, the way independent users arrive. This is what "offered load" means; a
// closed-loop tool (autocannon with N connections) slows its own sending down when the server
// does, and its rate limiter sends each second's quota in one burst, which would make a bounded
// queue overflow at any load. Latency is measured from the scheduled send time, so a stalled
// client loop cannot hide server delay (no coordinated omission). Response headers are kept per
// status so a benchmark can check that every 503 carries Retry-After.

import http from "node:http";
import { summarize, type LatencySummary } from "./stats.ts";

export interface OpenLoopOptions {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  ratePerS: number;
  durationS: number;
  /** Requests allowed in flight at once; past it a scheduled request is counted as `dropped`. */
  maxInFlight?: number;
  timeoutMs?: number;
  /** Response header names to count per status code (lower case). */
  watchHeaders?: string[];
}

export interface OpenLoopResult {
  offeredPerS: number;
  sent: number;
  /** Scheduled but not sent because `maxInFlight` requests were already outstanding. */
  dropped: number;
  durationS: number;
  statusCounts: Record<string, number>;
  /** For each status code, how many responses carried each watched header. */
  headerCounts: Record<string, Record<string, number>>;
  /** A value seen for each watched header (the last one). */
  headerSamples: Record<string, string>;
  errors: number;
  /** Peak requests in flight at the client. */
  peakInFlight: number;
  latencyByStatus: Record<string, LatencySummary>;
  /**
   * How late requests left this process against their schedule (a busy client event loop). It is
   * part of every latency above, so a large lag means the machine, not the server, set the tail.
   */
  sendLag: LatencySummary;
  /** Every answered request: when it was scheduled (ms after the start), its latency and status. */
  samples: OpenLoopSample[];
}

export interface OpenLoopSample {
  atMs: number;
  latencyMs: number;
  status: number;
}

export async function openLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  if (!(options.ratePerS > 0)) throw new RangeError(`openLoop: ratePerS must be > 0, got ${options.ratePerS}`);
  if (!(options.durationS > 0)) throw new RangeError(`openLoop: durationS must be > 0, got ${options.durationS}`);
  const maxInFlight = options.maxInFlight ?? 512;
  const watch = (options.watchHeaders ?? []).map((h) => h.toLowerCase());
  const url = new URL(options.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: maxInFlight });
  const body = options.body === undefined ? undefined : Buffer.from(options.body);
  const headers: Record<string, string | number> = { ...options.headers };
  if (body) headers["content-length"] = body.length;

  const latencies: Record<string, number[]> = {};
  const statusCounts: Record<string, number> = {};
  const headerCounts: Record<string, Record<string, number>> = {};
  const headerSamples: Record<string, string> = {};
  let sent = 0;
  let dropped = 0;
  let errors = 0;
  let inFlight = 0;
  let peakInFlight = 0;
  const pending = new Set<Promise<void>>();
  const samples: OpenLoopSample[] = [];
  const lags: number[] = [];
  let start = 0;

  const fire = (scheduledAt: number) => {
    if (inFlight >= maxInFlight) {
      dropped++;
      return;
    }
    lags.push(performance.now() - scheduledAt);
    inFlight++;
    peakInFlight = Math.max(peakInFlight, inFlight);
    sent++;
    const done = new Promise<void>((resolve) => {
      const req = http.request(
        { host: url.hostname, port: url.port, path: url.pathname + url.search, method: options.method ?? "POST", headers, agent, timeout: options.timeoutMs ?? 10_000 },
        (res) => {
          const code = String(res.statusCode ?? 0);
          for (const h of watch) {
            const v = res.headers[h];
            if (v !== undefined) {
              (headerCounts[code] ??= {})[h] = (headerCounts[code]![h] ?? 0) + 1;
              headerSamples[h] = Array.isArray(v) ? v.join(", ") : v;
            }
          }
          res.resume();
          res.once("end", () => {
            const latencyMs = performance.now() - scheduledAt;
            (latencies[code] ??= []).push(latencyMs);
            samples.push({ atMs: scheduledAt - start, latencyMs, status: res.statusCode ?? 0 });
            statusCounts[code] = (statusCounts[code] ?? 0) + 1;
            resolve();
          });
          res.once("error", () => {
            errors++;
            resolve();
          });
        },
      );
      req.once("timeout", () => req.destroy(new Error("timeout")));
      req.once("error", () => {
        errors++;
        resolve();
      });
      req.end(body);
    }).finally(() => {
      inFlight--;
      pending.delete(done);
    });
    pending.add(done);
  };

  const intervalMs = 1000 / options.ratePerS;
  const total = Math.round(options.ratePerS * options.durationS);
  start = performance.now();
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      // Catch up on every request whose time has come (timers fire late under load).
      const now = performance.now();
      while (next < total && start + next * intervalMs <= now) {
        fire(start + next * intervalMs);
        next++;
      }
      if (next >= total) return resolve();
      setTimeout(tick, Math.max(0, start + next * intervalMs - performance.now()));
    };
    tick();
  });
  await Promise.all(pending);
  const durationS = (performance.now() - start) / 1000;
  agent.destroy();
  const latencyByStatus: Record<string, LatencySummary> = {};
  for (const [code, list] of Object.entries(latencies)) latencyByStatus[code] = summarize(list);
  return {
    offeredPerS: options.ratePerS,
    sent,
    dropped,
    durationS,
    statusCounts,
    headerCounts,
    headerSamples,
    errors,
    peakInFlight,
    latencyByStatus,
    sendLag: summarize(lags),
    samples,
  };
}
