// The live dashboard in a real headless Chromium, against the real observability router fed by a
// fake status provider and real request metrics.

import { mkdirSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { ACCENT, distinctColors, inkedPixels, launchChromium, pixelsNear } from "./browser.ts";
import { startFakeRuntime, type FakeRuntime } from "./fake-runtime.ts";

let browser: Browser;
let rt: FakeRuntime;
let page: Page;
// History is back-filled: the rolling window's clock is shifted back while old traffic is recorded.
let clockOffsetMs = 0;

beforeAll(async () => {
  rt = await startFakeRuntime({ metrics: { clock: () => Date.now() - clockOffsetMs } });
  for (let agoS = 240; agoS >= 0; agoS -= 5) {
    clockOffsetMs = agoS * 1000;
    const n = 5 + Math.round(4 * Math.sin(agoS / 30));
    for (let i = 0; i < n; i++) {
      rt.metrics.recordRequest({ app: "weather", deployment: "WeatherMCP", route: "/weather", status: 200, latencyMs: 5 + ((agoS + i * 7) % 40), mcpMethod: "tools/call", tool: "get_forecast" });
    }
  }
  clockOffsetMs = 0;
  rt.metrics.recordRequest({ app: "weather", deployment: "WeatherMCP", route: "/weather", status: 503, latencyMs: 2, mcpMethod: "tools/call", tool: "get_alerts", requestId: "req-503", error: "no replica can take the request" });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await rt?.close().catch(() => {}); // the last test already closed it
});

describe("dashboard", () => {
  it("shows applications, deployments, replica counts and resources", async () => {
    await page.goto(`${rt.url}/-/dashboard`);
    await page.waitForSelector('[data-testid="app"][data-app="translate"]');
    expect(await page.locator('[data-testid="app-name"]').allTextContents()).toEqual(["weather", "translate"]);
    expect(await page.textContent('[data-testid="card-apps"]')).toBe("2");
    expect(await page.textContent('[data-testid="card-deployments"]')).toBe("2");
    expect(await page.textContent('[data-testid="card-replicas"]')).toBe("2 / 4");
    const weather = page.locator('[data-deployment="WeatherMCP"]');
    expect(await weather.locator('[data-testid="replica-count"]').textContent()).toBe("2 / 3");
    expect(await weather.locator('[data-state="RUNNING"]').textContent()).toBe("RUNNING 2");
    expect(await weather.locator('[data-state="STARTING"]').textContent()).toBe("STARTING 1");
    expect(await weather.locator(".replica").count()).toBe(3);
    const translator = page.locator('[data-deployment="Translator"]');
    expect(await translator.textContent()).toContain("PENDING 1");
    expect(await page.textContent('[data-testid="resources"]')).toContain("CPU 1.5 / 4 used");
    expect(await page.textContent('[data-testid="connection"]')).toBe("live");
  });

  it("draws request-rate and latency charts and lists recent errors", async () => {
    await expect.poll(() => page.getAttribute('[data-testid="chart-rate"]', "data-points"), { timeout: 10_000 }).not.toBe("0");
    expect(Number(await page.getAttribute('[data-testid="chart-rate"]', "data-points"))).toBeGreaterThan(20);
    expect(Number(await page.getAttribute('[data-testid="chart-latency"]', "data-points"))).toBeGreaterThan(20);
    expect(await inkedPixels(page, '[data-testid="chart-rate"]')).toBeGreaterThan(1000);
    // The series themselves (not just axes and grid) are drawn in the accent colour.
    expect(await pixelsNear(page, '[data-testid="chart-rate"]', ACCENT)).toBeGreaterThan(300);
    expect(await pixelsNear(page, '[data-testid="chart-latency"]', ACCENT)).toBeGreaterThan(300);
    const row = page.locator('[data-testid="error-row"]').first();
    await row.waitFor();
    expect(await row.textContent()).toContain("no replica can take the request");
    expect(await row.textContent()).toContain("req-503");
    expect(Number(await page.textContent('[data-testid="card-rate"]'))).toBeGreaterThan(0);
  });

  it("follows changes of the runtime live", async () => {
    const next = structuredClone(rt.snapshot);
    next.applications[0]!.deployments[0]!.replicaStates = { RUNNING: 3 };
    next.applications[0]!.deployments[0]!.replicas = ["a1", "a2", "a3"].map((id) => ({ id, state: "RUNNING", ongoing: 0 }));
    // A hostile app name must render as text, never as markup.
    next.applications[1]!.name = '<img src=x onerror="window.__pwned=1">';
    rt.snapshot = next;
    await expect.poll(() => page.textContent('[data-testid="card-replicas"]'), { timeout: 10_000 }).toBe("3 / 4");
    expect(await page.locator('[data-testid="app-name"]').nth(1).textContent()).toBe(next.applications[1]!.name);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.locator('[data-deployment="WeatherMCP"] [data-testid="replica-count"]').textContent()).toBe("3 / 3");
  });

  it("shows the cluster's nodes in cluster mode, and no nodes panel otherwise", async () => {
    expect(await page.isHidden('[data-testid="nodes-panel"]')).toBe(true);
    const next = structuredClone(rt.snapshot);
    next.cluster = { name: "prod", nodeId: "a", leader: "b", term: 4 } as never;
    next.nodes = [
      { id: "a", state: "ALIVE", leader: false, address: "http://10.0.0.1:8000", resources: { total: { CPU: 4 }, available: { CPU: 3 } }, lastSeenMsAgo: 200 },
      { id: "b", state: "DEAD", leader: true, resources: { total: { CPU: 2 }, available: { CPU: 2 } }, lastSeenMsAgo: 4_000 },
    ];
    rt.snapshot = next;
    await page.waitForSelector('[data-testid="node"][data-node="b"]', { timeout: 10_000 });
    expect(await page.textContent('[data-testid="cluster"]')).toBe("cluster prod · this node a · leader b");
    const a = page.locator('[data-node="a"]');
    expect(await a.locator('[data-testid="node-state"]').textContent()).toBe("ALIVE");
    expect(await a.textContent()).toContain("CPU 1 / 4");
    expect(await page.locator('[data-node="b"]').textContent()).toContain("leader");
    expect(await page.locator('[data-node="b"] [data-testid="node-state"]').getAttribute("class")).toContain("s-bad");
  });

  it("renders a screenshot that is not blank", async () => {
    const png = await page.screenshot({ fullPage: true });
    if (process.env.STINGRAY_SCREENSHOT_DIR) {
      mkdirSync(process.env.STINGRAY_SCREENSHOT_DIR, { recursive: true });
      writeFileSync(`${process.env.STINGRAY_SCREENSHOT_DIR}/dashboard-fake.png`, png);
    }
    const blank = await browser.newPage();
    try {
      expect(await distinctColors(blank, png)).toBeGreaterThan(50);
      // The check itself can fail: an all-white screenshot has one colour.
      await blank.setContent("<html><body style='background:#fff'></body></html>");
      expect(await distinctColors(blank, await blank.screenshot())).toBeLessThanOrEqual(2);
    } finally {
      await blank.close();
    }
  });

  it("says so when the runtime goes away", async () => {
    expect(await page.textContent('[data-testid="connection"]')).toBe("live");
    await rt.close();
    await expect.poll(() => page.textContent('[data-testid="connection"]'), { timeout: 10_000 }).toBe("disconnected");
  });
});
