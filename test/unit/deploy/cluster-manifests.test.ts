// deploy/kubernetes/cluster, checked offline (the schemas themselves are validated with every
// other manifest in manifests.test.ts): the NATS StatefulSet, its headless Service and its
// configuration agree (names, ports, routes to every pod, JetStream on persistent volumes), and
// the stingray nodes join exactly those servers with their pod name as node id, with the flags
// the real CLI accepts, readiness on /-/ready (which waits for the join) and a drain on SIGTERM.

import { describe, expect, it } from "vitest";
import { clusterFromFlags } from "../../../src/cli/cluster-flags.ts";
import { cpuCores, flagValue, only, resolveKustomization, type ManifestObject } from "../../fixtures/deploy-files.ts";

const variant = resolveKustomization("cluster");
const objects = variant.objects;
const byName = (kind: string, name: string): ManifestObject => {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0]!;
};
const nats = only<ManifestObject>(objects, "StatefulSet");
const natsService = byName("Service", "nats");
const natsConf = String((only<ManifestObject>(objects, "ConfigMap").data as Record<string, string>)["nats.conf"]);
const node = only<ManifestObject>(objects, "Deployment");
const nodeContainer = node.spec.template.spec.containers[0];
const natsContainer = nats.spec.template.spec.containers[0];
const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
const portOf = (container: { ports: Array<{ name: string; containerPort: number }> }, name: string | number) =>
  typeof name === "number" ? name : container.ports.find((p) => p.name === name)?.containerPort;
const env = (container: { env?: Array<{ name: string; value?: string; valueFrom?: unknown }> }, name: string) => container.env?.find((e) => e.name === name);

describe("deploy/kubernetes/cluster", () => {
  it("applies NATS (config, headless Service, StatefulSet) and the stingray nodes (Deployment, Service) with budgets", () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      ["ConfigMap/nats-config", "Deployment/stingray-node", "PodDisruptionBudget/nats", "PodDisruptionBudget/stingray-node", "Service/nats", "Service/stingray-node", "StatefulSet/nats"].sort(),
    );
    for (const pdb of objects.filter((o) => o.kind === "PodDisruptionBudget")) {
      const target = pdb.metadata.name === "nats" ? nats : node;
      expect(selects(pdb.spec.selector.matchLabels, target.spec.template.metadata.labels), pdb.metadata.name).toBe(true);
      expect(pdb.spec.maxUnavailable).toBe(1);
    }
  });

  it("NATS: a headless Service the StatefulSet names, selecting its pods, with every port the servers open", () => {
    expect(natsService.spec.clusterIP).toBe("None");
    expect(natsService.spec.publishNotReadyAddresses).toBe(true);
    expect(nats.spec.serviceName).toBe(natsService.metadata.name);
    expect(selects(natsService.spec.selector, nats.spec.template.metadata.labels)).toBe(true);
    expect(selects(nats.spec.selector.matchLabels, nats.spec.template.metadata.labels)).toBe(true);
    for (const p of natsService.spec.ports) expect(portOf(natsContainer, p.targetPort), p.name).toBe(p.port);
    expect(natsConf).toMatch(new RegExp(`^port: ${portOf(natsContainer, "client")}$`, "m"));
    expect(natsConf).toMatch(new RegExp(`^http_port: ${portOf(natsContainer, "monitor")}$`, "m"));
    expect(natsConf).toMatch(new RegExp(`^\\s+port: ${portOf(natsContainer, "cluster")}$`, "m"));
    for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) expect(natsContainer[probe].httpGet.port, probe).toBe("monitor");
  });

  it("NATS: routes to every pod of the StatefulSet, server names from pod names, JetStream on the volume", () => {
    const replicas: number = nats.spec.replicas;
    expect(replicas).toBe(3);
    const routes = [...natsConf.matchAll(/nats:\/\/([a-z0-9-]+)\.([a-z0-9-]+):(\d+)/g)].map((m) => ({ pod: m[1], service: m[2], port: Number(m[3]) }));
    expect(routes.map((r) => r.pod).sort()).toEqual(Array.from({ length: replicas }, (_, i) => `${nats.metadata.name}-${i}`));
    for (const r of routes) {
      expect(r.service).toBe(natsService.metadata.name);
      expect(r.port).toBe(portOf(natsContainer, "cluster"));
    }
    expect(natsConf).toMatch(/^server_name: \$POD_NAME$/m);
    expect(env(natsContainer, "POD_NAME")?.valueFrom).toEqual({ fieldRef: { fieldPath: "metadata.name" } });
    const store = /store_dir: (\S+)/.exec(natsConf)![1]!;
    const dataMount = natsContainer.volumeMounts.find((m: { name: string }) => m.name === nats.spec.volumeClaimTemplates[0].metadata.name);
    expect(store.startsWith(dataMount.mountPath)).toBe(true);
    const configMount = natsContainer.volumeMounts.find((m: { name: string }) => m.name === "config");
    expect(natsContainer.args).toEqual(["--config", `${configMount.mountPath}/nats.conf`]);
    // Lame duck on preStop signals the pid file the config names, within the grace period.
    expect(natsContainer.lifecycle.preStop.exec.command).toEqual(["nats-server", "--signal", `ldm=${/pid_file: "(\S+)"/.exec(natsConf)![1]}`]);
    const lameDuckS = Number(/lame_duck_duration: "(\d+)s"/.exec(natsConf)![1]) + Number(/lame_duck_grace_period: "(\d+)s"/.exec(natsConf)![1]);
    expect(nats.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(lameDuckS);
  });

  it("nodes join exactly the StatefulSet's servers with their pod name as node id, with flags the CLI accepts", () => {
    const args: string[] = nodeContainer.args;
    const servers = flagValue(args, "--cluster")!.split(",");
    expect(servers).toEqual(Array.from({ length: nats.spec.replicas }, (_, i) => `nats://${nats.metadata.name}-${i}.${natsService.metadata.name}:${portOf(natsContainer, "client")}`));
    expect(flagValue(args, "--node-id")).toBe("$(POD_NAME)");
    expect(env(nodeContainer, "POD_NAME")?.valueFrom).toEqual({ fieldRef: { fieldPath: "metadata.name" } });
    // What the CLI makes of them once Kubernetes substituted a pod name (3 servers: KV at R3).
    const resolved = clusterFromFlags({ cluster: servers.join(","), nodeId: "stingray-node-7d9f8c6b5-x2k4q" })!;
    expect(resolved.servers).toEqual(servers);
    expect(resolved.kvReplicas).toBe(3);
    expect(cpuCores(nodeContainer.resources.requests.cpu)).toBe(Number(flagValue(args, "--num-cpus")));
  });

  it("nodes: readiness on /-/ready (waits for the join), the Service on the http port, a grace period over the drain", () => {
    expect(nodeContainer.readinessProbe.httpGet.path).toBe("/-/ready");
    expect(nodeContainer.livenessProbe.httpGet.path).toBe("/-/healthz");
    const service = byName("Service", "stingray-node");
    expect(selects(service.spec.selector, node.spec.template.metadata.labels)).toBe(true);
    expect(portOf(nodeContainer, service.spec.ports[0].targetPort)).toBe(Number(env(nodeContainer, "PORT")!.value));
    const preStopS = Number(nodeContainer.lifecycle.preStop.exec.command[1]);
    // preStop + proxy grace (20 s) + replica drain (20 s) + stuck thread (2 s) + other nodes' calls (5 s).
    expect(node.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(preStopS + 20 + 20 + 2 + 5);
    expect(variant.images.map((i) => i.name)).toEqual([nodeContainer.image.split(":")[0]]);
  });
});
