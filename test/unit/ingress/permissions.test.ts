// Per-tool authorization rules as a table: exact names, prefix rules (longest wins), the
// predicate, and what a JSON-RPC body asks to use.

import { describe, expect, it } from "vitest";
import { Permissions, targetsOf } from "../../../src/ingress/permissions.ts";

const rules = new Permissions({
  scopes: {
    tools: { get_alerts: ["weather:read"], "admin_*": ["admin"], admin_audit: ["audit"], "*": ["mcp"] },
    prompts: { summarize: ["weather:read"] },
    resources: { "weather://alerts/*": ["weather:read"] },
  },
  authorize: (identity, target) => !(target.kind === "tool" && target.name === "admin_audit" && identity.subject === "mallory"),
});

describe("Permissions", () => {
  it.each([
    [{ kind: "tool", name: "get_alerts" }, ["weather:read"]],
    [{ kind: "tool", name: "admin_reset" }, ["admin"]],
    [{ kind: "tool", name: "admin_audit" }, ["audit"]],
    [{ kind: "tool", name: "echo" }, ["mcp"]],
    [{ kind: "prompt", name: "summarize" }, ["weather:read"]],
    [{ kind: "prompt", name: "other" }, []],
    [{ kind: "resource", name: "weather://alerts/CA" }, ["weather:read"]],
    [{ kind: "resource", name: "weather://forecast/CA" }, []],
  ] as const)("%o needs %o", (target, scopes) => {
    expect(rules.requiredScopes(target)).toEqual(scopes);
  });

  it("decides on scopes first, then the predicate", async () => {
    const reader = { clientId: "app", subject: "ann", scopes: ["mcp", "weather:read", "audit"] };
    expect(await rules.decide(reader, { kind: "tool", name: "get_alerts" })).toEqual({ ok: true });
    expect(await rules.decide(reader, { kind: "tool", name: "admin_reset" })).toMatchObject({ ok: false, requiredScopes: ["admin"] });
    expect(await rules.decide(reader, { kind: "tool", name: "admin_audit" })).toEqual({ ok: true });
    expect(await rules.decide({ ...reader, subject: "mallory" }, { kind: "tool", name: "admin_audit" })).toMatchObject({ ok: false, requiredScopes: ["audit"] });
  });

  it("lists every scope the rules name, and is inactive without rules", () => {
    expect(rules.allScopes().sort()).toEqual(["admin", "audit", "mcp", "weather:read"]);
    expect(new Permissions({}).active).toBe(false);
    expect(new Permissions({ authorize: () => true }).active).toBe(true);
    expect(new Permissions({ scopes: { tools: { x: ["y"] } }, hideForbidden: false }).hidesForbidden).toBe(false);
  });

  it("finds what a message or a batch asks to use", () => {
    const call = (method: string, params: object) => ({ jsonrpc: "2.0", id: 1, method, params });
    expect(targetsOf(call("tools/call", { name: "get_alerts", arguments: {} }))).toEqual([{ kind: "tool", name: "get_alerts" }]);
    expect(targetsOf(call("prompts/get", { name: "summarize" }))).toEqual([{ kind: "prompt", name: "summarize" }]);
    expect(targetsOf(call("resources/read", { uri: "weather://alerts/CA" }))).toEqual([{ kind: "resource", name: "weather://alerts/CA" }]);
    expect(targetsOf(call("completion/complete", { ref: { type: "ref/prompt", name: "summarize" } }))).toEqual([{ kind: "prompt", name: "summarize" }]);
    expect(targetsOf(call("tools/list", {}))).toEqual([]);
    expect(targetsOf([call("resources/subscribe", { uri: "u" }), call("tools/call", { name: "t" })])).toEqual([
      { kind: "resource", name: "u" },
      { kind: "tool", name: "t" },
    ]);
  });
});
