// `mcpApp(factory, options)`: the MCP ingress. Serves MCP Streamable HTTP at <prefix>/mcp from a
// per-request server factory, with the SDK v2:
// - 2026-07-28 (stateless, server/discover, Mcp-Method/Mcp-Name checked against the body) through
//   `createMcpHandler`;
// - 2025 revisions (2025-11-25 back to 2024-11-05) statelessly by default (the same handler's
//   legacy leg), or, with `sessions`, through per-session SDK transports that the proxy pins to
//   one replica (see src/ingress/mcp/session-host.ts).
//
// The factory: `(ctx: McpFactoryContext) => McpServer | Server | Promise<…>`.
// - `ctx.instance` is the replica's instance of the decorated class, so tools reach state loaded in
//   its constructor and the deployment handles passed to it.
// - `ctx.era` is "modern" (2026-07-28) or "legacy" (2025 revisions).
// - `ctx.auth` is the authenticated identity (clientId, scopes; never the token) when the app has
//   auth; tools also see it as `ctx.http.authInfo` (with an empty `token`).
// - `ctx.requestId` is the proxy's request id (X-Request-ID).
// - `ctx.events` is the change-event bus of 2026-07-28 `subscriptions/listen` streams: publish
//   `{ kind: "tools_list_changed" }` (etc.) and every replica's listen streams hear it.
// It runs once per request, and once per session (at initialize, and again whenever the session
// wakes from hibernation: `ctx.session`) when sessions are on. Never
// share one McpServer between calls: the SDK forbids it (CVE-2026-25536).

import type { McpServer, Server, ServerEventBus } from "@modelcontextprotocol/server";
import { parseMcpAppOptions, type McpAppOptions, type McpProxyOptions } from "../ingress/options.ts";
import type { AuthIdentity } from "../runtime/http-message.ts";
import type { IngressDefinition } from "./ingress-definition.ts";

export type { McpAppOptions, McpProxyOptions } from "../ingress/options.ts";

export interface McpFactoryContext<T extends object = object> {
  /** The replica's instance of the class decorated with `@ingress(mcpApp(...))`. */
  instance: T;
  era: "legacy" | "modern";
  auth?: AuthIdentity;
  requestId?: string;
  /** The HTTP request being served (for sessions: the initialize request). */
  request?: Request;
  /** Publish change events here for `subscriptions/listen` streams (all replicas hear them). */
  events: ServerEventBus;
  /**
   * With `sessions`: the legacy session this server is built for. `restored` is true when an idle
   * session wakes from hibernation (its earlier server was dropped): per-session state kept in
   * the factory's closure is gone, so keep what must survive keyed by `id` on the instance.
   */
  session?: { id: string; restored: boolean };
}

export type McpFactory<T extends object = object> = (
  ctx: McpFactoryContext<T>,
) => McpServer | Server | Promise<McpServer | Server>;

export interface McpIngressDefinition extends IngressDefinition {
  kind: "mcp";
  proxyOptions: McpProxyOptions;
}

export const REQUEST_ID_HEADER = "x-request-id";

export function mcpApp<T extends object = object>(factory: McpFactory<T>, options?: McpAppOptions): McpIngressDefinition {
  if (typeof factory !== "function") {
    throw new TypeError("mcpApp(factory): factory must be a function (ctx) => McpServer");
  }
  const proxyOptions = parseMcpAppOptions(options);
  return {
    kind: "mcp",
    proxyOptions,
    // The SDK's handler reads method, headers and signal, and gets the body parsed (parsedBodyOf).
    lazyRequest: true,
    // The MCP SDK loads with the handler, in the replicas that serve MCP, so importing "stingray"
    // for a plain deployment never loads it (measured per plain replica thread: 29 → 23 MiB idle,
    // start 0.7–1.2 → 0.35–0.53 s).
    createHandler: async (instance) => {
      const { createMcpFetchHandler } = await import("../ingress/mcp/fetch-handler.ts");
      return createMcpFetchHandler(factory as McpFactory, instance, proxyOptions);
    },
  };
}
