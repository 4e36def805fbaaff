// The cluster flags shared by `stingray start` and `stingray run` (--cluster, --cluster-name,
// --node-id, --labels, --cluster-kv-replicas) turned into validated cluster options. Imports no NATS.

import { parseLabels, parseServerList, resolveClusterOptions, type ResolvedClusterOptions } from "../cluster/options.ts";

export interface ClusterFlags {
  /** Comma-separated NATS URLs. */
  cluster?: string;
  clusterName?: string;
  nodeId?: string;
  /** "k=v,k2=v2". */
  labels?: string;
  /** JetStream replicas of the cluster's KV buckets. */
  clusterKvReplicas?: string;
}

/** Undefined without --cluster; throws InvalidOptionsError naming the bad flag. */
export function clusterFromFlags(flags: ClusterFlags): ResolvedClusterOptions | undefined {
  if (flags.cluster === undefined) return undefined;
  return resolveClusterOptions(
    {
      servers: parseServerList(flags.cluster),
      ...(flags.clusterName !== undefined ? { name: flags.clusterName } : {}),
      ...(flags.nodeId !== undefined ? { nodeId: flags.nodeId } : {}),
      ...(flags.labels !== undefined ? { labels: parseLabels(flags.labels) } : {}),
      ...(flags.clusterKvReplicas !== undefined ? { kvReplicas: Number(flags.clusterKvReplicas) } : {}),
    },
    "--cluster",
  );
}
