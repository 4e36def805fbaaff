// End to end: `stingray run` as a spawned process serving the tiny echo MCP app on an ephemeral
// port, driven by the real MCP SDK client and by spawned `stingray status/deploy/shutdown`.

import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURES, runCli, startCli, type RunningCli } from "./spawn-cli.ts";

let run: RunningCli;
let address: string;
let mcpUrl: string;

beforeAll(async () => {
  run = startCli(["run", "test/fixtures/cli/echo-app.ts:app", "--port", "0", "--num-cpus", "2", "--name", "echo", "--route-prefix", "/echo"], {
    env: { STINGRAY_LOG_LEVEL: "info" },
  });
  const m = await run.waitFor(/ready at (http:\/\/127\.0\.0\.1:\d+)(\/echo\/mcp)/, 60_000);
  address = m[1]!;
  mcpUrl = m[1]! + m[2]!;
}, 90_000);

afterAll(async () => {
  await run?.stop("SIGKILL", 5_000);
});

async function mcpCall(tool: string, args: Record<string, unknown>) {
  const client = new Client({ name: "cli-e2e", version: "1" });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl)));
  try {
    return await client.callTool({ name: tool, arguments: args });
  } finally {
    await client.close();
  }
}

describe("stingray run (real runtime)", () => {
  it("shows replicas starting, then the ready line and the dashboard address", () => {
    const { stdout } = run.output();
    expect(stdout).toMatch(/starting: echo\/Echo 0\/1 running \(STARTING 1\)/);
    expect(stdout).toMatch(/starting: echo\/Echo 1\/1 running\n/);
    expect(stdout).toContain(`dashboard at ${address}/-/dashboard`);
  });

  it("serves the application to an MCP client", async () => {
    const result = (await mcpCall("echo", { text: "hi" })) as { content: Array<{ text: string }> };
    expect(result.content[0]!.text).toMatch(/^hi\|[a-z0-9]+$/);
  });

  it("echoes X-Request-ID and logs it without leaking credentials", async () => {
    const res = await fetch(mcpUrl, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "x-request-id": "e2e-req-1",
        authorization: "Bearer super-secret-e2e-token",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } }),
    });
    expect(res.headers.get("x-request-id")).toBe("e2e-req-1");
    await res.text();
    await expect.poll(() => run.output().stderr, { timeout: 10_000 }).toContain('"requestId":"e2e-req-1"');
    const line = run.output().stderr.split("\n").find((l) => l.includes('"requestId":"e2e-req-1"'))!;
    expect(JSON.parse(line)).toMatchObject({ app: "echo", status: 200, method: "POST", path: new URL(mcpUrl).pathname });
    expect(run.output().stderr).not.toContain("super-secret-e2e-token");
  });

  it("exports request and replica metrics", async () => {
    const text = await (await fetch(`${address}/metrics`)).text();
    expect(text).toMatch(/stingray_requests_total\{app="echo",deployment="Echo",route="\/echo",mcp_method="tools\/call",tool="echo",status="200"\} [1-9]/);
    expect(text).toMatch(/stingray_request_duration_seconds_count\{app="echo",[^}]*mcp_method="tools\/call"[^}]*\} [1-9]/);
    expect(text).toContain('stingray_replicas{app="echo",deployment="Echo",state="RUNNING"} 1');
    expect(text).toContain('stingray_autoscaling_target_replicas{app="echo",deployment="Echo"} 1');
    expect(text).toMatch(/stingray_replica_ongoing_requests\{app="echo",deployment="Echo",replica="[^"]+"\} 0/);
    expect(text).toContain('stingray_deployment_queued_requests{app="echo",deployment="Echo"} 0');
    expect(text).toContain('stingray_replica_restarts_total{app="echo",deployment="Echo"} 0');
  });

  it("refuses a second runtime on the same port, naming --port", async () => {
    const port = new URL(address).port;
    const r = await runCli(["run", "test/fixtures/cli/echo-app.ts:app", "--port", port], { timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use \\(choose another with --port\\)`));
  });

  it("stingray status shows the app, its deployment, replica states and resources", async () => {
    const r = await runCli(["status", "--address", address]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^stingray at ${address} · pid \\d+ · up \\d+`));
    expect(r.stdout).toContain("resources: CPU 0.5/2 used");
    expect(r.stdout).toMatch(/^echo\s+\/echo\s+RUNNING\s+Echo\s+HEALTHY\s+1\/1\s+RUNNING 1\s+CPU 0\.5$/m);
  });

  it("stingray deploy rejects a bad config and leaves the runtime as it was", async () => {
    const r = await runCli(["deploy", `${FIXTURES}/bad-types.yaml`, "--address", address]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/applications\[0\]\.deployments\[0\]\.numReplicas/);
    const snap = await (await fetch(`${address}/-/api/status`)).json();
    expect(snap.applications[0].deployments[0]).toMatchObject({ name: "Echo", targetReplicas: 1 });
  });

  it("stingray deploy applies a config's overrides to the running app", async () => {
    const r = await runCli(["deploy", `${FIXTURES}/good.yaml`, "--address", address], { timeoutMs: 60_000 });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`deployed echo at ${address}/echo`);
    const status = async () => (await (await fetch(`${address}/-/api/status`)).json()) as { applications: Array<{ name: string; deployments: Array<Record<string, unknown>> }> };
    expect((await status()).applications.map((a) => a.name)).toEqual(["echo"]);
    expect((await status()).applications[0]!.deployments[0]).toMatchObject({ name: "Echo", targetReplicas: 2 });
    // The second replica starts in the background (deploy returns once the app is accepted and running).
    await expect.poll(async () => ((await status()).applications[0]!.deployments[0]!.replicaStates as Record<string, number>).RUNNING, { timeout: 30_000 }).toBe(2);
    // Still serving after the rolling change.
    const result = (await mcpCall("echo", { text: "after" })) as { content: Array<{ text: string }> };
    expect(result.content[0]!.text).toMatch(/^after\|/);
  }, 90_000);

  it("stingray shutdown asks for --yes, then stops the runtime gracefully", async () => {
    const refused = await runCli(["shutdown", "--address", address]);
    expect(refused.code).toBe(2);
    expect((await fetch(`${address}/-/api/status`)).status).toBe(200);
    const r = await runCli(["shutdown", "--yes", "--address", address], { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("stopped");
    expect(await run.exited).toBe(0);
    expect(run.output().stdout).toContain("shutting down (admin API)");
  }, 90_000);
});

describe("stingray run and signals", () => {
  it("drains and exits 0 on SIGINT", async () => {
    const p = startCli(["run", "test/fixtures/cli/echo-app.ts:app", "--port", "0", "--num-cpus", "1", "--no-progress"]);
    try {
      await p.waitFor(/ready at http:\/\/127\.0\.0\.1:\d+\/mcp \(application "app"\)/, 60_000);
      expect(p.output().stdout).not.toContain("starting:");
      expect(await p.stop("SIGINT")).toBe(0);
      expect(p.output().stdout).toContain("shutting down (SIGINT)");
    } finally {
      await p.stop("SIGKILL", 1_000);
    }
  }, 90_000);
});

describe("stingray run <config file>", () => {
  it("runs every application of the file with its overrides and args, then stops on SIGTERM", async () => {
    const p = startCli(["run", "test/fixtures/cli/two-apps.yaml", "--num-cpus", "2"]);
    try {
      const echo = await p.waitFor(/ready at (http:\/\/127\.0\.0\.1:\d+)\/echo\/mcp \(application "echo"\)/, 60_000);
      const base = echo[1]!;
      await p.waitFor(/ready at http:\/\/127\.0\.0\.1:\d+\/shout\/mcp \(application "shout"\)/, 10_000);
      const snap = (await (await fetch(`${base}/-/api/status`)).json()) as { applications: Array<{ name: string; deployments: Array<{ targetReplicas: number }> }> };
      expect(snap.applications.map((a) => [a.name, a.deployments[0]!.targetReplicas])).toEqual([
        ["echo", 2],
        ["shout", 1],
      ]);
      const client = new Client({ name: "cli-e2e", version: "1" });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/shout/mcp`)));
      const result = (await client.callTool({ name: "echo", arguments: { text: "hey" } })) as { content: Array<{ text: string }> };
      await client.close();
      expect(result.content[0]!.text).toMatch(/^>> hey\|/);
      expect(await p.stop("SIGTERM")).toBe(0);
      expect(p.output().stdout).toContain("shutting down (SIGTERM)");
    } finally {
      await p.stop("SIGKILL", 1_000);
    }
  }, 90_000);
});
