// What `@ingress(...)` attaches to a deployment class. The definition is used on both sides:
// in the main thread the proxy reads its HTTP options (MCP path, sessions, auth); in the worker,
// `createHandler` builds the replica's fetch handler once per replica instance.

import type { AuthIdentity } from "../runtime/http-message.ts";

export type FetchHandler = (request: Request, context: IngressRequestContext) => Promise<Response>;

export interface IngressRequestContext {
  /** Aborted when the client disconnects or the request times out. */
  signal: AbortSignal;
  auth?: AuthIdentity;
  requestId?: string;
}

export interface IngressDefinition {
  kind: "mcp" | "fetch";
  /** Builds the replica's handler; `instance` is the user's class instance in the worker. */
  createHandler(instance: object): FetchHandler | Promise<FetchHandler>;
  /** Options the proxy applies in the main thread (shape owned by the ingress that defines it). */
  proxyOptions: Record<string, unknown>;
  /**
   * The handler reads only method, URL, headers and signal before it needs the body, and never
   * hands the Request to `fetch`/`new Request`: the replica may then build it on demand
   * (src/ingress/lazy-request.ts). True for mcpApp; fetchApp handlers get a full Request.
   */
  lazyRequest?: boolean;
}

export const INGRESS = Symbol.for("stingray.ingress");
