// Closed-loop HTTP load with autocannon: `connections` clients each keep one request in flight
// for `durationS`. Latencies are recorded per status code from autocannon's response events, so
// a benchmark can report admitted (200) and rejected (503) requests separately; autocannon's own
// histogram mixes them.

import autocannon from "autocannon";
import { summarize, type LatencySummary } from "./stats.ts";

export interface ClosedLoopOptions {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  connections: number;
  durationS: number;
  /** Per-request timeout in seconds (autocannon's default is 10). */
  timeoutS?: number;
}

export interface LoadSummary {
  durationS: number;
  /** Responses received, any status. */
  responses: number;
  /** Completed 2xx responses per second. */
  okPerSecond: number;
  statusCounts: Record<string, number>;
  /** Connection errors and timeouts. */
  errors: number;
  timeouts: number;
  /** Latency of 2xx responses, ms. */
  ok: LatencySummary;
  /** Latency of every response, ms. */
  all: LatencySummary;
}

export async function closedLoop(options: ClosedLoopOptions): Promise<LoadSummary> {
  if (!Number.isInteger(options.connections) || options.connections < 1) {
    throw new RangeError(`closedLoop: connections must be a positive integer, got ${options.connections}`);
  }
  if (!(options.durationS > 0)) throw new RangeError(`closedLoop: durationS must be > 0, got ${options.durationS}`);
  const okLatencies: number[] = [];
  const allLatencies: number[] = [];
  const statusCounts: Record<string, number> = {};
  const instance = autocannon({
    url: options.url,
    method: options.method ?? "POST",
    headers: options.headers,
    body: options.body,
    connections: options.connections,
    duration: options.durationS,
    timeout: options.timeoutS ?? 10,
  });
  instance.on("response", (_client: unknown, statusCode: number, _bytes: number, responseTimeMs: number) => {
    allLatencies.push(responseTimeMs);
    if (statusCode >= 200 && statusCode < 300) okLatencies.push(responseTimeMs);
    statusCounts[statusCode] = (statusCounts[statusCode] ?? 0) + 1;
  });
  const result = await instance;
  const durationS = result.duration > 0 ? result.duration : options.durationS;
  return {
    durationS,
    responses: allLatencies.length,
    okPerSecond: okLatencies.length / durationS,
    statusCounts,
    errors: result.errors,
    timeouts: result.timeouts,
    ok: summarize(okLatencies),
    all: summarize(allLatencies),
  };
}
