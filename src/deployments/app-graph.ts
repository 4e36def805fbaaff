// Flattens an application graph (an Application whose arguments may hold other Applications)
// into the list of deployments to run. Nested Applications become handle references in the
// init args, so a replica receives a DeploymentHandle where the user bound a deployment.

import { InvalidOptionsError } from "../errors.ts";
import { isApplication, type Application, type Deployment } from "./deployment.ts";
import { handleRef, isPlainContainer } from "./handle-ref.ts";

export interface DeploymentPlan {
  name: string;
  deployment: Deployment;
  /** Constructor arguments with bound deployments replaced by handle references. */
  initArgs: unknown[];
}

export interface ApplicationPlan {
  appName: string;
  /** The deployment HTTP traffic and `serve.run`'s handle go to. */
  ingress: string;
  /** Dependencies before dependents; the ingress is last. */
  deployments: DeploymentPlan[];
}

export function buildApplicationPlan(app: Application, appName: string): ApplicationPlan {
  if (!isApplication(app)) {
    throw new InvalidOptionsError("serve.run expects an application: call .bind(...) on a deployment (or bind(Cls, ...))");
  }
  const byApp = new Map<Application, string>();
  const byName = new Map<string, Application>();
  const plans: DeploymentPlan[] = [];

  const visit = (node: Application, stack: Application[]): string => {
    const known = byApp.get(node);
    if (known !== undefined) return known;
    if (stack.includes(node)) throw new InvalidOptionsError(`application ${appName}: bound deployments form a cycle`);
    const name = node.deployment.name;
    const clash = byName.get(name);
    if (clash !== undefined && clash !== node) {
      throw new InvalidOptionsError(
        `application ${appName}: two different bound deployments are named "${name}"; give one another name with .options({ name })`,
      );
    }
    const initArgs = node.args.map((a) => replace(a, [...stack, node]));
    byApp.set(node, name);
    byName.set(name, node);
    plans.push({ name, deployment: node.deployment, initArgs });
    return name;
  };

  const replace = (value: unknown, stack: Application[]): unknown => {
    if (isApplication(value)) return handleRef({ app: appName, deployment: visit(value, stack) });
    if (Array.isArray(value)) return value.map((v) => replace(v, stack));
    if (isPlainContainer(value)) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = replace(v, stack);
      return out;
    }
    return value;
  };

  const ingress = visit(app, []);
  return { appName, ingress, deployments: plans };
}
