// The Runtime: one Node process's serving machinery wired together — the node's resource pool,
// the controller (reconcile loop + routers), the main-thread CallTransport handles use, the
// HttpDispatcher and the HTTP proxy with its observability routes. `serve` (src/serve.ts) keeps
// one of these per process; the CLI and tests may build their own.

import os from "node:os";
import {
  AppNotFoundError,
  DeployFailedError,
  DeploymentNotFoundError,
  InvalidOptionsError,
  ShuttingDownError,
} from "../errors.ts";
import { buildApplicationPlan } from "../deployments/app-graph.ts";
import { isDeployment, type Application, type Deployment } from "../deployments/deployment.ts";
import { createDeploymentHandle, type DeploymentHandle } from "../deployments/handle.ts";
import type { AdminActions } from "../observability/http.ts";
import { createLogger, type Logger } from "../observability/logger.ts";
import type { StatusSnapshot } from "../observability/status.ts";
import { startRuntimeTracing, type RuntimeTracing, type TracingOptions } from "../observability/tracing.ts";
import type { Proxy, ProxyOptions, Readiness } from "../ingress/types.ts";
import { parseHttpOptions, type HttpServerOptions } from "../ingress/options.ts";
import { applicationSpec, normalizeRoutePrefix } from "./app-targets.ts";
import type { CallOptions, CallTransport } from "./call.ts";
import { systemClock, type Clock } from "./clock.ts";
import { Controller, type ApplicationStatusReport } from "./controller.ts";
import { ControllerDispatcher } from "./dispatcher.ts";
import { replicaId, type DeploymentId } from "./ids.ts";
import { PoolScheduler, type ReplicaScheduler } from "./placement.ts";
import type { ReplicaActor, ReplicaFactory } from "./replica.ts";
import { PiscinaReplicaActor } from "./replica-actor.ts";
import { ResourcePool, detectNodeResources } from "./resources.ts";
import { withReplicaServices } from "./replica-services.ts";
import { TaskStoreSlot } from "../tasks/task-store-slot.ts";
import { taskStoreServices } from "../tasks/task-services.ts";
import type { TaskStore } from "../tasks/task-store.ts";
// Type-only: cluster code (and NATS) loads only when `cluster` is set.
import type { ClusterOptions } from "../cluster/options.ts";
import type { ClusterNode } from "../cluster/node.ts";

export const DEFAULT_HTTP_HOST = "127.0.0.1";
export const DEFAULT_HTTP_PORT = 8000;

/** Where the proxy listens, and its server options (timeouts, connection cap, dashboard access). */
export interface RuntimeHttpOptions extends HttpServerOptions {
  host?: string;
  /** 0 picks a free port; `runtime.address` tells which. */
  port?: number;
}

export interface RuntimeOptions {
  /** Logical CPUs replicas may reserve; default: this machine's parallelism. */
  numCpus?: number;
  /** Logical GPUs; default: what nvidia-smi lists. */
  numGpus?: number;
  memoryMb?: number;
  /** Custom logical resources, e.g. `{ accelerator: 2 }`. */
  resources?: Record<string, number>;
  /** HTTP proxy settings, or false for a handle-only runtime. Default 127.0.0.1:8000. */
  http?: false | RuntimeHttpOptions;
  /** Admin API actions served by the proxy (the CLI's deploy/shutdown). */
  admin?: AdminActions;
  adminToken?: string;
  logger?: Logger;
  /** Controller loop period; default 100 ms. */
  tickMs?: number;
  /** For tests: how replicas are built (default: a worker thread per replica) and placed. */
  replicaFactory?: ReplicaFactory;
  scheduler?: ReplicaScheduler;
  clock?: Clock;
  /** Join a cluster on NATS as one node (see README "Cluster mode"); absent: a single process. */
  cluster?: ClusterOptions;
  /** OpenTelemetry tracing (README "Tracing"); off unless this or OTEL_TRACES_EXPORTER=otlp asks. */
  tracing?: TracingOptions;
}

export interface DeployOptions {
  /** Application name; default "default". */
  name?: string;
  /** HTTP route prefix; default "/"; null keeps the app off HTTP. */
  routePrefix?: string | null;
  /** Wait until the application runs (default true); rejects when it fails to deploy. */
  wait?: boolean;
}

/** The runtime's status snapshot, with the serve layer's richer application reports. */
export interface RuntimeStatus extends StatusSnapshot {
  applications: ApplicationStatusReport[];
}

const PENDING_WARNING_MS = 5_000;

export class Runtime {
  readonly #controller: Controller;
  readonly #scheduler: ReplicaScheduler;
  readonly #log: Logger;
  readonly #transport: CallTransport;
  readonly #dispatcher: ControllerDispatcher;
  /** MCP Tasks records: in this process, or (cluster mode) the cluster's KV store once joined. */
  readonly #tasks = new TaskStoreSlot();
  readonly #startedAt = Date.now();
  #proxy: Proxy | undefined;
  #address: string | undefined;
  #cluster: ClusterNode | undefined;
  readonly #nodeId: string | undefined;
  readonly #tracing: RuntimeTracing | undefined;
  #shutdown: Promise<void> | undefined;
  #closed!: () => void;
  /** Settles once the runtime has shut down, whoever asked. */
  readonly closed: Promise<void> = new Promise((resolve) => (this.#closed = resolve));

  private constructor(scheduler: ReplicaScheduler, options: RuntimeOptions, nodeId?: string, tracing?: RuntimeTracing) {
    this.#scheduler = scheduler;
    this.#nodeId = nodeId;
    this.#tracing = tracing;
    const log = options.logger ?? createLogger({ bindings: { component: "stingray" } });
    // Cluster mode: every line names the node it came from.
    this.#log = nodeId === undefined ? log : log.child({ node: nodeId });
    const controller: { current?: Controller } = {};
    this.#transport = routerTransport(() => controller.current!);
    this.#controller = new Controller({
      clock: options.clock ?? systemClock,
      replicaFactory:
        options.replicaFactory ??
        ((spec) => new PiscinaReplicaActor({ ...spec, ...(nodeId !== undefined ? { nodeId } : {}), ...(tracing ? { tracing: tracing.options } : {}) })),
      scheduler,
      log: this.#log,
      upcall: withReplicaServices(this.#transport, taskStoreServices(this.#tasks, (m) => this.#log.warn(m))),
      tickMs: options.tickMs,
    });
    controller.current = this.#controller;
    this.#dispatcher = new ControllerDispatcher(this.#controller);
  }

  /** Detects node resources, starts the controller loop and (unless `http: false`) the proxy. */
  static async start(options: RuntimeOptions = {}): Promise<Runtime> {
    // Bad HTTP options fail here, before any thread or socket exists.
    if (options.http !== false) parseHttpOptions(options.http, "serve.start()");
    let scheduler = options.scheduler;
    if (!scheduler) {
      const node = await detectNodeResources({
        overrides: {
          numCpus: options.numCpus,
          numGpus: options.numGpus,
          memoryMb: options.memoryMb,
          resources: options.resources,
        },
        cpuCount: () => os.availableParallelism(),
      });
      scheduler = new PoolScheduler(new ResourcePool(node));
    }
    // Validated before anything starts; the module itself imports no NATS.
    const cluster = options.cluster ? (await import("../cluster/options.ts")).resolveClusterOptions(options.cluster, "serve.start() cluster") : undefined;
    // Off (nothing from OpenTelemetry loaded) unless the option or OTEL_* turn it on.
    const tracing = await startRuntimeTracing(options.tracing, "serve.start() tracing");
    const runtime = new Runtime(scheduler, options, cluster?.nodeId, tracing);
    runtime.#controller.start();
    try {
      if (options.http !== false) await runtime.#startProxy(options);
      if (cluster) {
        const { ClusterNode } = await import("../cluster/node.ts");
        runtime.#cluster = await ClusterNode.start(cluster, runtime.#nodeRuntime(), runtime.#log);
      }
    } catch (err) {
      await runtime.shutdown();
      throw err;
    }
    return runtime;
  }

  /** The proxy's base URL, e.g. http://127.0.0.1:8000; undefined without HTTP. */
  get address(): string | undefined {
    return this.#address;
  }

  /** Handle calls in the main thread go through this (the routers). */
  get transport(): CallTransport {
    return this.#transport;
  }

  get dispatcher(): ControllerDispatcher {
    return this.#dispatcher;
  }

  get controller(): Controller {
    return this.#controller;
  }

  /** This process's cluster node, when started with `cluster`. */
  get cluster(): ClusterNode | undefined {
    return this.#cluster;
  }

  /** Deploys or redeploys an application and returns a handle to its ingress deployment. */
  async deploy<T extends object>(app: Application<T>, options: DeployOptions = {}): Promise<DeploymentHandle<T>> {
    if (this.#shutdown) throw new ShuttingDownError();
    const name = options.name ?? "default";
    if (typeof name !== "string" || name.length === 0 || /[#/]/.test(name)) {
      throw new InvalidOptionsError(`name must be a non-empty string without '#' or '/', got ${JSON.stringify(name)}`);
    }
    const plan = buildApplicationPlan(app, name);
    const spec = applicationSpec(plan, normalizeRoutePrefix(options.routePrefix));
    this.#controller.deployApplication(spec);
    this.#controller.step();
    if (options.wait !== false) await this.#waitForApplication(name);
    return this.getAppHandle<T>(name);
  }

  /** Deletes an application and waits until its replicas stopped. */
  async delete(name: string): Promise<void> {
    if (!this.#controller.deleteApplication(name)) throw new AppNotFoundError(`no application named "${name}"`);
    await this.#until(() => this.#controller.applicationStatus(name) === undefined);
  }

  getAppHandle<T extends object = Record<string, never>>(name: string): DeploymentHandle<T> {
    const app = this.#controller.application(name);
    if (!app) throw new AppNotFoundError(`no application named "${name}"`);
    return createDeploymentHandle<T>({ app: name, deployment: app.ingress }, this.#transport);
  }

  getDeploymentHandle<T extends object = Record<string, never>>(
    deployment: string | Deployment<T>,
    appName = "default",
  ): DeploymentHandle<T> {
    const name = isDeployment(deployment) ? deployment.name : deployment;
    const app = this.#controller.application(appName);
    if (!app) throw new AppNotFoundError(`no application named "${appName}"`);
    if (!app.deployments.some((d) => d.id.deployment === name)) {
      throw new DeploymentNotFoundError(`application "${appName}" has no deployment named "${name}"`);
    }
    return createDeploymentHandle<T>({ app: appName, deployment: name }, this.#transport);
  }

  applications(): ApplicationStatusReport[] {
    return this.#controller.status();
  }

  status(): RuntimeStatus {
    const local = this.#localStatus();
    return this.#cluster ? this.#cluster.decorateStatus(local) : local;
  }

  /**
   * Whether the process should get traffic (`GET /-/ready`): not while shutting down; not while
   * an application is on its first deploy with no ingress replica running yet (a request would
   * only wait for it), or failed to deploy; and not while a replica thread that was told to end
   * is still running (blocked in native code: only restarting the process frees what it holds).
   * A rolling update keeps the process ready: its old replicas serve meanwhile.
   */
  readiness(): Readiness {
    if (this.#shutdown) return { ready: false, reasons: ["shutting down"] };
    const reasons: string[] = [];
    // Cluster mode: not before this node has joined (its routers know no other node yet).
    if (this.#nodeId !== undefined && !this.#cluster) reasons.push("joining the cluster");
    for (const app of this.#controller.status()) {
      if (app.status === "DEPLOY_FAILED") {
        reasons.push(`application ${app.name} failed to deploy`);
      } else if (app.status === "DEPLOYING") {
        const ingress = app.deployments.find((d) => d.name === app.ingressDeployment);
        if (!ingress || ingress.runningReplicas === 0) reasons.push(`application ${app.name} is deploying (no ingress replica running yet)`);
      }
    }
    for (const t of this.#controller.unkillableThreads()) {
      reasons.push(`replica ${t.replica} of ${t.app}#${t.deployment}: ${t.message}`);
    }
    return { ready: reasons.length === 0, reasons };
  }

  /** Stops accepting requests, drains replicas up to their graceful timeouts, stops threads. */
  shutdown(): Promise<void> {
    this.#shutdown ??= (async () => {
      // Cluster: say "draining" and hand the lease over first (CLUSTER.md rule 5).
      await this.#cluster?.beginDrain().catch((err: unknown) => this.#log.warn({ err }, "cluster drain announcement failed"));
      try {
        await this.#proxy?.close();
      } catch (err) {
        this.#log.warn({ err }, "closing the HTTP proxy failed");
      }
      await this.#controller.shutdown();
      this.#tasks.close();
      await this.#tracing?.shutdown().catch((err: unknown) => this.#log.warn({ err }, "exporting the last spans failed"));
      await this.#cluster?.close().catch((err: unknown) => this.#log.warn({ err }, "leaving the cluster failed"));
      this.#closed();
    })();
    return this.#shutdown;
  }

  /** This process's own status (cluster mode: without the other nodes). */
  #localStatus(): RuntimeStatus {
    const runtime: RuntimeStatus["runtime"] = { pid: process.pid, startedAt: this.#startedAt, resources: this.#scheduler.snapshot() };
    if (this.#address) runtime.address = this.#address;
    runtime.unkillableThreads = this.#controller.unkillableThreads();
    return { runtime, applications: this.#controller.status() };
  }

  /** What the cluster node's agent drives: this runtime's local deploy, delete and status. */
  #nodeRuntime() {
    const local = (): RuntimeStatus => this.#localStatus();
    const routerOf = (app: string, deployment: string) => {
      try {
        return this.#controller.router({ app, deployment });
      } catch {
        return undefined; // Not deployed on this node (yet, or any more).
      }
    };
    return {
      deploy: (app: Application, o: { name: string; routePrefix: string | null; wait: false }) => this.deploy(app, o),
      delete: (name: string) => this.delete(name),
      localStatus: local,
      address: () => this.#address,
      localReplica: (app: string, deployment: string, id: string) => routerOf(app, deployment)?.localReplica(replicaId(id)),
      setRemoteReplicas: (app: string, deployment: string, replicas: readonly ReplicaActor[]) => routerOf(app, deployment)?.setRemoteReplicas(replicas),
      useTaskStore: (store: TaskStore) => this.#tasks.use(store),
    };
  }

  async #startProxy(options: RuntimeOptions): Promise<void> {
    const http = options.http || {};
    const { publicDashboard, ...connectionLimits } = parseHttpOptions(http, "serve.start()");
    // Loaded lazily: a handle-only runtime never pays for express.
    const [{ createProxy }, { createObservability }] = await Promise.all([
      import("../ingress/proxy.ts"),
      import("../observability/index.ts"),
    ]);
    const obs = createObservability({
      status: () => this.status(),
      // Each cluster node exports its own replicas, labelled with its id: a scraper sums nodes.
      metricsStatus: () => this.#localStatus(),
      ...(this.#nodeId !== undefined ? { metrics: { defaultLabels: { node: this.#nodeId } } } : {}),
      admin: options.admin,
      adminToken: options.adminToken,
      publicDashboard,
      logger: this.#log,
    });
    const proxyOptions: ProxyOptions = {
      host: http.host ?? DEFAULT_HTTP_HOST,
      port: http.port ?? DEFAULT_HTTP_PORT,
      dispatcher: this.#dispatcher,
      connectionLimits,
      readiness: () => this.readiness(),
      routers: [obs.router],
      onRequest: (event) => obs.onRequest(event),
      logger: this.#log,
      ...(this.#tracing ? { tracer: this.#tracing.requests } : {}),
    };
    this.#proxy = createProxy(proxyOptions);
    const proxy = this.#proxy;
    obs.metrics.setSessionSource(() => proxy.sessionsByReplica());
    const bound = await this.#proxy.listen();
    const host = bound.host.includes(":") ? `[${bound.host}]` : bound.host;
    this.#address = `http://${host}:${bound.port}`;
    // Who can reach the admin and read-only routes on this bind: said once, at start-up.
    const exposure = obs.exposureWarning(bound.host);
    if (exposure) this.#log.warn({ address: this.#address }, exposure);
  }

  async #waitForApplication(name: string): Promise<void> {
    let lastWarning = Date.now();
    await this.#until(() => {
      const status = this.#controller.applicationStatus(name);
      if (!status) throw new AppNotFoundError(`application "${name}" was deleted while deploying`);
      if (status.status === "DEPLOY_FAILED") {
        throw new DeployFailedError(`application "${name}" failed to deploy: ${status.message ?? "unknown error"}`);
      }
      if (status.status === "RUNNING" || status.status === "UNHEALTHY") return true;
      if (Date.now() - lastWarning > PENDING_WARNING_MS) {
        lastWarning = Date.now();
        this.#log.warn({ app: name }, `application "${name}" is still deploying: ${status.message ?? "replicas starting"}`);
      }
      return false;
    });
  }

  /** Resolves when `done()` is true after a controller step; rejects when it throws. */
  #until(done: () => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        try {
          if (!done()) return false;
          resolve();
        } catch (err) {
          reject(err);
        }
        return true;
      };
      if (check()) return;
      const off = this.#controller.onStep(() => {
        if (check()) off();
      });
    });
  }
}

/**
 * The main-thread CallTransport: every call goes through the target deployment's router. An empty
 * deployment name means the application's ingress (what `serve.getAppHandle` gives in a worker).
 */
function routerTransport(controller: () => Controller): CallTransport {
  const routerFor = (target: DeploymentId) => {
    const c = controller();
    if (target.deployment !== "") return c.router(target);
    const app = c.application(target.app);
    if (!app) throw new AppNotFoundError(`no application named "${target.app}"`);
    return c.router({ app: target.app, deployment: app.ingress });
  };
  return {
    call(target: DeploymentId, method: string, args: unknown[], options?: CallOptions): Promise<unknown> {
      try {
        return routerFor(target).call(method, args, options);
      } catch (err) {
        return Promise.reject(err);
      }
    },
    stream(target: DeploymentId, method: string, args: unknown[], options?: CallOptions): AsyncIterable<unknown> {
      return {
        [Symbol.asyncIterator]: () => routerFor(target).stream(method, args, options)[Symbol.asyncIterator](),
      };
    },
  };
}
