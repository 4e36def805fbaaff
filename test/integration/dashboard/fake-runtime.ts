// A stand-in runtime for the dashboard and router tests: the real observability router on a real
// express server, fed by a mutable fake status snapshot and a real RuntimeMetrics.

import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import express from "express";
import { RuntimeMetrics, type RuntimeMetricsOptions } from "../../../src/observability/metrics.ts";
import { createObservabilityRouter, type AdminActions } from "../../../src/observability/http.ts";
import type { StatusSnapshot } from "../../../src/observability/status.ts";

export function sampleSnapshot(): StatusSnapshot {
  return {
    runtime: {
      address: "http://127.0.0.1:8000",
      pid: 4242,
      startedAt: Date.now() - 90_000,
      version: "0.1.0",
      resources: { total: { CPU: 4, GPU: 1 }, available: { CPU: 2.5, GPU: 0.5 } },
    },
    applications: [
      {
        name: "weather",
        routePrefix: "/weather",
        status: "RUNNING",
        ingressDeployment: "WeatherMCP",
        deployments: [
          {
            name: "WeatherMCP",
            status: "HEALTHY",
            targetReplicas: 3,
            replicaStates: { RUNNING: 2, STARTING: 1 },
            replicas: [
              { id: "weather#WeatherMCP#a1", state: "RUNNING", ongoing: 1 },
              { id: "weather#WeatherMCP#a2", state: "RUNNING", ongoing: 0 },
              { id: "weather#WeatherMCP#a3", state: "STARTING", ongoing: 0 },
            ],
            queued: 0,
            restarts: 1,
            resourcesPerReplica: { CPU: 0.5 },
          },
        ],
      },
      {
        name: "translate",
        routePrefix: "/translate",
        status: "DEPLOYING",
        deployments: [
          {
            name: "Translator",
            status: "UPDATING",
            targetReplicas: 1,
            replicaStates: { PENDING: 1 },
            replicas: [{ id: "translate#Translator#b1", state: "PENDING", message: "not enough GPU: requested 1, available 0.5" }],
            resourcesPerReplica: { CPU: 1, GPU: 1 },
          },
        ],
      },
    ],
  };
}

export interface FakeRuntime {
  url: string;
  metrics: RuntimeMetrics;
  snapshot: StatusSnapshot;
  close(): Promise<void>;
}

export async function startFakeRuntime(
  options: { admin?: AdminActions; adminToken?: string; metrics?: RuntimeMetricsOptions } = {},
): Promise<FakeRuntime> {
  const metrics = new RuntimeMetrics(options.metrics);
  const state = { snapshot: sampleSnapshot() };
  const app = express();
  app.use(createObservabilityRouter({ metrics, status: () => state.snapshot, admin: options.admin, adminToken: options.adminToken }));
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    metrics,
    get snapshot() {
      return state.snapshot;
    },
    set snapshot(s: StatusSnapshot) {
      state.snapshot = s;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
