// deploy/kubernetes, checked offline: every object validates against the Kubernetes (and KEDA)
// schemas of kubernetes-models, and the objects agree with each other, with the Dockerfile and
// with the weather example they run: selectors match the pod labels, ports and probes name the
// container's port, the grace period covers the runtime's drain, autoscalers and the budget target
// the Deployment, resources match the replicas' options, the KEDA query reads metrics stingray
// exports. That the probe paths are served is checked against the real proxy in
// test/integration/deploy/container-command.test.ts.

import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { Service } from "kubernetes-models/v1/Service";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject";
import { existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { app as weatherApp } from "../../../examples/weather.ts";
import { RuntimeMetrics } from "../../../src/observability/metrics.ts";
import {
  cpuCores,
  execForm,
  flagValue,
  lastOf,
  memoryBytes,
  only,
  readDockerfile,
  readManifestFiles,
  resolveKustomization,
  ROOT,
  stageEnv,
  type ManifestObject,
} from "../../fixtures/deploy-files.ts";

/** The kubernetes-models class for each kind the manifests may hold. */
const MODELS: Record<string, { apiVersion: string; create: (o: ManifestObject) => { validate(): void } }> = {
  Deployment: { apiVersion: "apps/v1", create: (o) => new Deployment(o as never) },
  Service: { apiVersion: "v1", create: (o) => new Service(o as never) },
  PodDisruptionBudget: { apiVersion: "policy/v1", create: (o) => new PodDisruptionBudget(o as never) },
  HorizontalPodAutoscaler: { apiVersion: "autoscaling/v2", create: (o) => new HorizontalPodAutoscaler(o as never) },
  ScaledObject: { apiVersion: "keda.sh/v1alpha1", create: (o) => new ScaledObject(o as never) },
  // Cluster mode (deploy/kubernetes/cluster, cross-checked in cluster-manifests.test.ts).
  StatefulSet: { apiVersion: "apps/v1", create: (o) => new StatefulSet(o as never) },
  ConfigMap: { apiVersion: "v1", create: (o) => new ConfigMap(o as never) },
};

/** The proxy's grace for in-flight HTTP exchanges at shutdown (DEFAULT_CLOSE_GRACE_MS, src/ingress/proxy.ts). */
const PROXY_CLOSE_GRACE_S = 20;
/** How long shutdown waits for a replica thread that will not exit before releasing it. */
const THREAD_EXIT_WAIT_S = 2;

const files = readManifestFiles();
const hpaVariant = resolveKustomization("");
const kedaVariant = resolveKustomization("keda");
const variants = [hpaVariant, kedaVariant];
const objects = hpaVariant.objects;
const deployment = only<ManifestObject>(objects, "Deployment");
const podSpec = deployment.spec.template.spec;
const container = podSpec.containers[0];
const podLabels: Record<string, string> = deployment.spec.template.metadata.labels;
const containerPort = (name: string | number): number | undefined =>
  typeof name === "number" ? name : container.ports.find((p: { name?: string }) => p.name === name)?.containerPort;
const weather = weatherApp.deployment;

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
}

describe("deploy/kubernetes: schemas", () => {
  it.each(files.flatMap((f) => f.docs.map((doc, i) => [`${f.file}#${i} ${doc.kind}`, doc] as const)))("%s is valid", (_name, doc) => {
    if (doc.kind === "Kustomization") {
      expect(doc.apiVersion).toBe("kustomize.config.k8s.io/v1beta1");
      return;
    }
    const model = MODELS[doc.kind];
    expect(model, `a known kind: ${doc.kind}`).toBeDefined();
    expect(doc.apiVersion).toBe(model!.apiVersion);
    expect(() => model!.create(doc).validate()).not.toThrow();
  });

  it("rejects what the schemas forbid (the validation is real)", () => {
    const broken = structuredClone(deployment);
    broken.spec.template.spec.containers[0].ports[0].containerPort = "8000";
    expect(() => new Deployment(broken as never).validate()).toThrow(/containerPort must be integer/);
    const noTarget = structuredClone(only<ManifestObject>(kedaVariant.objects, "ScaledObject"));
    delete noTarget.spec.scaleTargetRef;
    expect(() => new ScaledObject(noTarget as never).validate()).toThrow(/scaleTargetRef/);
  });
});

describe("deploy/kubernetes: variants", () => {
  it("each kustomization applies one Deployment, Service and PodDisruptionBudget and exactly one autoscaler", () => {
    for (const v of variants) {
      const kinds = v.objects.map((o) => o.kind).sort();
      const autoscaler = v.dir === "keda" ? "ScaledObject" : "HorizontalPodAutoscaler";
      expect(kinds, v.dir || "root").toEqual(["Deployment", "PodDisruptionBudget", "Service", autoscaler].sort());
    }
  });

  it("every manifest file is applied by some variant", () => {
    const applied = new Set([...variants, resolveKustomization("cluster")].flatMap((v) => v.files));
    const manifests = files.filter((f) => f.docs.every((d) => d.kind !== "Kustomization")).map((f) => f.file);
    expect(manifests.filter((f) => !applied.has(f))).toEqual([]);
  });

  it("the image the kustomizations set (once, in base) is the one the Deployment runs", () => {
    for (const v of variants) expect(v.images.map((i) => i.name), v.dir || "root").toEqual([container.image.split(":")[0]]);
  });
});

describe("deploy/kubernetes: cross-checks", () => {
  it("the Deployment's selector, the Service's, the budget's select the pod template's labels", () => {
    expect(selects(deployment.spec.selector.matchLabels, podLabels)).toBe(true);
    expect(selects(only<ManifestObject>(objects, "Service").spec.selector, podLabels)).toBe(true);
    expect(selects(only<ManifestObject>(objects, "PodDisruptionBudget").spec.selector.matchLabels, podLabels)).toBe(true);
  });

  it("the Service, the probes, PORT and the scrape annotation all name the container's port", () => {
    const port: number = container.ports[0].containerPort;
    const env = Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value]));
    expect(Number(env.PORT)).toBe(port);
    expect(env.HOST).toBe("0.0.0.0");
    expect(containerPort(only<ManifestObject>(objects, "Service").spec.ports[0].targetPort)).toBe(port);
    for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
      expect(containerPort(container[probe].httpGet.port), probe).toBe(port);
    }
    expect(Number(deployment.spec.template.metadata.annotations["prometheus.io/port"])).toBe(port);
    expect(deployment.spec.template.metadata.annotations["prometheus.io/path"]).toBe("/metrics");
  });

  it("readiness is /-/ready and liveness /-/healthz", () => {
    expect(container.readinessProbe.httpGet.path).toBe("/-/ready");
    expect(container.livenessProbe.httpGet.path).toBe("/-/healthz");
    expect(container.startupProbe.httpGet.path).toBe("/-/healthz");
  });

  it("the grace period covers preStop, the proxy's drain, the replicas' drain and a stuck thread", () => {
    const preStopS = Number(container.lifecycle.preStop.exec.command[1]);
    expect(container.lifecycle.preStop.exec.command[0]).toBe("sleep");
    const drainS = preStopS + PROXY_CLOSE_GRACE_S + weather.config.gracefulShutdownTimeoutS + THREAD_EXIT_WAIT_S;
    expect(podSpec.terminationGracePeriodSeconds).toBeGreaterThan(drainS);
  });

  it("the HPA and the ScaledObject scale this Deployment; the budget never leaves it without a pod", () => {
    const hpa = only<ManifestObject>(objects, "HorizontalPodAutoscaler");
    const scaled = only<ManifestObject>(kedaVariant.objects, "ScaledObject");
    for (const ref of [hpa.spec.scaleTargetRef, scaled.spec.scaleTargetRef]) {
      expect(ref).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: deployment.metadata.name });
    }
    const pdb = only<ManifestObject>(objects, "PodDisruptionBudget");
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(scaled.spec.minReplicaCount).toBeGreaterThanOrEqual(2);
    expect(deployment.spec.replicas).toBe(hpa.spec.minReplicas);
    // A rolling update never takes a ready pod away before its replacement is ready.
    expect(deployment.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
  });

  it("CPU requests equal --num-cpus and hold at least the example's minimum replicas", () => {
    const numCpus = Number(flagValue(container.args, "--num-cpus"));
    expect(cpuCores(container.resources.requests.cpu)).toBe(numCpus);
    const replicasPerPod = Math.floor(numCpus / weather.config.actorOptions.numCpus + 1e-9);
    expect(replicasPerPod).toBe(5);
    expect(replicasPerPod).toBeGreaterThanOrEqual(weather.config.autoscaling!.minReplicas);
    expect(memoryBytes(container.resources.limits.memory)).toBeGreaterThanOrEqual(memoryBytes(container.resources.requests.memory));
    // No CPU limit: throttling the proxy adds latency to every request.
    expect(container.resources.limits.cpu).toBeUndefined();
  });

  it("the KEDA threshold is below what one pod's replicas hold at their autoscaling target", () => {
    const scaled = only<ManifestObject>(kedaVariant.objects, "ScaledObject");
    const perPod = Math.floor(Number(flagValue(container.args, "--num-cpus")) / weather.config.actorOptions.numCpus + 1e-9);
    const threshold = Number(scaled.spec.triggers[0].metadata.threshold);
    expect(threshold).toBeGreaterThan(0);
    expect(threshold).toBeLessThanOrEqual(perPod * weather.config.autoscaling!.targetOngoingRequests);
  });

  it("the KEDA query reads metrics stingray exports, with their labels and this app's names", async () => {
    const trigger = only<ManifestObject>(kedaVariant.objects, "ScaledObject").spec.triggers[0];
    expect(trigger.type).toBe("prometheus");
    const query: string = trigger.metadata.query;
    const metrics = new RuntimeMetrics({ defaultMetrics: false });
    const exported = metrics.registry.getMetricsAsArray().map((m) => ({ name: m.name, labelNames: (m as unknown as { labelNames: string[] }).labelNames }));
    const used = [...query.matchAll(/(stingray_\w+)\{([^}]*)\}/g)];
    expect(used.length).toBeGreaterThan(0);
    for (const [, name, selector] of used) {
      const metric = exported.find((m) => m.name === name);
      expect(metric, `${name} is a stingray metric`).toBeDefined();
      const labels = Object.fromEntries([...selector!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
      // `namespace` is the scrape's target label; the rest must be the metric's own.
      for (const label of Object.keys(labels).filter((l) => l !== "namespace")) expect(metric!.labelNames, `${name}{${label}}`).toContain(label);
      expect(labels.app).toBe(flagValue(container.args, "--name"));
      expect(labels.deployment).toBe(weather.name);
    }
  });
});

describe("deploy/kubernetes and the Dockerfile agree", () => {
  const final = readDockerfile().stages.at(-1)!;

  it("the pod runs as the image's non-root user, with a read-only root and /tmp for the state dir", () => {
    const [uid] = lastOf(final, "USER")!.args.split(":");
    expect(Number(uid)).toBeGreaterThan(0);
    expect(podSpec.securityContext.runAsNonRoot).toBe(true);
    expect(podSpec.securityContext.runAsUser).toBe(Number(uid));
    expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
    const stateDir = stageEnv(final).STINGRAY_STATE_DIR!;
    const tmp = container.volumeMounts.find((m: { mountPath: string }) => stateDir.startsWith(`${m.mountPath}/`));
    expect(tmp, `a writable mount holds ${stateDir}`).toBeDefined();
    expect(podSpec.volumes.find((v: { name: string }) => v.name === tmp.name).emptyDir).toBeDefined();
  });

  it("the args run what the image's CMD runs, under the same application name", () => {
    const cmd = execForm(lastOf(final, "CMD")!.args);
    expect(container.command).toBeUndefined(); // the image's ENTRYPOINT applies HOST and PORT
    expect(container.args[0]).toBe(cmd[0]);
    expect(flagValue(container.args, "--name")).toBe(flagValue(cmd, "--name"));
    const [module] = cmd[0]!.split(":");
    expect(existsSync(path.join(ROOT, module!))).toBe(true);
    expect(Number(stageEnv(final).PORT)).toBe(container.ports[0].containerPort);
  });
});
