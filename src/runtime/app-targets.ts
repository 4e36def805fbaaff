// Turns an application plan (from the bind graph) into the controller's goal: one
// DeploymentTarget per deployment, each with a code version. The version covers what a replica is
// built from — the declaring module's source, the class, the init args and the replica-shaping
// options — so redeploying edited code or changed options rolls replicas, while a change of
// numReplicas/autoscaling only rescales and a userConfig change is applied in place.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { serialize } from "node:v8";
import { InvalidOptionsError } from "../errors.ts";
import type { ApplicationPlan, DeploymentPlan } from "../deployments/app-graph.ts";
import { INGRESS, type IngressDefinition } from "../deployments/ingress-definition.ts";
import type { ApplicationSpec } from "./controller.ts";
import type { DeploymentTarget } from "./deployment-state.ts";

export function applicationSpec(plan: ApplicationPlan, routePrefix: string | null): ApplicationSpec {
  const deployments = plan.deployments.map((d) => deploymentTarget(plan.appName, d));
  const ingressPlan = plan.deployments.find((d) => d.name === plan.ingress)!;
  const definition = (ingressPlan.deployment.cls as unknown as { [INGRESS]?: IngressDefinition })[INGRESS];
  const spec: ApplicationSpec = { name: plan.appName, routePrefix, ingress: plan.ingress, deployments };
  if (definition) spec.ingressDefinition = definition;
  return spec;
}

function deploymentTarget(app: string, plan: DeploymentPlan): DeploymentTarget {
  const d = plan.deployment;
  const config = d.config;
  let args: Buffer;
  try {
    args = serialize(plan.initArgs);
  } catch (err) {
    throw new InvalidOptionsError(
      `the arguments bound to ${plan.name} must be structured-clone safe (plain data or bound deployments): ${(err as Error).message}`,
      { cause: err },
    );
  }
  const hash = createHash("sha256");
  hash.update(d.modulePath).update("\0").update(sourceDigest(d.modulePath)).update("\0").update(d.className).update("\0");
  hash.update(args);
  // The actor enforces both limits itself, so changing one replaces the replicas.
  hash.update(
    JSON.stringify({
      actor: config.actorOptions,
      maxOngoingRequests: config.maxOngoingRequests,
      maxOngoingStreams: config.maxOngoingStreams,
    }),
  );
  return {
    id: { app, deployment: plan.name },
    modulePath: d.modulePath,
    exportName: d.className,
    initArgs: plan.initArgs,
    config,
    codeVersion: hash.digest("hex").slice(0, 16),
  };
}

function sourceDigest(modulePath: string): string {
  try {
    return createHash("sha256").update(readFileSync(modulePath)).digest("hex");
  } catch {
    // Unreadable (e.g. a virtual module): the path alone identifies the code.
    return "unreadable";
  }
}

/** "/", or "/a/b" without a trailing slash; null keeps the app off HTTP. */
export function normalizeRoutePrefix(prefix: string | null | undefined): string | null {
  if (prefix === null) return null;
  const p = prefix ?? "/";
  if (typeof p !== "string" || !p.startsWith("/")) {
    throw new InvalidOptionsError(`routePrefix must start with "/", got ${JSON.stringify(p)}`);
  }
  if (/[?#\s]/.test(p)) throw new InvalidOptionsError(`routePrefix must be a plain path, got ${JSON.stringify(p)}`);
  return p.length > 1 ? p.replace(/\/+$/, "") || "/" : p;
}
