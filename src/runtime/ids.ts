// Branded identifiers, so a replica id can't be passed where a deployment name is expected.

export type ReplicaId = string & { readonly __brand: "ReplicaId" };

export function replicaId(value: string): ReplicaId {
  return value as ReplicaId;
}

/** Names a deployment inside an application. */
export interface DeploymentId {
  readonly app: string;
  readonly deployment: string;
}

export function deploymentKey(id: DeploymentId): string {
  return `${id.app}#${id.deployment}`;
}
