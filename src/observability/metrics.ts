// Runtime metrics: one prom-client Registry per runtime (never the global default, so several
// runtimes in one process or one test file don't collide), plus the in-memory rolling window and
// recent-error buffer behind the dashboard. The proxy reports each finished request with
// `recordRequest`; the control plane either pushes gauges (`setReplicaStates`, `setOngoing`, ...)
// or hands over a status snapshot (`observeStatus`) and the gauges are derived from it.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { RingBuffer, RollingWindow, type TimeseriesPoint, type WindowSummary } from "./rolling-window.ts";
import { REPLICA_STATUSES, type StatusSnapshot } from "./status.ts";

export interface RequestEvent {
  app: string;
  deployment: string;
  /** The route prefix that matched (not the raw path: raw paths would explode cardinality). */
  route: string;
  /** HTTP status, or "ok"/"error" for handle calls. */
  status: number | string;
  latencyMs: number;
  /** JSON-RPC method for MCP traffic (e.g. "tools/call"). */
  mcpMethod?: string;
  /** Tool name for tools/call. */
  tool?: string;
  requestId?: string;
  /** What went wrong, for the recent-errors list; implies an error even with a 2xx status. */
  error?: string;
  replica?: string;
  /** Refused by the app's rate limit (429). */
  rateLimited?: boolean;
}

export interface ErrorRecord {
  /** Epoch ms. */
  time: number;
  app: string;
  deployment: string;
  route: string;
  status: string;
  mcpMethod?: string;
  tool?: string;
  requestId?: string;
  replica?: string;
  message: string;
}

export interface DeploymentLabels {
  app: string;
  deployment: string;
}

export interface ReplicaLabels extends DeploymentLabels {
  replica: string;
}

/** Legacy MCP sessions one replica holds (the proxy's session table). */
export interface ReplicaSessions extends ReplicaLabels {
  sessions: number;
}

export interface TimeseriesSnapshot {
  bucketS: number;
  /** All applications together. */
  total: TimeseriesPoint[];
  /** Per application, same bucket times as `total`. */
  apps: Record<string, TimeseriesPoint[]>;
  /** The last minute, all applications. */
  lastMinute: WindowSummary;
}

export interface RuntimeMetricsOptions {
  /** Include Node process metrics (CPU, heap, event-loop lag), prefixed `stingray_`. Default true. */
  defaultMetrics?: boolean;
  windowS?: number;
  bucketS?: number;
  /** How many recent errors the dashboard keeps. Default 50. */
  maxRecentErrors?: number;
  /** Epoch-ms clock for the rolling window; injected by tests. */
  clock?: () => number;
  /** Labels on every series, e.g. `{ node: "a" }` in cluster mode. */
  defaultLabels?: Record<string, string>;
}

// Latency buckets in seconds: MCP tool calls range from sub-ms pings to minute-long inference.
const LATENCY_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
// Label values come partly from clients (tool names): cap their length and the number of apps
// tracked in memory so a hostile client cannot grow the process without bound.
const MAX_LABEL_LENGTH = 100;
const MAX_TRACKED_APPS = 200;
// Tool names and MCP methods are whatever a client sent (an unknown tool still counts as a
// request): past this many distinct request series, new (method, tool) pairs are counted under
// OTHER_LABEL, so /metrics and the process stay bounded.
const MAX_REQUEST_SERIES = 1000;
const OTHER_LABEL = "other";

type RequestLabels = { app: string; deployment: string; route: string; mcp_method: string; tool: string };

interface RequestSeries {
  labels: RequestLabels;
  latency: { observe(value: number): void };
  byStatus: Map<string, { inc(value?: number): void }>;
}

function label(value: string | number | undefined): string {
  if (value === undefined) return "";
  const s = String(value);
  return s.length > MAX_LABEL_LENGTH ? s.slice(0, MAX_LABEL_LENGTH) : s;
}

/** A request counts as failed when it has an error message or an HTTP status of 400 or more. */
export function isErrorStatus(status: number | string): boolean {
  if (typeof status === "number") return status >= 400;
  if (status === "error") return true;
  const n = Number(status);
  return Number.isFinite(n) && n >= 400;
}

export class RuntimeMetrics {
  readonly registry: Registry;
  readonly #requests: Counter<"app" | "deployment" | "route" | "mcp_method" | "tool" | "status">;
  readonly #latency: Histogram<"app" | "deployment" | "route" | "mcp_method" | "tool">;
  readonly #ongoing: Gauge<"app" | "deployment" | "replica">;
  readonly #streams: Gauge<"app" | "deployment" | "replica">;
  readonly #queued: Gauge<"app" | "deployment">;
  readonly #replicas: Gauge<"app" | "deployment" | "state">;
  readonly #target: Gauge<"app" | "deployment">;
  readonly #restarts: Counter<"app" | "deployment">;
  readonly #rateLimited: Counter<"app" | "deployment" | "route">;
  /** Where the session gauge reads its values at scrape time (the proxy's session table). */
  #sessionSource: (() => Iterable<ReplicaSessions>) | undefined;
  readonly #unkillable: Gauge<"app" | "deployment">;
  readonly #window: RollingWindow;
  readonly #appWindows = new Map<string, RollingWindow>();
  readonly #errors: RingBuffer<ErrorRecord>;
  readonly #windowOptions: { windowS?: number; bucketS?: number; clock?: () => number };
  readonly #clock: () => number;
  /** Cached request-metric children by label set (see #requestSeries). */
  readonly #series = new Map<string, RequestSeries>();
  /** Restart totals last seen in a snapshot, so `observeStatus` adds only the difference. */
  readonly #restartsSeen = new Map<string, number>();

  constructor(options: RuntimeMetricsOptions = {}) {
    this.registry = new Registry();
    if (options.defaultLabels) this.registry.setDefaultLabels(options.defaultLabels);
    const registers = [this.registry];
    this.#requests = new Counter({
      name: "stingray_requests_total",
      help: "Requests finished, by application, deployment, route, MCP method, tool and status",
      labelNames: ["app", "deployment", "route", "mcp_method", "tool", "status"],
      registers,
    });
    this.#latency = new Histogram({
      name: "stingray_request_duration_seconds",
      help: "End-to-end request latency seen by the proxy, in seconds",
      labelNames: ["app", "deployment", "route", "mcp_method", "tool"],
      buckets: LATENCY_BUCKETS_S,
      registers,
    });
    this.#ongoing = new Gauge({
      name: "stingray_replica_ongoing_requests",
      help: "Requests in flight on each replica (long-lived streams not included)",
      labelNames: ["app", "deployment", "replica"],
      registers,
    });
    this.#streams = new Gauge({
      name: "stingray_replica_ongoing_streams",
      help: "Long-lived streams (subscriptions/listen, legacy GET SSE) open on each replica",
      labelNames: ["app", "deployment", "replica"],
      registers,
    });
    this.#queued = new Gauge({
      name: "stingray_deployment_queued_requests",
      help: "Requests waiting in the router for a replica with free capacity",
      labelNames: ["app", "deployment"],
      registers,
    });
    this.#replicas = new Gauge({
      name: "stingray_replicas",
      help: "Replicas by lifecycle state",
      labelNames: ["app", "deployment", "state"],
      registers,
    });
    this.#target = new Gauge({
      name: "stingray_autoscaling_target_replicas",
      help: "Replicas the controller is aiming for (autoscaling decision or numReplicas)",
      labelNames: ["app", "deployment"],
      registers,
    });
    this.#restarts = new Counter({
      name: "stingray_replica_restarts_total",
      help: "Replicas replaced after a crash, a failed start or failed health checks",
      labelNames: ["app", "deployment"],
      registers,
    });
    this.#rateLimited = new Counter({
      name: "stingray_rate_limited_total",
      help: "Requests refused with 429 by an application's rate limit, by application, deployment and route",
      labelNames: ["app", "deployment", "route"],
      registers,
    });
    this.#unkillable = new Gauge({
      name: "stingray_unkillable_threads",
      help: "Replica threads told to end that have not exited (blocked in native code); restart the process",
      labelNames: ["app", "deployment"],
      registers,
    });
    const metrics = this;
    new Gauge({
      name: "stingray_replica_sessions",
      help: "Legacy MCP sessions each replica holds (bounded by the app's sessions.maxSessions)",
      labelNames: ["app", "deployment", "replica"],
      registers,
      // Read when scraped: the count changes with every initialize, DELETE and eviction.
      collect() {
        this.reset();
        for (const r of metrics.#sessionSource?.() ?? []) {
          this.set({ app: label(r.app), deployment: label(r.deployment), replica: label(r.replica) }, r.sessions);
        }
      },
    });
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: "stingray_" });
    this.#clock = options.clock ?? Date.now;
    this.#windowOptions = { windowS: options.windowS, bucketS: options.bucketS, clock: this.#clock };
    this.#window = new RollingWindow(this.#windowOptions);
    this.#errors = new RingBuffer(options.maxRecentErrors ?? 50);
  }

  recordRequest(event: RequestEvent): void {
    const base = { app: label(event.app), deployment: label(event.deployment), route: label(event.route) };
    const latencyMs = Number.isFinite(event.latencyMs) && event.latencyMs >= 0 ? event.latencyMs : 0;
    const series = this.#requestSeries(base, label(event.mcpMethod), label(event.tool));
    const status = label(event.status);
    let counter = series.byStatus.get(status);
    if (!counter) {
      counter = this.#requests.labels({ ...series.labels, status });
      series.byStatus.set(status, counter);
    }
    counter.inc();
    if (event.rateLimited) this.#rateLimited.inc(base);
    series.latency.observe(latencyMs / 1000);
    const failed = event.error !== undefined || isErrorStatus(event.status);
    this.#window.record(latencyMs, failed);
    this.#appWindow(base.app)?.record(latencyMs, failed);
    if (failed) {
      this.#errors.push({
        time: this.#clock(),
        ...base,
        status: String(event.status),
        mcpMethod: event.mcpMethod,
        tool: event.tool,
        requestId: event.requestId,
        replica: event.replica,
        message: event.error ?? `HTTP ${event.status}`,
      });
    }
  }

  /**
   * The prom-client children of one (app, deployment, route, method, tool) series, cached: a
   * labelled observe() validates and hashes its labels on every call, the child does it once
   * (per-request cost on the proxy thread).
   */
  #requestSeries(base: { app: string; deployment: string; route: string }, mcpMethod: string, tool: string): RequestSeries {
    const key = `${base.app}\u0000${base.deployment}\u0000${base.route}\u0000${mcpMethod}\u0000${tool}`;
    const found = this.#series.get(key);
    if (found) return found;
    if (this.#series.size >= MAX_REQUEST_SERIES) {
      if (mcpMethod === OTHER_LABEL && tool === OTHER_LABEL) {
        // Even the fallback series is new here: create it without caching (rare: a flood of apps).
        return this.#newSeries({ ...base, mcp_method: OTHER_LABEL, tool: OTHER_LABEL });
      }
      return this.#requestSeries(base, OTHER_LABEL, OTHER_LABEL);
    }
    const series = this.#newSeries({ ...base, mcp_method: mcpMethod, tool });
    this.#series.set(key, series);
    return series;
  }

  #newSeries(labels: RequestSeries["labels"]): RequestSeries {
    return { labels, latency: this.#latency.labels(labels), byStatus: new Map() };
  }

  /** Sets the replica-count gauge for every known state (states not given are set to zero). */
  setReplicaStates(labels: DeploymentLabels, counts: Record<string, number>): void {
    const states = new Set<string>([...REPLICA_STATUSES, ...Object.keys(counts)]);
    for (const state of states) {
      this.#replicas.set({ app: labels.app, deployment: labels.deployment, state }, counts[state] ?? 0);
    }
  }

  setOngoing(labels: ReplicaLabels, n: number): void {
    this.#ongoing.set({ app: labels.app, deployment: labels.deployment, replica: labels.replica }, n);
  }

  /** Drops a stopped replica's series so dead replicas don't linger in /metrics. */
  removeReplica(labels: ReplicaLabels): void {
    this.#ongoing.remove({ app: labels.app, deployment: labels.deployment, replica: labels.replica });
    this.#streams.remove({ app: labels.app, deployment: labels.deployment, replica: labels.replica });
  }

  /** Where `stingray_replica_sessions` reads the sessions per replica when scraped. */
  setSessionSource(source: () => Iterable<ReplicaSessions>): void {
    this.#sessionSource = source;
  }

  setQueued(labels: DeploymentLabels, n: number): void {
    this.#queued.set({ app: labels.app, deployment: labels.deployment }, n);
  }

  setAutoscalingTarget(labels: DeploymentLabels, targetReplicas: number): void {
    this.#target.set({ app: labels.app, deployment: labels.deployment }, targetReplicas);
  }

  incReplicaRestart(labels: DeploymentLabels, n = 1): void {
    this.#restarts.inc({ app: labels.app, deployment: labels.deployment }, n);
  }

  /**
   * Derives the gauges from a status snapshot: replica counts, targets, queue lengths and
   * per-replica in-flight counts. Series of deployments and replicas no longer in the snapshot
   * are removed. Restart totals in the snapshot advance the restart counter by the difference.
   */
  observeStatus(snapshot: StatusSnapshot): void {
    this.#replicas.reset();
    this.#target.reset();
    this.#queued.reset();
    this.#ongoing.reset();
    this.#streams.reset();
    this.#unkillable.reset();
    for (const t of snapshot.runtime.unkillableThreads ?? []) {
      this.#unkillable.inc({ app: label(t.app), deployment: label(t.deployment) });
    }
    for (const app of snapshot.applications) {
      for (const dep of app.deployments) {
        const labels = { app: app.name, deployment: dep.name };
        this.setReplicaStates(labels, dep.replicaStates);
        this.setAutoscalingTarget(labels, dep.targetReplicas);
        this.setQueued(labels, dep.queued ?? 0);
        for (const r of dep.replicas ?? []) {
          if (r.ongoing !== undefined) this.setOngoing({ ...labels, replica: r.id }, r.ongoing);
          if (r.streams !== undefined) this.#streams.set({ ...labels, replica: r.id }, r.streams);
        }
        if (dep.restarts !== undefined) {
          const key = `${app.name}#${dep.name}`;
          const seen = this.#restartsSeen.get(key) ?? 0;
          // inc by 0 still creates the series, so rate() has a zero to start from.
          this.incReplicaRestart(labels, Math.max(0, dep.restarts - seen));
          this.#restartsSeen.set(key, dep.restarts);
        }
      }
    }
  }

  /** The Prometheus text exposition. */
  async metricsText(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  timeseries(): TimeseriesSnapshot {
    const apps: Record<string, TimeseriesPoint[]> = {};
    for (const [name, w] of this.#appWindows) apps[name] = w.series();
    return {
      bucketS: this.#window.bucketMs / 1000,
      total: this.#window.series(),
      apps,
      lastMinute: this.#window.summary(60),
    };
  }

  /** Newest first. */
  recentErrors(): ErrorRecord[] {
    return this.#errors.toArray();
  }

  #appWindow(app: string): RollingWindow | undefined {
    let w = this.#appWindows.get(app);
    if (!w && this.#appWindows.size < MAX_TRACKED_APPS) {
      w = new RollingWindow(this.#windowOptions);
      this.#appWindows.set(app, w);
    }
    return w;
  }
}
