import { describe, expect, it } from "vitest";
import { ErrorCode } from "../../../src/errors.ts";
import { buildApplicationPlan } from "../../../src/deployments/app-graph.ts";
import { bind, deployment, deploymentOf } from "../../../src/deployments/decorator.ts";
import { HANDLE_REF_KEY } from "../../../src/deployments/handle-ref.ts";
import type { DeploymentHandle } from "../../../src/deployments/handle.ts";

@deployment({ numReplicas: 1 })
class Leaf {
  constructor(readonly n: number) {}
  get(): number {
    return this.n;
  }
}

@deployment()
class Pair {
  constructor(
    readonly a: DeploymentHandle<Leaf>,
    readonly opts: { b: DeploymentHandle<Leaf>; list: DeploymentHandle<Leaf>[] },
  ) {}
}

describe("application graph", () => {
  it("flattens nested bound deployments into handle references, ingress last", () => {
    const leaf = bind(Leaf, 1);
    const other = deploymentOf(Leaf).options({ name: "Leaf2" }).bind(2);
    const plan = buildApplicationPlan(bind(Pair, leaf, { b: other, list: [leaf] }), "app1");
    expect(plan.ingress).toBe("Pair");
    expect(plan.deployments.map((d) => d.name)).toEqual(["Leaf", "Leaf2", "Pair"]);
    expect(plan.deployments[0]!.initArgs).toEqual([1]);
    const ref = (name: string) => ({ [HANDLE_REF_KEY]: { app: "app1", deployment: name } });
    expect(plan.deployments[2]!.initArgs).toEqual([ref("Leaf"), { b: ref("Leaf2"), list: [ref("Leaf")] }]);
    // Structured-clone safe, as it must cross into a worker.
    expect(structuredClone(plan.deployments[2]!.initArgs)).toEqual(plan.deployments[2]!.initArgs);
  });

  it("rejects two different bound deployments with one name", () => {
    const err = (() => {
      try {
        buildApplicationPlan(bind(Pair, bind(Leaf, 1), { b: bind(Leaf, 2), list: [] }), "app1");
      } catch (e) {
        return e as { code: string; message: string };
      }
    })();
    expect(err?.code).toBe(ErrorCode.INVALID_OPTIONS);
    expect(err?.message).toMatch(/two different bound deployments are named "Leaf"/);
  });

  it("rejects something that is not an application", () => {
    expect(() => buildApplicationPlan(deploymentOf(Leaf) as never, "x")).toThrow(/call .bind/);
  });
});
