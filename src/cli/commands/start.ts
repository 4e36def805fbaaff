// `stingray start --cluster nats://…`: runs one node of a cluster in the foreground with no
// application of its own (like `ray start`): it joins, serves the applications the leader places on
// it, takes `stingray deploy/status/shutdown` on its admin API (a deploy goes to the whole
// cluster), and drains on SIGINT/SIGTERM: "draining" heartbeat, lease handed over, local replicas
// drained, last heartbeat, NATS closed.

import { createLogger, type Logger } from "../../observability/logger.ts";
import { InvalidOptionsError } from "../../errors.ts";
import { defaultDeployRoots, normalizeRoots } from "../deploy-roots.ts";
import { CliError, EXIT_USAGE } from "../errors.ts";
import { resolveToken, type CliIO } from "../io.ts";
import { InstanceRecords, instanceStateDir } from "../instance-records.ts";
import { connectableAddress } from "../runtime-address.ts";
import { foregroundControl } from "../foreground-control.ts";
import type { RuntimeStarter } from "../runtime-bridge.ts";
import { clusterFromFlags, type ClusterFlags } from "../cluster-flags.ts";

export interface StartCommandOptions extends ClusterFlags {
  host: string;
  port: number;
  numCpus?: number;
  numGpus?: number;
  adminToken?: string;
  deployRoot?: string[];
}

export interface StartDeps {
  startRuntime?: RuntimeStarter;
  signals?: Pick<NodeJS.Process, "on" | "off">;
  logger?: Logger;
  instances?: InstanceRecords | null;
}

export async function startCommand(options: StartCommandOptions, io: CliIO, deps: StartDeps = {}): Promise<number> {
  let cluster;
  let deployRoots: string[];
  try {
    cluster = clusterFromFlags(options);
    if (!cluster) throw new InvalidOptionsError("--cluster is required: the NATS server(s) to join, e.g. nats://127.0.0.1:4222");
    deployRoots = normalizeRoots(options.deployRoot ?? [], io.cwd);
  } catch (err) {
    throw err instanceof InvalidOptionsError ? new CliError(err.message, EXIT_USAGE) : err;
  }
  if (deployRoots.length === 0) deployRoots.push(...defaultDeployRoots(io.cwd, undefined));
  const logger = deps.logger ?? createLogger({ fd: 2, bindings: { component: "stingray" } });
  const startRuntime = deps.startRuntime ?? (await import("../serve-bridge.ts")).startServeRuntime;
  const control = foregroundControl({ what: "node", cwd: io.cwd, deployRoots, logger });
  const { admin, stopped } = control;
  const runtime = await startRuntime({
    host: options.host,
    port: options.port,
    numCpus: options.numCpus,
    numGpus: options.numGpus,
    admin,
    adminToken: resolveToken(options.adminToken, io.env),
    logger,
    cluster,
  });
  control.attach(runtime);
  const instances = deps.instances === undefined ? new InstanceRecords(instanceStateDir(io.env)) : deps.instances;
  let forget = () => {};
  if (instances) {
    try {
      forget = instances.write({ address: connectableAddress(runtime.address), startedAt: Date.now(), target: `cluster node ${cluster.nodeId}`, cwd: io.cwd });
    } catch (err) {
      logger.warn({ err }, "could not record this instance's address; `stingray status` will need --address");
    }
  }
  process.once("exit", forget);
  const signals = deps.signals ?? process;
  let signalled = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (++signalled > 1) {
      io.stderr.write(`\nreceived ${sig} again: exiting without draining\n`);
      process.exit(130);
    }
    control.requestStop(sig);
  };
  signals.on("SIGINT", onSignal);
  signals.on("SIGTERM", onSignal);
  void runtime.closed.then(() => control.requestStop("runtime stopped"));
  try {
    io.stdout.write(`node ${cluster.nodeId} joined cluster "${cluster.name}" at ${runtime.address}\n`);
    const why = await stopped;
    io.stdout.write(`draining node ${cluster.nodeId} (${why})…\n`);
    return 0;
  } finally {
    signals.off("SIGINT", onSignal);
    signals.off("SIGTERM", onSignal);
    forget();
    process.off("exit", forget);
    await runtime.shutdown();
  }
}
