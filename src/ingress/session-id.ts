// Legacy MCP session ids: 24 random bytes, then the id of the replica that minted the session
// ("<random>.<replica id, base64url>"). The owner in the id is what lets any cluster node's proxy
// pin a session it never saw to its replica without a shared table; the replica itself still
// checks the id and the identity bound to it, so naming an owner grants nothing. Pure: used by the
// replica (minting) and the proxy (reading the owner).

import { randomBytes } from "node:crypto";
import { replicaId, type ReplicaId } from "../runtime/ids.ts";

export function mintSessionId(owner?: string): string {
  const random = randomBytes(24).toString("base64url");
  return owner === undefined ? random : `${random}.${Buffer.from(owner, "utf8").toString("base64url")}`;
}

/** The replica a session id names, if it names one. */
export function sessionOwner(sessionId: string): ReplicaId | undefined {
  const dot = sessionId.indexOf(".");
  if (dot !== 32 || sessionId.length > 32 + 1 + 400) return undefined;
  const owner = Buffer.from(sessionId.slice(dot + 1), "base64url").toString("utf8");
  return owner.length > 0 ? replicaId(owner) : undefined;
}
