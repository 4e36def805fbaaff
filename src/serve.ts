// The public `serve` object (Ray Serve's `serve.*` API): one Runtime per process, started by the
// first `serve.run` (or explicitly with `serve.start`). A module that calls `serve.run(app)` at
// top level is also imported by every replica's worker thread; there `serve.run` must not start a
// second runtime, so off the main thread it only hands back a handle that calls through the
// replica's upcall transport.

import { isMainThread } from "node:worker_threads";
import { AppNotFoundError, ShuttingDownError } from "./errors.ts";
import { buildApplicationPlan } from "./deployments/app-graph.ts";
import { isDeployment, type Application, type Deployment } from "./deployments/deployment.ts";
import { createDeploymentHandle, type DeploymentHandle } from "./deployments/handle.ts";
import type { CallTransport } from "./runtime/call.ts";
// Type-only: the runtime (piscina, the controller, express) loads on first start, so a worker
// thread importing a user module that imports `serve` stays light.
import type { Runtime, RuntimeOptions, RuntimeStatus } from "./runtime/runtime.ts";
import { getWorkerTransport } from "./runtime/worker-transport.ts";

export interface ServeRunOptions {
  /** Application name; default "default". */
  name?: string;
  /** HTTP route prefix; default "/"; null keeps the app off HTTP. */
  routePrefix?: string | null;
  /** Proxy host and port, used when this call starts the runtime (default 127.0.0.1:8000, 0 = any free port). */
  host?: string;
  port?: number;
  /** false: no HTTP proxy (handle-only), when this call starts the runtime. */
  http?: boolean;
  /** Wait until the application runs (default true). */
  wait?: boolean;
  /** OpenTelemetry tracing (README "Tracing"), when this call starts the runtime. */
  tracing?: RuntimeOptions["tracing"];
}

export interface ServeStartOptions extends RuntimeOptions {
  /** Shut down gracefully on SIGINT/SIGTERM, then exit. Default true. */
  handleSignals?: boolean;
}

export type ServeStatus = RuntimeStatus;

let current: Runtime | undefined;
let starting: Promise<Runtime> | undefined;
let removeSignalHandlers: (() => void) | undefined;

async function start(options: ServeStartOptions = {}): Promise<Runtime> {
  if (!isMainThread) throw new ShuttingDownError("serve.start() cannot run inside a replica's worker thread");
  if (current) return current;
  starting ??= (async () => {
    try {
      const { Runtime } = await import("./runtime/runtime.ts");
      const runtime = await Runtime.start(options);
      current = runtime;
      if (options.handleSignals ?? true) removeSignalHandlers = installSignalHandlers(runtime);
      void runtime.closed.then(() => {
        if (current === runtime) current = undefined;
        removeSignalHandlers?.();
        removeSignalHandlers = undefined;
      });
      return runtime;
    } finally {
      starting = undefined;
    }
  })();
  return starting;
}

async function run<T extends object>(app: Application<T>, options: ServeRunOptions = {}): Promise<DeploymentHandle<T>> {
  if (!isMainThread) {
    // Inside a replica: the module is being imported to find a class; never start a runtime.
    const plan = buildApplicationPlan(app, options.name ?? "default");
    return createDeploymentHandle<T>({ app: plan.appName, deployment: plan.ingress }, workerTransport);
  }
  const runtime =
    current ??
    (await start({
      http: options.http === false ? false : { host: options.host, port: options.port },
      ...(options.tracing !== undefined ? { tracing: options.tracing } : {}),
    }));
  return runtime.deploy(app, { name: options.name, routePrefix: options.routePrefix, wait: options.wait });
}

function status(): ServeStatus {
  if (!current) return { runtime: {}, applications: [] };
  return current.status();
}

async function deleteApp(name: string): Promise<void> {
  if (!current) throw new AppNotFoundError(`no application named "${name}" (serve is not running)`);
  await current.delete(name);
}

async function shutdown(): Promise<void> {
  const runtime = current ?? (starting ? await starting : undefined);
  if (!runtime) return;
  await runtime.shutdown();
  if (current === runtime) current = undefined;
}

function getAppHandle<T extends object = Record<string, never>>(name = "default"): DeploymentHandle<T> {
  if (!isMainThread) return createDeploymentHandle<T>({ app: name, deployment: "" }, workerTransport);
  return requireRuntime().getAppHandle<T>(name);
}

function getDeploymentHandle<T extends object = Record<string, never>>(
  deployment: string | Deployment<T>,
  appName = "default",
): DeploymentHandle<T> {
  if (!isMainThread) {
    const name = isDeployment(deployment) ? deployment.name : deployment;
    return createDeploymentHandle<T>({ app: appName, deployment: name }, workerTransport);
  }
  return requireRuntime().getDeploymentHandle<T>(deployment, appName);
}

/** The proxy's base URL (e.g. http://127.0.0.1:8000), or undefined without HTTP. */
function address(): string | undefined {
  return current?.address;
}

function requireRuntime(): Runtime {
  if (!current) throw new AppNotFoundError("serve is not running: call serve.run(app) first");
  return current;
}

function workerTransport(): CallTransport {
  const t = getWorkerTransport();
  if (!t) throw new AppNotFoundError("no serve runtime in this thread");
  return t;
}

function installSignalHandlers(runtime: Runtime): () => void {
  const onSignal = (signal: NodeJS.Signals): void => {
    void runtime.shutdown().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  return () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
}

export const serve = {
  start,
  run,
  status,
  delete: deleteApp,
  shutdown,
  getAppHandle,
  getDeploymentHandle,
  address,
  /** The running Runtime, if any (for advanced use: controller status, dispatcher). */
  get runtime(): Runtime | undefined {
    return current;
  },
};
