// The proxy's route table: which application serves a path (longest route prefix wins, matching
// whole path segments), plus per-route state built once per route — the normalized ingress
// options, the bearer-auth checker, the rate limiter, the Host/Origin allow-lists — and rebuilt only when the
// dispatcher's routes change.

import type { AppRoute } from "./types.ts";
import { BearerAuth } from "./auth.ts";
import { isLoopbackHost, localhostNames } from "./hygiene.ts";
import { RateLimiter } from "./rate-limit.ts";
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
  /** Per-caller token buckets (`rateLimit`). */
  rateLimit?: RateLimiter;
}

export interface RouteDefaults {
  bindHost: string;
  allowedHosts?: string[];
  allowedOrigins?: string[];
}

export class RouteTable {
  readonly #defaults: RouteDefaults;
  #compiled: CompiledRoute[] = [];
  // Per ingress definition (stable: a class static) and app/prefix. The dispatcher may hand out
  // fresh AppRoute objects on every call, so object identity of the route cannot be the key.
  readonly #cache = new WeakMap<object, Map<string, CompiledRoute>>();

  constructor(defaults: RouteDefaults) {
    this.#defaults = defaults;
  }

  /** Recompiles and re-sorts only when the set of routes changed (checked without allocating). */
  update(routes: AppRoute[]): CompiledRoute[] {
    if (this.#same(routes)) return this.#compiled;
    const compiled = routes.map((r) => this.#compile(r));
    // Longest prefix first, so "/a/b" wins over "/a" and "/" is the last resort.
    compiled.sort((a, b) => b.route.routePrefix.length - a.route.routePrefix.length);
    this.#compiled = compiled;
    return compiled;
  }

  #same(routes: AppRoute[]): boolean {
    if (routes.length !== this.#compiled.length) return false;
    for (const r of routes) {
      if (!this.#compiled.some((c) => sameRoute(c.route, r))) return false;
    }
    return true;
  }

  match(routes: AppRoute[], path: string): CompiledRoute | undefined {
    for (const c of this.update(routes)) {
      const prefix = c.route.routePrefix;
      if (prefix === "/" || path === prefix || path.startsWith(prefix + "/")) return c;
    }
    return undefined;
  }

  #compile(route: AppRoute): CompiledRoute {
    let byKey = this.#cache.get(route.ingress);
    if (!byKey) this.#cache.set(route.ingress, (byKey = new Map()));
    const key = `${route.appName}\u0000${route.routePrefix}`;
    const cached = byKey.get(key);
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
      rateLimit: o.rateLimit ? new RateLimiter(o.rateLimit) : undefined,
    };
    if (route.ingress.kind === "mcp") {
      compiled.mcp = route.ingress.proxyOptions as McpProxyOptions;
      const base = route.routePrefix === "/" ? "" : route.routePrefix;
      compiled.mcpPath = `${base}${compiled.mcp.path ?? "/mcp"}`;
    }
    byKey.set(key, compiled);
    return compiled;
  }
}

function sameRoute(a: AppRoute, b: AppRoute): boolean {
  return a === b || (a.ingress === b.ingress && a.appName === b.appName && a.routePrefix === b.routePrefix);
}
