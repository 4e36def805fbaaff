import path from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { NodeAgent, type LocalRuntime } from "../../../src/cluster/agent.ts";
import { buildApplicationRecord, codeVersion } from "../../../src/cluster/app-record.ts";
import type { Application } from "../../../src/deployments/deployment.ts";
import type { ApplicationRecord, PlacementRecord } from "../../../src/cluster/records.ts";
import { app as echoApp } from "../../fixtures/cli/echo-app.ts";

const ECHO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../fixtures/cli/echo-app.ts");
const log = pino({ level: "silent" });

class FakeRuntime implements LocalRuntime {
  deployed: Array<{ name: string; replicas: Record<string, number | undefined> }> = [];
  deleted: string[] = [];
  async deploy(app: Application, o: { name: string }) {
    this.deployed.push({ name: o.name, replicas: { [app.deployment.name]: app.deployment.config.numReplicas } });
  }
  async delete(name: string) {
    this.deleted.push(name);
  }
}

function record(extra: Partial<ApplicationRecord> = {}): ApplicationRecord {
  return { ...buildApplicationRecord(echoApp, { name: "echo", routePrefix: "/echo", importPath: `${ECHO}:app` }, "n1"), ...extra };
}

function placement(term: number, counts: Record<string, number>, version: string): PlacementRecord {
  return { v: 1, term, leader: "x", apps: { echo: { codeVersion: version, deployments: { Echo: { nodes: counts, pending: 0 } } } } };
}

describe("node agent", () => {
  it("runs exactly this node's share, keeps the app with zero replicas when its share drops to zero, removes it when deleted", async () => {
    const rt = new FakeRuntime();
    const agent = new NodeAgent("me", rt, log);
    const r = record();
    agent.setPlacement(placement(1, { me: 2, other: 1 }, r.codeVersion));
    agent.setRecord("echo", r);
    await agent.idle();
    expect(rt.deployed).toEqual([{ name: "echo", replicas: { Echo: 2 } }]);
    // No replica here any more: still deployed (this node's proxy serves it through the others).
    agent.setPlacement(placement(1, { other: 3 }, r.codeVersion));
    await agent.idle();
    expect(rt.deployed.at(-1)).toEqual({ name: "echo", replicas: { Echo: 0 } });
    expect(rt.deleted).toEqual([]);
    agent.setRecord("echo", null);
    await agent.idle();
    expect(rt.deleted).toEqual(["echo"]);
  });

  it("ignores a placement from a lower term (a fenced leader's late write)", async () => {
    const rt = new FakeRuntime();
    const agent = new NodeAgent("me", rt, log);
    const r = record();
    agent.setRecord("echo", r);
    expect(agent.setPlacement(placement(5, { me: 1 }, r.codeVersion))).toBe(true);
    expect(agent.setPlacement(placement(4, { me: 3 }, r.codeVersion))).toBe(false);
    await agent.idle();
    expect(rt.deployed.at(-1)).toEqual({ name: "echo", replicas: { Echo: 1 } });
  });

  it("refuses an application whose code on this node differs, and reports it", async () => {
    const rt = new FakeRuntime();
    const agent = new NodeAgent("me", rt, log);
    const r = record({ codeVersion: "0000000000000000" });
    agent.setRecord("echo", r);
    agent.setPlacement(placement(1, { me: 1 }, r.codeVersion));
    await agent.idle();
    expect(rt.deployed).toEqual([]);
    expect(agent.codeMismatch()).toEqual([{ app: "echo", expected: "0000000000000000", actual: codeVersion(echoApp, "echo") }]);
  });
});
