// Cluster-mode options (`serve.start({ cluster })`, `stingray start --cluster …`), validated with
// zod at the edge. This module never imports NATS: it is read by single-node code paths too.

import os from "node:os";
import { randomBytes } from "node:crypto";
import * as z from "zod";
import { InvalidOptionsError } from "../errors.ts";

export interface ClusterOptions {
  /** NATS server URLs, e.g. ["nats://h1:4222", "nats://h2:4222"]. */
  servers: string[];
  /** Cluster name: the KV buckets and subjects are namespaced by it; default "stingray". */
  name?: string;
  /** This node's id; default `<hostname>-<pid>-<random>`. */
  nodeId?: string;
  /** Labels deployments can select nodes by, e.g. { zone: "a" }. */
  labels?: Record<string, string>;
  /**
   * Copies of the cluster's KV buckets (JetStream replicas, 1–5) when this node creates them:
   * default 3 when 3 or more servers are listed (a clustered JetStream that survives one server
   * dying), else 1.
   */
  kvReplicas?: number;
}

export interface ResolvedClusterOptions {
  servers: string[];
  name: string;
  nodeId: string;
  labels: Record<string, string>;
  kvReplicas: number;
}

// NATS subject tokens and KV bucket names allow these safely.
const token = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "letters, digits, '_' or '-' (1–64 characters)");
const server = z.string().regex(/^(nats|tls|wss?):\/\/[^\s,]+$/, 'a NATS URL like "nats://host:4222"');

const schema = z.strictObject({
  servers: z.array(server).min(1, "at least one NATS server URL"),
  name: token.optional(),
  nodeId: token.optional(),
  labels: z.record(z.string().regex(/^[A-Za-z0-9_.\/-]{1,63}$/, "a label key"), z.string().max(63)).optional(),
  kvReplicas: z.number().int().min(1).max(5).optional(),
});

export function resolveClusterOptions(input: unknown, where = "cluster"): ResolvedClusterOptions {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const at = issue.path.length ? `${where}.${issue.path.join(".")}` : where;
    throw new InvalidOptionsError(`${at}: ${issue.message}`);
  }
  const o = parsed.data;
  return {
    servers: o.servers,
    name: o.name ?? "stingray",
    nodeId: o.nodeId ?? defaultNodeId(),
    labels: { ...(o.labels ?? {}) },
    kvReplicas: o.kvReplicas ?? (o.servers.length >= 3 ? 3 : 1),
  };
}

/** `--cluster nats://a:4222,nats://b:4222` → URLs. */
export function parseServerList(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** `--labels zone=a,gpu=a100` → { zone: "a", gpu: "a100" }. */
export function parseLabels(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of value.split(",").map((s) => s.trim()).filter(Boolean)) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new InvalidOptionsError(`--labels: expected key=value, got "${pair}"`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

function defaultNodeId(): string {
  const host = os.hostname().replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 32) || "node";
  return `${host}-${process.pid}-${randomBytes(2).toString("hex")}`;
}
