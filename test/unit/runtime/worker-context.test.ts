import { describe, expect, it } from "vitest";
import { CallScope, currentCallSignal, runInCallScope } from "../../../src/runtime/call-context.ts";
import { registerDeploymentClass } from "../../../src/deployments/registry.ts";
import { getReplicaContext } from "../../../src/runtime/replica-context.ts";
import { DEPLOYMENT_CLASS, collectMethods, resolveClass } from "../../../src/runtime/worker-entry.ts";

describe("call context", () => {
  it("has no signal outside a call", () => {
    expect(currentCallSignal()).toBeUndefined();
  });

  it("gives each call its own signal, across awaits", async () => {
    const a = new CallScope();
    const b = new CallScope();
    const seen = await Promise.all([
      runInCallScope(a, async () => {
        await new Promise((r) => setTimeout(r, 5));
        return currentCallSignal();
      }),
      runInCallScope(b, async () => currentCallSignal()),
    ]);
    expect(seen[0]).toBe(a.signal);
    expect(seen[1]).toBe(b.signal);
    a.abort(new Error("stop"));
    expect(seen[0]!.aborted).toBe(true);
    expect(seen[1]!.aborted).toBe(false);
  });

  it("follows an async generator between its items", async () => {
    const scope = new CallScope();
    async function* gen() {
      yield currentCallSignal()?.aborted;
      yield currentCallSignal()?.aborted;
    }
    const seen = await runInCallScope(scope, async () => {
      const out: unknown[] = [];
      for await (const v of gen()) {
        out.push(v);
        scope.abort(new Error("cancelled"));
      }
      return out;
    });
    expect(seen).toEqual([false, true]);
  });

  it("a signal first asked for after the abort is already aborted with the reason", () => {
    const scope = new CallScope();
    const reason = new Error("why");
    scope.abort(reason);
    expect(scope.signal.aborted).toBe(true);
    expect(scope.signal.reason).toBe(reason);
  });
});

describe("replica context", () => {
  it("throws a clear error outside a replica", () => {
    expect(() => getReplicaContext()).toThrow(/outside a replica/);
  });
});

describe("finding the replica's class", () => {
  class Svc {
    field = () => 1;
    a(): number {
      return 1;
    }
    init(): void {}
    get g(): number {
      throw new Error("getter invoked");
    }
  }
  class Marked {}
  Object.defineProperty(Marked, DEPLOYMENT_CLASS, { value: Marked });
  class Sub extends Svc {
    b(): number {
      return 2;
    }
  }

  it.each([
    ["a class export", { Svc }, "Svc", Svc],
    ["a wrapper", { dep: { [DEPLOYMENT_CLASS]: Svc } }, "dep", Svc],
    ["a wrapper of a wrapper", { app: { [DEPLOYMENT_CLASS]: { [DEPLOYMENT_CLASS]: Svc } } }, "app", Svc],
    ["a class marked with itself", { Marked }, "Marked", Marked],
  ])("resolves %s", (_name, mod, exportName, expected) => {
    expect(resolveClass(mod as Record<string, unknown>, exportName, "/m.ts")).toBe(expected);
  });

  it("falls back to the deployment registry", () => {
    class OnlyRegistered {}
    registerDeploymentClass("OnlyRegisteredForTest", OnlyRegistered);
    expect(resolveClass({}, "OnlyRegisteredForTest", "/m.ts")).toBe(OnlyRegistered);
  });

  it.each([
    [{}, "Missing", 'cannot find class "Missing" in /m.ts: no such export'],
    [{ n: 1 }, "n", "the export is a number, not a class"],
  ])("explains what is wrong: %j %s", (mod, exportName, message) => {
    expect(() => resolveClass(mod, exportName, "/m.ts")).toThrow(message);
  });

  it("collects methods along the prototype chain without invoking getters", () => {
    expect([...collectMethods(new Sub())].sort()).toEqual(["a", "b", "field"]);
  });
});
