// `stingray run <module.ts:export | config.yaml>`: starts a runtime in this process, deploys the
// application(s) with a live progress line, prints "ready at http://…", serves the admin API (so
// `stingray deploy/status/shutdown` can drive it), and shuts down gracefully on SIGINT/SIGTERM or
// an admin shutdown. A second Ctrl-C exits at once.

import path from "node:path";
import { InvalidOptionsError } from "../../errors.ts";
import { createLogger, type Logger } from "../../observability/logger.ts";
import { appUrl, applyDeployConfig, type AppliedApplication } from "../apply-config.ts";
import { CliError, EXIT_USAGE } from "../errors.ts";
import { loadApplication } from "../load-app.ts";
import { defaultDeployRoots, normalizeRoots } from "../deploy-roots.ts";
import { parseHttpOptions, type HttpServerOptions } from "../../ingress/options.ts";
import { loadConfigFile } from "./deploy.ts";
import { resolveToken, type CliIO } from "../io.ts";
import { InstanceRecords, instanceStateDir } from "../instance-records.ts";
import { ProgressDisplay, progressLine } from "../progress.ts";
import { connectableAddress } from "../runtime-address.ts";
import { foregroundControl } from "../foreground-control.ts";
import type { RuntimeBridge, RuntimeStarter } from "../runtime-bridge.ts";
import { clusterFromFlags, type ClusterFlags } from "../cluster-flags.ts";

export interface RunCommandOptions extends ClusterFlags {
  host: string;
  port: number;
  numCpus?: number;
  numGpus?: number;
  name?: string;
  routePrefix?: string;
  adminToken?: string;
  progress?: boolean;
  readyTimeout?: number;
  /** HTTP server limits in seconds / connections (they win over a config file's `http`). */
  headersTimeout?: number;
  bodyTimeout?: number;
  keepAliveTimeout?: number;
  maxConnections?: number;
  publicDashboard?: boolean;
  /** Folders the admin API may deploy modules from (default: the project and the config file's folder). */
  deployRoot?: string[];
  /** Which of host/port came from the command line (they then win over a config file's `http`). */
  explicit?: { host?: boolean; port?: boolean };
}

export interface RunDeps {
  startRuntime?: RuntimeStarter;
  /** Signals that stop the runtime; tests pass an EventEmitter. */
  signals?: Pick<NodeJS.Process, "on" | "off">;
  logger?: Logger;
  /** Where this instance records its address for `status`/`deploy`/`shutdown`; null: nowhere. */
  instances?: InstanceRecords | null;
}

const CONFIG_FILE = /\.(ya?ml|json)$/i;

export async function runCommand(target: string, options: RunCommandOptions, io: CliIO, deps: RunDeps = {}): Promise<number> {
  const isConfig = CONFIG_FILE.test(target);
  const config = isConfig ? loadConfigFile(target, io.cwd) : undefined;
  const host = options.explicit?.host === false && config?.http?.host ? config.http.host : options.host;
  const port = options.explicit?.port === false && config?.http?.port !== undefined ? config.http.port : options.port;
  const http = httpServerOptions(options, config?.http);
  const deployRoots = usage(() => normalizeRoots(options.deployRoot ?? [], io.cwd));
  // Cluster mode: this process is one node, and the target is deployed to the whole cluster.
  const cluster = usage(() => clusterFromFlags(options));
  if (deployRoots.length === 0) deployRoots.push(...defaultDeployRoots(io.cwd, isConfig ? target : undefined));

  // Import the user's module before starting anything: a typo fails fast with exit code 2.
  const single = isConfig
    ? undefined
    : await loadApplication(target, { cwd: io.cwd, where: "run target" }).catch((err: unknown) => {
        throw err instanceof InvalidOptionsError ? new CliError(err.message, EXIT_USAGE) : err;
      });

  // Logs go to stderr: stdout carries the progress and "ready at" lines people and scripts read.
  const logger = deps.logger ?? createLogger({ fd: 2, bindings: { component: "stingray" } });
  const startRuntime = deps.startRuntime ?? (await import("../serve-bridge.ts")).startServeRuntime;
  const control = foregroundControl({ what: "runtime", cwd: io.cwd, deployRoots, logger });
  const { admin, stopped } = control;
  const runtime = await startRuntime({
    host,
    port,
    http,
    numCpus: options.numCpus,
    numGpus: options.numGpus,
    admin,
    adminToken: resolveToken(options.adminToken, io.env),
    logger,
    cluster,
    ...(config?.tracing !== undefined ? { tracing: config.tracing } : {}),
  });

  control.attach(runtime);
  const instances = deps.instances === undefined ? new InstanceRecords(instanceStateDir(io.env)) : deps.instances;
  const forget = recordInstance(instances, runtime.address, target, io.cwd, logger);
  // A second Ctrl-C exits without reaching `finally`; the record must not outlive the process.
  process.once("exit", forget);
  const signals = deps.signals ?? process;
  let signalled = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signalled++;
    if (signalled > 1) {
      io.stderr.write(`\nreceived ${sig} again: exiting without draining\n`);
      process.exit(130);
    }
    control.requestStop(sig);
  };
  signals.on("SIGINT", onSignal);
  signals.on("SIGTERM", onSignal);
  void runtime.closed.then(() => control.requestStop("runtime stopped"));

  try {
    const progress = new ProgressDisplay(io.stdout);
    const names = new Set<string>();
    const deploying = (async (): Promise<AppliedApplication[]> => {
      if (config) {
        for (const a of config.applications) names.add(a.name);
        return (await applyDeployConfig(config, runtime, { cwd: path.dirname(path.resolve(io.cwd, target)), source: target })).applications;
      }
      const name = options.name ?? single!.exportName;
      const routePrefix = options.routePrefix ?? "/";
      names.add(name);
      await runtime.deploy(single!.app, { name, routePrefix, importPath: `${single!.modulePath}:${single!.exportName}` });
      return [{ name, routePrefix, url: appUrl(runtime.address, routePrefix, runtime.mcpPath(single!.app)) }];
    })();
    const applied = await withProgress(deploying, runtime, names, options, progress, stopped);
    if (applied === "stopped") {
      io.stdout.write("stopped before the application was ready\n");
      return 1;
    }
    for (const app of applied) io.stdout.write(`ready at ${app.url} (application "${app.name}")\n`);
    io.stdout.write(`dashboard at ${runtime.address}/-/dashboard · metrics at ${runtime.address}/metrics\n`);
    const why = await stopped;
    io.stdout.write(`shutting down (${why})…\n`);
    return 0;
  } catch (err) {
    if (err instanceof InvalidOptionsError) throw new CliError(err.message, EXIT_USAGE);
    throw err;
  } finally {
    signals.off("SIGINT", onSignal);
    signals.off("SIGTERM", onSignal);
    // Forget first: a draining runtime no longer accepts, so `status` should not pick it.
    forget();
    process.off("exit", forget);
    await runtime.shutdown();
  }
}

/** Records the address (never the token); a failure only costs the lookup, so it is a warning. */
function recordInstance(instances: InstanceRecords | null, address: string, target: string, cwd: string, logger: Logger): () => void {
  if (!instances) return () => {};
  try {
    return instances.write({ address: connectableAddress(address), startedAt: Date.now(), target, cwd });
  } catch (err) {
    logger.warn({ err, dir: instances.dir }, "could not record this instance's address; `stingray status` will need --address");
    return () => {};
  }
}

/** Runs `fn`, turning invalid options into a usage error (exit code 2). */
function usage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw err instanceof InvalidOptionsError ? new CliError(err.message, EXIT_USAGE) : err;
  }
}

/** The HTTP server options: flags (seconds) over the config file's `http` (ms), validated here. */
function httpServerOptions(options: RunCommandOptions, fromConfig: HttpServerOptions | undefined): HttpServerOptions {
  const ms = (s: number | undefined) => (s === undefined ? undefined : Math.round(s * 1000));
  const http: HttpServerOptions = { ...fromConfig };
  const flags: HttpServerOptions = {
    headersTimeoutMs: ms(options.headersTimeout),
    bodyTimeoutMs: ms(options.bodyTimeout),
    keepAliveTimeoutMs: ms(options.keepAliveTimeout),
    maxConnections: options.maxConnections,
    publicDashboard: options.publicDashboard,
  };
  for (const [key, value] of Object.entries(flags)) if (value !== undefined) Object.assign(http, { [key]: value });
  const { host: _host, port: _port, ...server } = http as HttpServerOptions & { host?: string; port?: number };
  usage(() => parseHttpOptions(server, "stingray run"));
  return server;
}

/** Redraws the progress line while the deploy runs; gives up after --ready-timeout. */
async function withProgress<T>(
  work: Promise<T>,
  runtime: RuntimeBridge,
  names: ReadonlySet<string>,
  options: RunCommandOptions,
  progress: ProgressDisplay,
  stopped: Promise<string>,
): Promise<T | "stopped"> {
  const show = options.progress ?? true;
  let timer: NodeJS.Timeout | undefined;
  let timeout: NodeJS.Timeout | undefined;
  let polling = true;
  const tick = async () => {
    try {
      if (show) progress.update(progressLine(await runtime.status(), names));
    } catch {
      // A status hiccup must not break start-up; the next tick tries again.
    }
    if (polling) timer = setTimeout(tick, 200);
  };
  void tick();
  const timedOut = new Promise<never>((_, reject) => {
    timeout = setTimeout(() => {
      void runtime.status().then(
        (snap) => reject(new CliError(`not ready after ${options.readyTimeout ?? 120}s: ${progressLine(snap, names)}`, 1)),
        () => reject(new CliError(`not ready after ${options.readyTimeout ?? 120}s`, 1)),
      );
    }, (options.readyTimeout ?? 120) * 1000);
  });
  try {
    return await Promise.race([work, timedOut, stopped.then(() => "stopped" as const)]);
  } finally {
    polling = false;
    clearTimeout(timer);
    clearTimeout(timeout);
    // Reading the last state once more makes the final line accurate (e.g. "2/2 running").
    if (show) {
      try {
        progress.update(progressLine(await runtime.status(), names));
      } catch {
        // ignore
      }
    }
    progress.done();
  }
}
