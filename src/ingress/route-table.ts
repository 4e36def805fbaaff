// The proxy's route table: which application serves a path (longest route prefix wins, matching
// whole path segments), plus per-route state built once per route — the normalized ingress
// options, the bearer-auth checker, the Host/Origin allow-lists — and rebuilt only when the
// dispatcher's routes change.

import type { AppRoute } from "./types.ts";
import { BearerAuth } from "./auth.ts";
import { isLoopbackHost, localhostNames } from "./hygiene.ts";
import { DEFAULT_MAX_BODY_BYTES, type FetchProxyOptions, type McpProxyOptions } from "./options.ts";

export interface CompiledRoute {
  route: AppRoute;
  kind: "mcp" | "fetch";
  /** MCP only: the endpoint's full path (prefix + options.path). */
  mcpPath?: string;
  mcp?: McpProxyOptions;
  maxBodyBytes: number;
  requestTimeoutMs?: number;
  allowedHosts?: string[];
  allowedOrigins: string[];
  auth?: BearerAuth;
}

export interface RouteDefaults {
  bindHost: string;
  allowedHosts?: string[];
  allowedOrigins?: string[];
}

export class RouteTable {
  readonly #defaults: RouteDefaults;
  #key = "";
  #compiled: CompiledRoute[] = [];
  // Built per AppRoute object: a redeploy gives a new route object, so options are re-read then.
  readonly #cache = new WeakMap<AppRoute, CompiledRoute>();

  constructor(defaults: RouteDefaults) {
    this.#defaults = defaults;
  }

  /** Re-sorts only when the set of routes changed. */
  update(routes: AppRoute[]): CompiledRoute[] {
    const key = routes.map((r) => `${r.appName}\u0000${r.routePrefix}`).join("\u0001");
    if (key === this.#key && routes.every((r, i) => this.#compiled[i]?.route === r)) return this.#compiled;
    const compiled = routes.map((r) => this.#compile(r));
    // Longest prefix first, so "/a/b" wins over "/a" and "/" is the last resort.
    compiled.sort((a, b) => b.route.routePrefix.length - a.route.routePrefix.length);
    this.#key = key;
    this.#compiled = compiled;
    return compiled;
  }

  match(routes: AppRoute[], path: string): CompiledRoute | undefined {
    for (const c of this.update(routes)) {
      const prefix = c.route.routePrefix;
      if (prefix === "/" || path === prefix || path.startsWith(prefix + "/")) return c;
    }
    return undefined;
  }

  #compile(route: AppRoute): CompiledRoute {
    const cached = this.#cache.get(route);
    if (cached) return cached;
    const o = route.ingress.proxyOptions as Partial<McpProxyOptions & FetchProxyOptions>;
    const defaultHosts = this.#defaults.allowedHosts ?? (isLoopbackHost(this.#defaults.bindHost) ? localhostNames() : undefined);
    const allowedHosts = o.allowedHosts ?? defaultHosts;
    const compiled: CompiledRoute = {
      route,
      kind: route.ingress.kind,
      maxBodyBytes: o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      requestTimeoutMs: o.requestTimeoutMs,
      allowedHosts,
      allowedOrigins: o.allowedOrigins ?? this.#defaults.allowedOrigins ?? [...localhostNames(), ...(allowedHosts ?? [])],
      auth: o.auth ? new BearerAuth(o.auth) : undefined,
    };
    if (route.ingress.kind === "mcp") {
      compiled.mcp = route.ingress.proxyOptions as McpProxyOptions;
      const base = route.routePrefix === "/" ? "" : route.routePrefix;
      compiled.mcpPath = `${base}${compiled.mcp.path ?? "/mcp"}`;
    }
    this.#cache.set(route, compiled);
    return compiled;
  }
}
