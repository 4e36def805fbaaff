import { describe, expect, it } from "vitest";
import { buildHeartbeat } from "../../../src/cluster/heartbeat.ts";
import type { StatusSnapshot } from "../../../src/observability/status.ts";

describe("a node's heartbeat", () => {
  it("carries each replica's state and load, the queued requests and who the node is", () => {
    const local: StatusSnapshot = {
      runtime: { resources: { total: { CPU: 2 }, available: { CPU: 1 } } },
      applications: [
        {
          name: "echo",
          routePrefix: "/echo",
          status: "RUNNING",
          deployments: [
            {
              name: "Echo",
              status: "HEALTHY",
              targetReplicas: 2,
              replicaStates: { RUNNING: 1, STARTING: 1 },
              queued: 3,
              replicas: [
                { id: "echo#Echo#1", state: "RUNNING", ongoing: 4, streams: 1 },
                { id: "echo#Echo#2", state: "STARTING" },
              ],
            },
          ],
        },
      ],
    };
    const beat = buildHeartbeat(local, { nodeId: "a", startedAt: 1, seq: 7, state: "up", labels: { zone: "x" }, leader: true, epoch: 2, codeMismatch: [], address: "http://127.0.0.1:8001" });
    expect(beat).toEqual({
      v: 1,
      nodeId: "a",
      startedAt: 1,
      seq: 7,
      state: "up",
      labels: { zone: "x" },
      leader: true,
      epoch: 2,
      codeMismatch: [],
      address: "http://127.0.0.1:8001",
      resources: { total: { CPU: 2 }, available: { CPU: 1 } },
      replicas: [
        { app: "echo", deployment: "Echo", id: "echo#Echo#1", state: "RUNNING", ongoing: 4, streams: 1 },
        { app: "echo", deployment: "Echo", id: "echo#Echo#2", state: "STARTING" },
      ],
      queued: [{ app: "echo", deployment: "Echo", n: 3 }],
    });
    const quiet = buildHeartbeat({ runtime: {}, applications: [] }, { nodeId: "b", startedAt: 1, seq: 1, state: "draining", labels: {}, leader: false, codeMismatch: [] });
    expect(quiet).not.toHaveProperty("queued");
    expect(quiet).not.toHaveProperty("address");
    expect(quiet.resources).toEqual({ total: {}, available: {} });
  });
});
