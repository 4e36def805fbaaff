import { describe, expect, expectTypeOf, it } from "vitest";
import { fileURLToPath } from "node:url";
import { ErrorCode } from "../../../src/errors.ts";
import { bind, deployment, deploymentOf } from "../../../src/deployments/decorator.ts";
import { Application, Deployment } from "../../../src/deployments/deployment.ts";
import { findDeploymentClass } from "../../../src/deployments/registry.ts";
import type { DeploymentHandle } from "../../../src/deployments/handle.ts";

@deployment({ numReplicas: 2, maxOngoingRequests: 3 })
class Multiplier {
  constructor(readonly factor: number) {}
  multiply(x: number): number {
    return x * this.factor;
  }
}

@deployment
class Bare {
  hello(): string {
    return "hi";
  }
}

@deployment({ autoscalingConfig: { minReplicas: 0, maxReplicas: 3 } })
class Adder {
  constructor(
    readonly multiplier: DeploymentHandle<Multiplier>,
    readonly n: number,
  ) {}
  async add(x: number): Promise<number> {
    return (await this.multiplier.multiply.remote(x)) + this.n;
  }
}

const THIS_FILE = fileURLToPath(import.meta.url);

describe("@deployment", () => {
  it("records options, name and the declaring module", () => {
    const d = deploymentOf(Multiplier);
    expect(d).toBeInstanceOf(Deployment);
    expect(d.name).toBe("Multiplier");
    expect(d.className).toBe("Multiplier");
    expect(d.modulePath).toBe(THIS_FILE);
    expect(d.declaredOptions).toEqual({ numReplicas: 2, maxOngoingRequests: 3 });
    expect(d.config.numReplicas).toBe(2);
    expect(d.cls).toBe(Multiplier);
  });

  it("works bare, without parentheses", () => {
    expect(deploymentOf(Bare).config.numReplicas).toBe(1);
    expect(deploymentOf(Bare).modulePath).toBe(THIS_FILE);
  });

  it("registers the class by name for worker threads", () => {
    expect(findDeploymentClass("Multiplier")).toBe(Multiplier);
    expect(findDeploymentClass("Adder")).toBe(Adder);
  });

  it("throws at declaration time for an unknown option, naming it", () => {
    let err: { code?: string; message?: string } = {};
    try {
      // @ts-expect-error numReplica is not an option
      deployment({ numReplica: 2 });
    } catch (e) {
      err = e as typeof err;
    }
    expect(err.code).toBe(ErrorCode.INVALID_OPTIONS);
    expect(err.message).toMatch(/unknown option "numReplica"/);
  });

  it("throws when numReplicas and autoscalingConfig are both given", () => {
    expect(() => deployment({ numReplicas: 1, autoscalingConfig: {} })).toThrow(/mutually exclusive/);
  });

  it("adds Ray-style statics at run time", () => {
    const statics = Multiplier as unknown as {
      bind: (...a: unknown[]) => Application;
      options: (o: object) => Deployment;
      deploymentName: string;
    };
    const app = statics.bind(4);
    expect(app).toBeInstanceOf(Application);
    expect(app.args).toEqual([4]);
    expect(statics.options({ numReplicas: 5 }).config.numReplicas).toBe(5);
    expect(statics.deploymentName).toBe("Multiplier");
  });

  it(".options() returns a new deployment and leaves the original alone", () => {
    const d = deploymentOf(Multiplier);
    const renamed = d.options({ name: "Doubler", numReplicas: 1 });
    expect(renamed).not.toBe(d);
    expect(renamed.name).toBe("Doubler");
    expect(renamed.className).toBe("Multiplier");
    expect(renamed.config.numReplicas).toBe(1);
    expect(d.name).toBe("Multiplier");
    expect(d.config.numReplicas).toBe(2);
    expect(() => d.options({ maxOngoingRequests: -3 })).toThrow(/Multiplier.options\(\): invalid option "maxOngoingRequests"/);
  });

  it("deploymentOf(Cls, options) applies options to a decorated class", () => {
    expect(deploymentOf(Multiplier, { numReplicas: 4 }).config.numReplicas).toBe(4);
  });

  it("types bind() arguments from the constructor, accepting bound deployments for handles", () => {
    const app = bind(Adder, bind(Multiplier, 2), 3);
    expectTypeOf(app).toEqualTypeOf<Application<Adder>>();
    expect(app.args[0]).toBeInstanceOf(Application);
    // @ts-expect-error a string is not a number
    bind(Multiplier, "2");
    // @ts-expect-error Adder needs a bound Multiplier, not a number
    bind(Adder, 1, 3);
  });
});
