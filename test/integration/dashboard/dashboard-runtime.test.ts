// The dashboard served by a real runtime (worker-thread replicas behind the HTTP proxy) in headless
// Chromium: real MCP traffic and real errors must show up as applications, replica counts, charts
// and recent errors, and the screenshot must not be blank.

import { mkdirSync, writeFileSync } from "node:fs";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploymentOf } from "../../../src/deployments/decorator.ts";
import { createLogger } from "../../../src/observability/logger.ts";
import { Runtime } from "../../../src/runtime/runtime.ts";
import { Echo } from "../../fixtures/cli/echo-app.ts";
import { ACCENT, distinctColors, launchChromium, pixelsNear } from "./browser.ts";

let runtime: Runtime;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  runtime = await Runtime.start({ numCpus: 2, http: { host: "127.0.0.1", port: 0 }, logger: createLogger({ level: "silent" }) });
  await runtime.deploy(deploymentOf(Echo).options({ numReplicas: 2 }).bind(), { name: "echo", routePrefix: "/echo" });
  const client = new Client({ name: "dashboard-e2e", version: "1" });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${runtime.address}/echo/mcp`)));
  for (let i = 0; i < 20; i++) await client.callTool({ name: "echo", arguments: { text: `n${i}` } });
  await client.close();
  // Requests the proxy rejects are errors the dashboard must list.
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${runtime.address}/echo/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "x-request-id": `bad-json-${i}` },
      body: "{not json",
    });
    expect(res.status).toBe(400);
  }
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await runtime?.shutdown();
});

describe("dashboard on a real runtime", () => {
  it("shows the application, its deployment and both running replicas", async () => {
    await page.goto(`${runtime.address}/-/dashboard`);
    await page.waitForSelector('[data-testid="app"][data-app="echo"]');
    expect(await page.textContent('[data-testid="card-apps"]')).toBe("1");
    const echo = page.locator('[data-deployment="Echo"]');
    await expect.poll(() => echo.locator('[data-testid="replica-count"]').textContent(), { timeout: 10_000 }).toBe("2 / 2");
    expect(await echo.locator('[data-state="RUNNING"]').textContent()).toBe("RUNNING 2");
    expect(await echo.locator(".replica.st-RUNNING").count()).toBe(2);
    expect(await page.textContent('[data-testid="resources"]')).toContain("CPU 1 / 2 used");
  });

  it("charts the traffic and lists the failed requests", async () => {
    await expect.poll(() => page.getAttribute('[data-testid="chart-rate"]', "data-points"), { timeout: 10_000 }).not.toBe("0");
    expect(await pixelsNear(page, '[data-testid="chart-rate"]', ACCENT)).toBeGreaterThan(20);
    expect(await pixelsNear(page, '[data-testid="chart-latency"]', ACCENT)).toBeGreaterThan(20);
    expect(Number(await page.textContent('[data-testid="card-rate"]'))).toBeGreaterThan(0);
    // The SDK client's own probing (e.g. a GET for an SSE stream, 405 on a stateless server) may add rows.
    await expect.poll(() => page.locator('[data-testid="error-row"]').count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    const rows = await page.locator('[data-testid="error-row"]').allTextContents();
    for (const id of ["bad-json-0", "bad-json-1", "bad-json-2"]) expect(rows.find((r) => r.includes(id))).toMatch(/echo.*400/);
    expect(Number(await page.textContent('[data-testid="card-errors"]'))).toBeGreaterThanOrEqual(3);
  });

  it("renders a screenshot that is not blank", async () => {
    const png = await page.screenshot({ fullPage: true });
    if (process.env.STINGRAY_SCREENSHOT_DIR) {
      mkdirSync(process.env.STINGRAY_SCREENSHOT_DIR, { recursive: true });
      writeFileSync(`${process.env.STINGRAY_SCREENSHOT_DIR}/dashboard-runtime.png`, png);
    }
    const blank = await browser.newPage();
    try {
      expect(await distinctColors(blank, png)).toBeGreaterThan(50);
    } finally {
      await blank.close();
    }
  });
});
