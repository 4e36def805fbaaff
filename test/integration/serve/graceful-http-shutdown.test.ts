// Shutdown drains HTTP work: a request in flight when serve.shutdown() starts gets its full
// answer; a request sent on a kept-alive connection after that is told 503 (not started), and new
// connections are refused.

import { request as httpRequest } from "node:http";
import { afterAll, describe, expect, it } from "vitest";
import { serve } from "../../../src/serve.ts";
import { app } from "../../fixtures/shutdown/slow-app.ts";

process.env.STINGRAY_LOG_LEVEL ??= "warn";

afterAll(async () => {
  await serve.shutdown();
});

function post(url: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: "POST", headers: { "content-type": "text/plain" } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("graceful HTTP shutdown", () => {
  it("finishes the request in flight, then refuses new connections", async () => {
    await serve.start({ http: { host: "127.0.0.1", port: 0 }, numCpus: 2, handleSignals: false });
    await serve.run(app, { name: "slow" });
    const base = serve.address()!;
    expect((await post(`${base}/?ms=0`, "warm")).status).toBe(200);

    const inflight = post(`${base}/?ms=600`, "keep me");
    await new Promise((resolve) => setTimeout(resolve, 150));
    const t0 = performance.now();
    const shutdown = serve.shutdown();
    const answer = await inflight;
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ slept: 600, body: "keep me" });
    await shutdown;
    // It waited for the work, and not for the whole 20 s grace.
    expect(performance.now() - t0).toBeLessThan(5_000);
    await expect(post(`${base}/?ms=0`, "late")).rejects.toThrow(/ECONNREFUSED/);
  });
});
