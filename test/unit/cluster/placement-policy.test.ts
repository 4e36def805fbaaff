import { describe, expect, it } from "vitest";
import { placeReplicas, type PlacementNode } from "../../../src/cluster/placement-policy.ts";
import type { ApplicationRecord } from "../../../src/cluster/records.ts";

function app(name: string, demands: ApplicationRecord["demands"], extra: Partial<ApplicationRecord> = {}): ApplicationRecord {
  return {
    v: 1,
    name,
    routePrefix: "/",
    importPath: `/x/${name}.ts:app`,
    deployments: demands.map((d) => ({ name: d.name })),
    demands,
    codeVersion: "v1",
    deployedBy: "n",
    deployedAt: 0,
    ...extra,
  };
}

function node(id: string, cpus: number, extra: Partial<PlacementNode> = {}): PlacementNode {
  return { id, labels: {}, total: { CPU: cpus }, acceptsNew: true, codeMismatch: new Set(), ...extra };
}

const one = (replicas: number, resources: Record<string, number> = { CPU: 1 }) => [{ name: "D", replicas, resources }];

describe("placement policy", () => {
  it.each([
    { what: "spreads 3 replicas over 3 nodes", replicas: 3, nodes: ["a", "b", "c"], want: { a: 1, b: 1, c: 1 } },
    { what: "spreads 4 over 3 (one node gets 2)", replicas: 4, nodes: ["a", "b", "c"], want: { a: 2, b: 1, c: 1 } },
    { what: "puts 2 on one node when it is alone", replicas: 2, nodes: ["a"], want: { a: 2 } },
  ])("$what", ({ replicas, nodes, want }) => {
    const out = placeReplicas([app("x", one(replicas))], nodes.map((id) => node(id, 4)));
    expect(out.x!.deployments.D).toEqual({ nodes: want, pending: 0 });
  });

  it("respects each node's capacity", () => {
    const out = placeReplicas([app("x", one(4))], [node("a", 1), node("b", 8)]);
    expect(out.x!.deployments.D!.nodes).toEqual({ a: 1, b: 3 });
  });

  it("names the short resource when replicas fit nowhere", () => {
    const out = placeReplicas([app("x", one(2, { CPU: 1, GPU: 1 }))], [node("a", 4, { total: { CPU: 4, GPU: 1 } }), node("b", 4)]);
    expect(out.x!.deployments.D).toEqual({ nodes: { a: 1 }, pending: 1, pendingReason: "not enough GPU: requested 1, available 0 on any node" });
  });

  it("places only on nodes whose labels match the selector", () => {
    const out = placeReplicas(
      [app("x", one(2), { nodeSelector: { zone: "b" } })],
      [node("a", 4, { labels: { zone: "a" } }), node("b", 4, { labels: { zone: "b" } })],
    );
    expect(out.x!.deployments.D!.nodes).toEqual({ b: 2 });
    const none = placeReplicas([app("x", one(1), { nodeSelector: { zone: "z" } })], [node("a", 4)]);
    expect(none.x!.deployments.D!.pendingReason).toBe("no ALIVE node has the labels zone=z");
  });

  it("skips a node whose code version differs", () => {
    const out = placeReplicas([app("x", one(2))], [node("a", 4, { codeMismatch: new Set(["x"]) }), node("b", 4)]);
    expect(out.x!.deployments.D!.nodes).toEqual({ b: 2 });
  });

  it("keeps replicas where they are when a node joins (no reshuffle)", () => {
    const before = placeReplicas([app("x", one(2))], [node("a", 4)]);
    const after = placeReplicas([app("x", one(2))], [node("a", 4), node("b", 4)], before);
    expect(after.x!.deployments.D!.nodes).toEqual({ a: 2 });
  });

  it("re-places a dead node's replicas on the survivors, keeping the others", () => {
    const before = placeReplicas([app("x", one(3))], [node("a", 4), node("b", 4), node("c", 4)]);
    const after = placeReplicas([app("x", one(3))], [node("a", 4), node("c", 4)], before);
    expect(after.x!.deployments.D!.nodes).toEqual({ a: 2, c: 1 });
  });

  it("a SUSPECT node keeps its replicas but gets no new ones", () => {
    const before = placeReplicas([app("x", one(2))], [node("a", 4), node("b", 4)]);
    const after = placeReplicas([app("x", one(4))], [node("a", 4, { acceptsNew: false }), node("b", 4)], before);
    expect(after.x!.deployments.D!.nodes).toEqual({ a: 1, b: 3 });
  });

  it("a scale-down trims the fullest node first", () => {
    const before = placeReplicas([app("x", one(4))], [node("a", 8), node("b", 8), node("c", 8)]);
    expect(before.x!.deployments.D!.nodes).toEqual({ a: 2, b: 1, c: 1 });
    const after = placeReplicas([app("x", one(3))], [node("a", 8), node("b", 8), node("c", 8)], before);
    expect(after.x!.deployments.D!.nodes).toEqual({ a: 1, b: 1, c: 1 });
  });

  it("counts every application's replicas against a node's capacity", () => {
    const out = placeReplicas([app("x", one(2)), app("y", one(2))], [node("a", 2), node("b", 2)]);
    expect(out.x!.deployments.D!.nodes).toEqual({ a: 1, b: 1 });
    expect(out.y!.deployments.D!.nodes).toEqual({ a: 1, b: 1 });
    const full = placeReplicas([app("x", one(2)), app("y", one(3))], [node("a", 2), node("b", 2)]);
    expect(full.y!.deployments.D).toMatchObject({ pending: 1, pendingReason: "not enough CPU: requested 1, available 0 on any node" });
  });

  it("with no ALIVE node everything is pending", () => {
    const out = placeReplicas([app("x", one(1))], []);
    expect(out.x!.deployments.D).toEqual({ nodes: {}, pending: 1, pendingReason: "no ALIVE node" });
  });
});
