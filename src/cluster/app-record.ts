// Application records for the desired state: built by the node that accepts a deploy (from the
// loaded application and the import path it came from), and turned back into an application by
// every node that runs some of its replicas. The code version is a hash of the deployments' module
// files, computed on each node from its own files, so a node with other code says so instead of
// serving it. No NATS here.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { buildApplicationPlan } from "../deployments/app-graph.ts";
import type { Application } from "../deployments/deployment.ts";
import type { DeploymentConfig, DeploymentOptions } from "../deployments/options.ts";
import { resourcesFromActorOptions } from "../runtime/resources.ts";
import { WIRE_VERSION, type ApplicationRecord } from "./records.ts";

export interface ClusterDeploySource {
  /** Application name. */
  name: string;
  routePrefix: string | null;
  /** "/absolute/module.ts:exportName" (every node imports the same path). */
  importPath: string;
  /** Builder-function arguments. */
  args?: Record<string, unknown>;
  nodeSelector?: Record<string, string>;
}

export function buildApplicationRecord(app: Application, source: ClusterDeploySource, nodeId: string): ApplicationRecord {
  const plan = buildApplicationPlan(app, source.name);
  const record: ApplicationRecord = {
    v: WIRE_VERSION,
    name: source.name,
    routePrefix: source.routePrefix,
    importPath: source.importPath,
    deployments: plan.deployments.map((d) => ({ name: d.name, ...optionsFromConfig(d.deployment.config) })),
    demands: plan.deployments.map((d) => ({
      name: d.name,
      replicas: clusterReplicas(d.deployment.config),
      resources: resourcesFromActorOptions(d.deployment.config.actorOptions).toJSON(),
    })),
    codeVersion: codeVersion(app, source.name),
    deployedBy: nodeId,
    deployedAt: Date.now(),
  };
  if (source.args && Object.keys(source.args).length > 0) record.args = source.args;
  if (source.nodeSelector && Object.keys(source.nodeSelector).length > 0) record.nodeSelector = source.nodeSelector;
  return record;
}

/** Hash of each deployment's name and module file content (not the path: checkouts may differ). */
export function codeVersion(app: Application, appName: string): string {
  const plan = buildApplicationPlan(app, appName);
  const hash = createHash("sha256");
  for (const d of [...plan.deployments].sort((a, b) => a.name.localeCompare(b.name))) {
    hash.update(d.name).update("\0").update(d.deployment.className).update("\0");
    try {
      hash.update(readFileSync(d.deployment.modulePath));
    } catch {
      hash.update("unreadable");
    }
    hash.update("\0");
  }
  return hash.digest("hex").slice(0, 16);
}

/**
 * The per-node options of an application: the recorded options of every deployment with this
 * node's replica count fixed (cluster-wide autoscaling is the leader's job, not a node's).
 */
export function nodeOverrides(record: ApplicationRecord, counts: Readonly<Record<string, number>>): Array<DeploymentOptions & { name: string }> {
  return record.deployments.map((d) => {
    const { autoscalingConfig: _auto, ...rest } = d;
    return { ...rest, numReplicas: counts[d.name] ?? 0 };
  });
}

/** Replicas wanted cluster-wide; an autoscaling deployment starts at its initial replicas for now. */
function clusterReplicas(config: DeploymentConfig): number {
  return config.numReplicas ?? config.autoscaling?.initialReplicas ?? 1;
}

function optionsFromConfig(c: DeploymentConfig): DeploymentOptions {
  const options: DeploymentOptions = {
    actorOptions: {
      numCpus: c.actorOptions.numCpus,
      numGpus: c.actorOptions.numGpus,
      ...(c.actorOptions.memoryMb !== undefined ? { memoryMb: c.actorOptions.memoryMb } : {}),
      resources: { ...c.actorOptions.resources },
    },
    maxOngoingRequests: c.maxOngoingRequests,
    maxQueuedRequests: c.maxQueuedRequests,
    maxOngoingStreams: c.maxOngoingStreams,
    idempotent: c.idempotent,
    healthCheckPeriodS: c.healthCheckPeriodS,
    healthCheckTimeoutS: c.healthCheckTimeoutS,
    gracefulShutdownTimeoutS: c.gracefulShutdownTimeoutS,
  };
  if (c.numReplicas !== undefined) options.numReplicas = c.numReplicas;
  else if (c.autoscaling) options.autoscalingConfig = { ...c.autoscaling };
  if (c.userConfig !== undefined) options.userConfig = c.userConfig;
  return options;
}
