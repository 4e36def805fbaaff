// `auth.hideForbidden` on one SDK server built by the app's factory: tools/list, prompts/list and
// resources/list leave out what the caller may not use (the same rules the proxy enforces on
// calls, permissions.ts), so a client never offers its model a tool that would answer 403. The
// caller is the request's own AuthInfo (a session's later requests may carry other scopes).
//
// The SDK (2.4) has no public hook around McpServer's list handlers, so, as tasks-extension.ts
// does for tools/call, each handler is wrapped in place in the server's handler table.

import type { AuthInfo, McpServer, Server } from "@modelcontextprotocol/server";
import type { AuthTarget } from "../auth-options.ts";
import type { Permissions } from "../permissions.ts";
import { identityOf } from "./auth-info.ts";

type Handler = (request: unknown, ctx: { http?: { authInfo?: AuthInfo } }) => Promise<unknown>;

const LISTS: Array<{ method: string; field: string; kind: AuthTarget["kind"]; key: "name" | "uri" }> = [
  { method: "tools/list", field: "tools", kind: "tool", key: "name" },
  { method: "prompts/list", field: "prompts", kind: "prompt", key: "name" },
  { method: "resources/list", field: "resources", kind: "resource", key: "uri" },
];

/** Wraps the server's list handlers so their results hold only what the caller may use. */
export function hideForbidden<S extends McpServer | Server>(server: S, permissions: Permissions, authInfo: AuthInfo | undefined): S {
  const low = ((server as McpServer).server ?? server) as Server;
  const handlers = (low as unknown as { _requestHandlers?: unknown })._requestHandlers;
  if (!(handlers instanceof Map)) {
    throw new Error("stingray: cannot filter list results with this version of @modelcontextprotocol/server (no handler table; tested with 2.4)");
  }
  for (const list of LISTS) {
    const original = handlers.get(list.method) as Handler | undefined;
    if (typeof original !== "function") continue;
    handlers.set(list.method, (async (request, ctx) => {
      const result = (await original(request, ctx)) as Record<string, unknown> | undefined;
      const identity = identityOf(ctx?.http?.authInfo ?? authInfo);
      const entries = result?.[list.field];
      if (!identity || !Array.isArray(entries)) return result;
      const allowed = await Promise.all(
        entries.map((e: Record<string, unknown>) => {
          const name = e?.[list.key];
          return typeof name === "string" ? permissions.decide(identity, { kind: list.kind, name }).then((d) => d.ok) : true;
        }),
      );
      return { ...result, [list.field]: entries.filter((_e, i) => allowed[i]) };
    }) satisfies Handler);
  }
  return server;
}
