// The data nodes exchange: heartbeats (core NATS, every ~500 ms), application records and the
// placement (JetStream KV). Plain JSON-safe types plus the subject and bucket names, in one place
// so every module agrees on the wire format. No NATS import here.

import type { DeploymentOptions } from "../deployments/options.ts";

export const WIRE_VERSION = 1;

/** What a node says about itself. `stopped` is its last beat after a graceful drain. */
export type NodeBeatState = "up" | "draining" | "stopped";

/** Resources in user units (CPU, GPU, custom), as the node's scheduler reports them. */
export type ResourceAmounts = Record<string, number>;

export interface ReplicaSummary {
  app: string;
  deployment: string;
  id: string;
  state: string;
  /** Requests in flight (the per-deployment load the cluster autoscaler reads; routers elsewhere too). */
  ongoing?: number;
  /** Long-lived streams open on it. */
  streams?: number;
}

export interface CodeMismatch {
  app: string;
  /** The code version in the cluster's desired state. */
  expected: string;
  /** What this node computed from its own module files. */
  actual: string;
}

export interface NodeHeartbeat {
  v: number;
  nodeId: string;
  /** Epoch ms this process started: a restarted node with the same id is a new incarnation. */
  startedAt: number;
  seq: number;
  state: NodeBeatState;
  /** The node's HTTP proxy, e.g. http://127.0.0.1:8001 (absent without HTTP). */
  address?: string;
  labels: Record<string, string>;
  resources: { total: ResourceAmounts; available: ResourceAmounts };
  /**
   * How often its NATS connection was re-established: when it grows, messages to or from the node
   * may have been lost in transit, so callers ask about their calls in flight there.
   */
  epoch?: number;
  /** Whether this node believes it holds the leader lease. */
  leader: boolean;
  replicas: ReplicaSummary[];
  /** Requests waiting in this node's routers, per deployment (only where some wait). */
  queued?: Array<{ app: string; deployment: string; n: number }>;
  /** Applications whose code on this node differs from the desired state (not served here). */
  codeMismatch: CodeMismatch[];
}

/** One deployment of an application as the leader needs it for placement. */
export interface DeploymentDemand {
  name: string;
  /**
   * Replicas wanted cluster-wide: numReplicas, or for an autoscaling deployment its initial
   * replicas (the leader's ClusterAutoscaler then sets the number from the cluster's load).
   */
  replicas: number;
  /** What one replica reserves, in user units (CPU, GPU, custom resources). */
  resources: ResourceAmounts;
}

/** The desired state of one application (KV key `apps.<name>`), written with compare-and-set. */
export interface ApplicationRecord {
  v: number;
  name: string;
  /** Where HTTP traffic goes; null: handle-only. */
  routePrefix: string | null;
  /** "/absolute/path/module.ts:exportName": every node imports the same module by path. */
  importPath: string;
  /** Arguments for a builder-function export. */
  args?: Record<string, unknown>;
  /** The resolved options of every deployment, re-applied on each node after the import. */
  deployments: Array<DeploymentOptions & { name: string }>;
  demands: DeploymentDemand[];
  /** Hash of the deployments' module files: nodes whose files differ refuse to serve. */
  codeVersion: string;
  /** Only nodes whose labels include all of these get replicas. */
  nodeSelector?: Record<string, string>;
  deployedBy: string;
  deployedAt: number;
}

/** Where the leader put one deployment's replicas. */
export interface DeploymentPlacement {
  /** nodeId → replica count. */
  nodes: Record<string, number>;
  /** Replicas that fit on no node. */
  pending: number;
  /** Why, naming the short resource (e.g. "not enough GPU: requested 1, available 0 on any node"). */
  pendingReason?: string;
}

export interface ApplicationPlacement {
  codeVersion: string;
  deployments: Record<string, DeploymentPlacement>;
}

/** The whole cluster's placement (KV key `placement`), written only by the leader. */
export interface PlacementRecord {
  v: number;
  /** The lease revision of the leader that wrote it: nodes ignore a lower term (fencing). */
  term: number;
  leader: string;
  apps: Record<string, ApplicationPlacement>;
}

export interface LeaseRecord {
  nodeId: string;
  renewedAt: number;
}

/** Subjects and buckets of one cluster. */
export function clusterNames(cluster: string) {
  return {
    heartbeatSubject: `stingray.${cluster}.hb`,
    stateBucket: `stingray_${cluster}_state`,
    leaseBucket: `stingray_${cluster}_lease`,
    appKey: (name: string) => `apps.${encodeKey(name)}`,
    appKeyPrefix: "apps.",
    placementKey: "placement",
    leaseKey: "leader",
  };
}

/** KV keys allow [-/_=.a-zA-Z0-9]; application names may hold anything but '#' and '/'. */
export function encodeKey(name: string): string {
  return Buffer.from(name, "utf8").toString("base64url");
}

export function decodeKey(key: string): string {
  return Buffer.from(key, "base64url").toString("utf8");
}
