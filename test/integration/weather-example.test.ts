// The weather example end to end, as a user runs it: `tsx examples/weather.ts` in its own process
// (runtime, proxy, worker-thread replicas), NWS_API_BASE pointing at the fake NWS, both tools
// called through the real SDK client over HTTP in both protocol eras, then SIGTERM and a clean exit.
//
// It starts tsx's CLI directly rather than through `npx tsx`: npm exec runs the command under
// `sh -c` and exits on SIGTERM without passing the signal on (measured: npx exits 143 and leaves
// tsx and the app running), so SIGTERM to npx would test npm, not the example. tsx itself relays
// the signal to the app and exits with its code.

import type { ChildProcess } from "node:child_process";
import { Client, StreamableHTTPClientTransport, type CallToolResult } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CA_ALERTS_TEXT, FORECAST_TEXT, startFakeNws, type FakeNws } from "../fixtures/fake-nws.ts";
import { exited, killWeatherProcess, startWeatherProcess, type WeatherProcess } from "../fixtures/weather-process.ts";


let fake: FakeNws;
let weather: WeatherProcess;
let child: ChildProcess;
let mcpUrl: URL;

async function connect(era: "legacy" | "modern"): Promise<Client> {
  const client = new Client(
    { name: "weather-it", version: "1.0.0" },
    era === "modern" ? { versionNegotiation: { mode: { pin: "2026-07-28" } } } : {},
  );
  await client.connect(new StreamableHTTPClientTransport(mcpUrl));
  return client;
}

async function callText(client: Client, name: string, args: Record<string, unknown>) {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  const block = result.content[0];
  return { text: block?.type === "text" ? block.text : JSON.stringify(block), isError: result.isError === true };
}

beforeAll(async () => {
  fake = await startFakeNws();
  weather = await startWeatherProcess({ NWS_API_BASE: fake.baseUrl, NWS_TIMEOUT_MS: "5000" });
  ({ child, mcpUrl } = weather);
}, 40_000);

afterAll(async () => {
  // The SIGTERM test may have ended it already.
  await killWeatherProcess(child);
  await fake?.close();
});

describe("examples/weather.ts", () => {
  it.each(["legacy", "modern"] as const)("serves both tools over HTTP (%s era)", async (era) => {
    const client = await connect(era);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(["get_alerts", "get_forecast"]);
      expect(await callText(client, "get_alerts", { state: "ca" })).toEqual({ text: CA_ALERTS_TEXT, isError: false });
      const forecast = await callText(client, "get_forecast", { latitude: 37.7749, longitude: -122.4194 });
      expect(forecast.isError).toBe(false);
      expect(forecast.text).toBe(FORECAST_TEXT);
      expect(forecast.text.split("\n---\n")).toHaveLength(5);
      const bad = await callText(client, "get_forecast", { latitude: 123, longitude: 0 });
      expect(bad.isError).toBe(true);
      expect(bad.text).toContain("latitude: must be between -90 and 90");
    } finally {
      await client.close();
    }
  });

  it("reached NWS with the tutorial's headers from the replicas", () => {
    const fromApp = fake.requests.filter((r) => r.path === "/alerts/active/area/CA");
    expect(fromApp.length).toBeGreaterThanOrEqual(2);
    for (const r of fromApp) {
      expect(r.userAgent).toBe("weather-app/1.0");
      expect(r.accept).toBe("application/geo+json");
    }
  });

  it("shuts down and exits on SIGTERM", async () => {
    // The runtime shuts down on SIGTERM and then exits 143 (128 + SIGTERM) by its own choice; a
    // process that merely died of the signal would report signal "SIGTERM" and no code instead.
    const done = exited(child);
    child.kill("SIGTERM");
    const result = await Promise.race([done, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 20_000))]);
    expect(result, weather.output()).toEqual({ code: 143, signal: null });
    // The proxy is gone with it.
    await expect(fetch(new URL("/-/healthz", mcpUrl))).rejects.toThrow();
  }, 30_000);
});
