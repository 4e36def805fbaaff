// A runtime bound to 0.0.0.0, reached from this machine's own non-loopback address (a real peer
// that is not loopback): without an admin token the dashboard, /-/api/status and /-/api/timeseries
// refuse it and start-up warns; with a token they need it; `http.publicDashboard` opens them.
// `/metrics` answers everyone and carries no file paths or secrets. Loopback clients keep working,
// unless they name a host that is not loopback (a page that rebinds its name to 127.0.0.1).

import { request as httpRequest } from "node:http";
import os from "node:os";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../../src/observability/logger.ts";
import { Runtime, type RuntimeOptions } from "../../../src/runtime/runtime.ts";
import { app } from "../../fixtures/cli/echo-app.ts";

/** This machine's first non-internal IPv4 address, if it has one. */
const remoteAddress = Object.values(os.networkInterfaces())
  .flat()
  .find((i) => i && i.family === "IPv4" && !i.internal)?.address;

const READ_PATHS = ["/-/api/status", "/-/api/timeseries", "/-/dashboard", "/-/dashboard/dashboard.js"];

let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.shutdown();
  runtime = undefined;
});

async function start(options: Partial<RuntimeOptions> & { http?: Record<string, unknown> } = {}) {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  runtime = await Runtime.start({
    numCpus: 1,
    ...options,
    http: { host: "0.0.0.0", port: 0, ...options.http },
    logger: createLogger({ level: "warn", destination }),
  });
  const port = new URL(runtime.address!).port;
  return { remote: `http://${remoteAddress}:${port}`, local: `http://127.0.0.1:${port}`, warnings: () => lines.map((l) => JSON.parse(l) as { msg: string }) };
}

describe.skipIf(!remoteAddress)(`a runtime on 0.0.0.0, reached from ${remoteAddress}`, () => {
  it("refuses the dashboard and its APIs to a remote client without a token configured, and warns at start-up", async () => {
    const { remote, local, warnings } = await start();
    for (const p of READ_PATHS) {
      const res = await fetch(`${remote}${p}`);
      expect(res.status, p).toBe(403);
      expect((await res.json()) as unknown).toMatchObject({ error: { code: "STINGRAY_ERR_ADMIN_FORBIDDEN" } });
    }
    // A loopback client (an SSH tunnel) still reads them.
    for (const p of READ_PATHS) expect((await fetch(`${local}${p}`)).status, p).toBe(200);
    expect(warnings().map((w) => w.msg)).toContainEqual(expect.stringMatching(/^listening on 0\.0\.0\.0 .* without an admin token: .*loopback clients only/));
  });

  it("asks a remote client for the admin token when one is configured", async () => {
    const { remote, warnings } = await start({ adminToken: "exposure-t0ken" });
    for (const p of READ_PATHS) {
      const denied = await fetch(`${remote}${p}`);
      expect(denied.status, p).toBe(401);
      expect(denied.headers.get("www-authenticate")).toBe('Bearer realm="stingray-admin"');
      expect((await fetch(`${remote}${p}`, { headers: { authorization: "Bearer wrong" } })).status, p).toBe(401);
      expect((await fetch(`${remote}${p}`, { headers: { authorization: "Bearer exposure-t0ken" } })).status, p).toBe(200);
    }
    expect(warnings()).toEqual([]);
  });

  it("serves them to anyone with http.publicDashboard, and says so at start-up", async () => {
    const { remote, warnings } = await start({ http: { publicDashboard: true } });
    for (const p of READ_PATHS) expect((await fetch(`${remote}${p}`)).status, p).toBe(200);
    expect(warnings().map((w) => w.msg)).toContainEqual(expect.stringMatching(/answer anyone \(http\.publicDashboard/));
    // The admin API is still loopback-only without a token.
    const deploy = await fetch(`${remote}/-/api/deploy`, { method: "POST", body: "{}" });
    expect(deploy.status).toBe(403);
  });

  it("keeps /metrics open, without file paths or secrets", async () => {
    const { remote } = await start({ adminToken: "metrics-t0ken" });
    await runtime!.deploy(app, { name: "echo", routePrefix: "/echo" });
    // Traffic, so request series exist: a good request and one with a bad body.
    const bad = await fetch(`${remote}/echo/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", host: "localhost" },
      body: "{not json",
    });
    expect(bad.status).toBeGreaterThanOrEqual(400);
    const res = await fetch(`${remote}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain("stingray_replicas{");
    expect(text).not.toContain(process.cwd());
    expect(text).not.toContain("echo-app");
    expect(text).not.toContain("metrics-t0ken");
    expect(text).not.toMatch(/"\/(?:home|tmp|work|usr|root)\//);
  }, 60_000);
});

describe("a runtime on loopback", () => {
  it("serves the dashboard and its APIs as before and does not warn", async () => {
    const lines: string[] = [];
    runtime = await Runtime.start({
      numCpus: 1,
      http: { host: "127.0.0.1", port: 0 },
      adminToken: "loopback-t0ken",
      logger: createLogger({ level: "warn", destination: new Writable({ write: (c, _e, done) => (lines.push(String(c)), done()) }) }),
    });
    for (const p of READ_PATHS) expect((await fetch(`${runtime.address}${p}`)).status, p).toBe(200);
    expect(lines).toEqual([]);
  });

  it("refuses a loopback client that names another host (a DNS-rebinding page)", async () => {
    runtime = await Runtime.start({ numCpus: 1, http: { host: "127.0.0.1", port: 0 }, logger: createLogger({ level: "silent" }) });
    const get = (path: string, host: string) =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest(`${runtime!.address}${path}`, { headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on("error", reject);
        req.end();
      });
    const port = new URL(runtime.address!).port;
    for (const p of READ_PATHS) {
      expect(await get(p, `rebind.example:${port}`), p).toBe(403);
      expect(await get(p, `localhost:${port}`), p).toBe(200);
    }
  });
});
