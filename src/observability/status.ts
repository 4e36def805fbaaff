// The status snapshot: one JSON-safe picture of a runtime (applications, deployments, replicas,
// resources) that the dashboard, the `stingray status` command and the metrics gauges all read.
// The serve layer produces it; observability code only consumes it through a provider function,
// so it never reaches into controller internals.

/** Replica lifecycle as reported (mirrors the control plane's states). */
export type ReplicaStatus = "STARTING" | "RUNNING" | "UPDATING" | "RECOVERING" | "STOPPING" | "PENDING";

export const REPLICA_STATUSES: readonly ReplicaStatus[] = [
  "PENDING",
  "STARTING",
  "RUNNING",
  "UPDATING",
  "RECOVERING",
  "STOPPING",
];

export interface ReplicaStatusInfo {
  id: string;
  state: ReplicaStatus | string;
  /** Requests in flight on the replica (long-lived streams not included). */
  ongoing?: number;
  /** Long-lived streams (subscriptions/listen, legacy GET SSE) open on the replica. */
  streams?: number;
  gpuIds?: number[];
  /** Reserved resources in user units, e.g. { CPU: 0.5 }. */
  resources?: Record<string, number>;
  /** Epoch ms when the replica was created. */
  startedAt?: number;
  /** Why a replica is pending or recovering (e.g. "not enough GPU: requested 1, available 0"). */
  message?: string;
  /** Cluster mode: the node that runs it (absent for a replica that fits on no node). */
  node?: string;
}

export interface DeploymentStatusInfo {
  name: string;
  /** e.g. UPDATING, HEALTHY, UNHEALTHY, DEPLOY_FAILED, UPSCALING, DOWNSCALING. */
  status: string;
  message?: string;
  /** Replicas the controller is aiming for (autoscaling decision or numReplicas). */
  targetReplicas: number;
  /** Replica counts by state; states absent count zero. */
  replicaStates: Record<string, number>;
  replicas?: ReplicaStatusInfo[];
  /** Requests waiting in the router for a free replica. */
  queued?: number;
  /** Replica restarts (crashes, failed health checks) since the deployment started. */
  restarts?: number;
  /** Resources one replica asks for, in user units. */
  resourcesPerReplica?: Record<string, number>;
}

export interface ApplicationStatusInfo {
  name: string;
  routePrefix: string;
  /** e.g. DEPLOYING, RUNNING, DEPLOY_FAILED, DELETING, UNHEALTHY. */
  status: string;
  message?: string;
  ingressDeployment?: string;
  deployments: DeploymentStatusInfo[];
}

/**
 * A replica thread that was told to end (terminated after failing its liveness probes, or stopped)
 * and did not exit in time: blocked in native code, still holding its CPU/GPU work. Its resources
 * were released and a replacement started; the process itself should be restarted (/-/ready fails).
 */
export interface UnkillableThreadInfo {
  app: string;
  deployment: string;
  replica: string;
  /** Epoch ms when it was given up on. */
  since: number;
  /** Why it was being ended. */
  message: string;
}

export interface RuntimeStatusInfo {
  /** Where the HTTP proxy listens, e.g. http://127.0.0.1:8000. */
  address?: string;
  pid?: number;
  /** Epoch ms. */
  startedAt?: number;
  version?: string;
  /** Node-wide logical resources: what exists and what is not reserved. */
  resources?: { total: Record<string, number>; available: Record<string, number> };
  /** Replica threads that would not exit (see UnkillableThreadInfo); empty or absent when none. */
  unkillableThreads?: UnkillableThreadInfo[];
}

/** Cluster mode: one node as this node's membership table sees it. */
export interface ClusterNodeStatusInfo {
  id: string;
  /** ALIVE, SUSPECT, DRAINING or DEAD (from heartbeats). */
  state: string;
  /** Whether this node holds the leader lease (as its last heartbeat says). */
  leader: boolean;
  /** Its HTTP proxy, e.g. http://127.0.0.1:8001. */
  address?: string;
  resources: { total: Record<string, number>; available: Record<string, number> };
  labels?: Record<string, string>;
  /** Milliseconds since its last heartbeat. */
  lastSeenMsAgo?: number;
  /** Applications whose code differs on that node (not served there). */
  codeMismatch?: Array<{ app: string; expected: string; actual: string }>;
}

/** Cluster mode: who this node is and who leads. */
export interface ClusterStatusInfo {
  name: string;
  nodeId: string;
  /** The leader's node id, when one is known. */
  leader?: string;
  /** The placement's leader term (the lease revision). */
  term?: number;
  /** The NATS server this node is connected to now ("host:port"). */
  natsServer?: string;
}

export interface StatusSnapshot {
  runtime: RuntimeStatusInfo;
  applications: ApplicationStatusInfo[];
  /** Cluster mode only: every node this node knows of. */
  nodes?: ClusterNodeStatusInfo[];
  cluster?: ClusterStatusInfo;
}

export type StatusProvider = () => StatusSnapshot | Promise<StatusSnapshot>;
