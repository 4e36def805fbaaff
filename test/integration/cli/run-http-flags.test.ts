// `stingray run --host 0.0.0.0` with the HTTP server flags, as a spawned process: start-up warns that
// the admin API and dashboard answer loopback clients only, and --body-timeout / --max-connections
// reach the real server (a stalled body is answered 408 at the flag's deadline).

import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCli, type RunningCli } from "./spawn-cli.ts";

let run: RunningCli;
let port: number;

beforeAll(async () => {
  run = startCli(
    ["run", "test/fixtures/cli/echo-app.ts:app", "--host", "0.0.0.0", "--port", "0", "--num-cpus", "1", "--headers-timeout", "1", "--body-timeout", "2", "--max-connections", "50"],
    { env: { STINGRAY_LOG_LEVEL: "warn" } },
  );
  const m = await run.waitFor(/ready at http:\/\/[^:]+:(\d+)\//, 60_000);
  port = Number(m[1]);
}, 90_000);

afterAll(async () => {
  await run?.stop("SIGKILL", 5_000);
});

describe("stingray run on 0.0.0.0 with HTTP server flags", () => {
  it("warns at start-up who the admin API and dashboard answer", () => {
    expect(run.output().stderr).toMatch(/listening on 0\.0\.0\.0 \(reachable from other hosts\) without an admin token: the admin API, dashboard, \/-\/api\/status and \/-\/api\/timeseries answer loopback clients only/);
  });

  it("answers a stalled body 408 at --body-timeout", async () => {
    const startedAt = performance.now();
    const socket = net.connect(port, "127.0.0.1");
    let data = "";
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => (data += d));
    socket.on("error", () => {});
    socket.once("connect", () => socket.write("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 1000\r\n\r\n{\"jsonrpc\""));
    await new Promise((resolve) => socket.once("close", resolve));
    const ms = performance.now() - startedAt;
    expect(data).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(ms).toBeGreaterThan(1_900);
    expect(ms).toBeLessThan(10_000);
  });
});
