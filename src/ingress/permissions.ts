// Per-tool authorization (`auth.scopes`, `auth.authorize`): which scopes a tool, prompt or
// resource needs, whether an identity may use it, and what an MCP message asks to use. The proxy
// checks every tools/call, prompts/get and resources/read|subscribe (and completion refs) before
// a replica sees it — the same for both eras, since the proxy parses the body either way; the
// replica uses the same rules to leave forbidden entries out of the list results.

import type { AuthIdentity } from "../runtime/http-message.ts";
import type { AuthOptions, AuthTarget, ScopeRules } from "./auth-options.ts";

export type PermissionDecision = { ok: true } | { ok: false; target: AuthTarget; requiredScopes: string[] };

interface CompiledRules {
  exact: Map<string, string[]>;
  /** Prefix rules (keys ending in "*"), longest prefix first. */
  prefixes: Array<{ prefix: string; scopes: string[] }>;
}

const KINDS = { tool: "tools", prompt: "prompts", resource: "resources" } as const;

export class Permissions {
  readonly #rules: Record<AuthTarget["kind"], CompiledRules>;
  readonly #authorize: AuthOptions["authorize"];
  readonly #hideForbidden: boolean;

  constructor(options: Pick<AuthOptions, "scopes" | "authorize" | "hideForbidden">) {
    const scopes: ScopeRules = options.scopes ?? {};
    this.#rules = {
      tool: compile(scopes[KINDS.tool]),
      prompt: compile(scopes[KINDS.prompt]),
      resource: compile(scopes[KINDS.resource]),
    };
    this.#authorize = options.authorize;
    this.#hideForbidden = options.hideForbidden ?? true;
  }

  /** Whether any rule or predicate is configured (nothing to check otherwise). */
  get active(): boolean {
    return this.#authorize !== undefined || Object.values(this.#rules).some((r) => r.exact.size > 0 || r.prefixes.length > 0);
  }

  /** Whether list results leave out what the caller may not use. */
  get hidesForbidden(): boolean {
    return this.#hideForbidden && this.active;
  }

  /** Every scope some rule names (for `scopes_supported` in the RFC 9728 metadata). */
  allScopes(): string[] {
    const all = new Set<string>();
    for (const r of Object.values(this.#rules)) {
      for (const s of r.exact.values()) s.forEach((x) => all.add(x));
      for (const p of r.prefixes) p.scopes.forEach((x) => all.add(x));
    }
    return [...all];
  }

  requiredScopes(target: AuthTarget): string[] {
    const rules = this.#rules[target.kind];
    const exact = rules.exact.get(target.name);
    if (exact) return exact;
    for (const p of rules.prefixes) if (target.name.startsWith(p.prefix)) return p.scopes;
    return [];
  }

  async decide(identity: AuthIdentity, target: AuthTarget): Promise<PermissionDecision> {
    const required = this.requiredScopes(target);
    if (!required.every((s) => identity.scopes.includes(s))) return { ok: false, target, requiredScopes: required };
    if (this.#authorize && !(await this.#authorize(identity, target))) return { ok: false, target, requiredScopes: required };
    return { ok: true };
  }

  /** The first target of `targets` the identity may not use, or ok. */
  async decideAll(identity: AuthIdentity, targets: AuthTarget[]): Promise<PermissionDecision> {
    for (const t of targets) {
      const d = await this.decide(identity, t);
      if (!d.ok) return d;
    }
    return { ok: true };
  }
}

function compile(map: Record<string, string[]> | undefined): CompiledRules {
  const exact = new Map<string, string[]>();
  const prefixes: CompiledRules["prefixes"] = [];
  for (const [key, scopes] of Object.entries(map ?? {})) {
    if (key.endsWith("*")) prefixes.push({ prefix: key.slice(0, -1), scopes });
    else exact.set(key, scopes);
  }
  prefixes.sort((a, b) => b.prefix.length - a.prefix.length);
  return { exact, prefixes };
}

/** What one JSON-RPC body (a message or a batch) asks to use. */
export function targetsOf(body: unknown): AuthTarget[] {
  const out: AuthTarget[] = [];
  for (const m of Array.isArray(body) ? body : [body]) {
    const t = targetOf(m);
    if (t) out.push(t);
  }
  return out;
}

function targetOf(message: unknown): AuthTarget | undefined {
  if (typeof message !== "object" || message === null) return undefined;
  const { method, params } = message as { method?: unknown; params?: Record<string, unknown> };
  if (typeof method !== "string" || typeof params !== "object" || params === null) return undefined;
  const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
  switch (method) {
    case "tools/call": {
      const name = str(params.name);
      return name === undefined ? undefined : { kind: "tool", name };
    }
    case "prompts/get": {
      const name = str(params.name);
      return name === undefined ? undefined : { kind: "prompt", name };
    }
    case "resources/read":
    case "resources/subscribe":
    case "resources/unsubscribe": {
      const uri = str(params.uri);
      return uri === undefined ? undefined : { kind: "resource", name: uri };
    }
    case "completion/complete": {
      const ref = params.ref as { type?: unknown; name?: unknown; uri?: unknown } | undefined;
      if (ref?.type === "ref/prompt" && typeof ref.name === "string") return { kind: "prompt", name: ref.name };
      if (ref?.type === "ref/resource" && typeof ref.uri === "string") return { kind: "resource", name: ref.uri };
      return undefined;
    }
    default:
      return undefined;
  }
}
