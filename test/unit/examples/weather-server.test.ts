// The weather MCP server's tools, driven by the real SDK client through the SDK's own HTTP entry
// (createMcpHandler's web-standard fetch, in process, no sockets to the MCP side) in both protocol
// eras, against the fake NWS server. Expected texts are written out in full: they are the
// tutorial's output format applied to the fake's recorded-shape data.

import { Client, StreamableHTTPClientTransport, type CallToolResult } from "@modelcontextprotocol/client";
import { createMcpHandler, type McpHttpHandler } from "@modelcontextprotocol/server";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildWeatherServer, createWeatherServerFactory } from "../../../examples/lib/weather-server.ts";
import { CA_ALERTS_TEXT, FAKE_FORECAST_PATH, FORECAST_TEXT, startFakeNws, type FakeNws } from "../../fixtures/fake-nws.ts";


let fake: FakeNws;
const open: Array<{ client: Client; handler: McpHttpHandler }> = [];

beforeAll(async () => {
  fake = await startFakeNws();
});
afterEach(async () => {
  for (const { client, handler } of open.splice(0)) {
    await client.close();
    await handler.close();
  }
});
afterAll(async () => {
  await fake.close();
});

type Era = "legacy" | "modern";

async function connect(era: Era, factory = createWeatherServerFactory({ baseUrl: fake.baseUrl })): Promise<Client> {
  const handler = createMcpHandler(factory);
  const transport = new StreamableHTTPClientTransport(new URL("http://weather.test/mcp"), {
    fetch: (url, init) => handler.fetch(new Request(url, init)),
  });
  const client = new Client(
    { name: "weather-test", version: "1.0.0" },
    era === "modern" ? { versionNegotiation: { mode: { pin: "2026-07-28" } } } : {},
  );
  await client.connect(transport);
  open.push({ client, handler });
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<{ text: string; isError: boolean }> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  expect(result.content).toHaveLength(1);
  const [block] = result.content;
  if (block?.type !== "text") throw new Error(`expected text content, got ${JSON.stringify(block)}`);
  return { text: block.text, isError: result.isError === true };
}

function requestsSince(mark: number) {
  return fake.requests.slice(mark);
}

describe.each<Era>(["legacy", "modern"])("weather tools (%s era)", (era) => {
  it("lists both tools with their argument schemas", async () => {
    const client = await connect(era);
    const { tools } = await client.listTools();
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    expect(Object.keys(byName).sort()).toEqual(["get_alerts", "get_forecast"]);
    expect(byName.get_alerts!.description).toBe("Get weather alerts for a US state.");
    expect(byName.get_alerts!.inputSchema).toMatchObject({
      type: "object",
      properties: { state: { type: "string", description: "Two-letter US state code (e.g. CA, NY)" } },
      required: ["state"],
    });
    expect(byName.get_forecast!.inputSchema).toMatchObject({
      type: "object",
      properties: {
        latitude: { type: "number", minimum: -90, maximum: 90 },
        longitude: { type: "number", minimum: -180, maximum: 180 },
      },
      required: ["latitude", "longitude"],
    });
  });

  it("formats active alerts exactly as the tutorial does", async () => {
    const client = await connect(era);
    const mark = fake.requests.length;
    expect(await call(client, "get_alerts", { state: "CA" })).toEqual({ text: CA_ALERTS_TEXT, isError: false });
    expect(requestsSince(mark)).toEqual([
      { method: "GET", path: "/alerts/active/area/CA", userAgent: "weather-app/1.0", accept: "application/geo+json" },
    ]);
  });

  it("accepts a lower-case state code and asks NWS for the upper-case one", async () => {
    const client = await connect(era);
    const mark = fake.requests.length;
    expect(await call(client, "get_alerts", { state: "ca" })).toEqual({ text: CA_ALERTS_TEXT, isError: false });
    expect(requestsSince(mark).map((r) => r.path)).toEqual(["/alerts/active/area/CA"]);
  });

  it("says so when a state has no active alerts", async () => {
    const client = await connect(era);
    expect(await call(client, "get_alerts", { state: "NY" })).toEqual({
      text: "No active alerts for this state.",
      isError: false,
    });
  });

  it("gives the first five forecast periods, following the points response to the forecast URL", async () => {
    const client = await connect(era);
    const mark = fake.requests.length;
    const result = await call(client, "get_forecast", { latitude: 37.7749, longitude: -122.4194 });
    expect(result).toEqual({ text: FORECAST_TEXT, isError: false });
    expect(requestsSince(mark)).toEqual([
      { method: "GET", path: "/points/37.7749,-122.4194", userAgent: "weather-app/1.0", accept: "application/geo+json" },
      { method: "GET", path: FAKE_FORECAST_PATH, userAgent: "weather-app/1.0", accept: "application/geo+json" },
    ]);
  });

  it("turns an NWS 500 into a tool error naming the status", async () => {
    fake.route("/alerts/active/area/TX", { status: 500 });
    const client = await connect(era);
    expect(await call(client, "get_alerts", { state: "TX" })).toEqual({
      text: `Unable to fetch alerts or no alerts found. Cause: NWS returned HTTP 500 Internal Server Error for ${fake.baseUrl}/alerts/active/area/TX`,
      isError: true,
    });
  });

  it("rejects a state that is not two letters, naming the argument, without calling NWS", async () => {
    const client = await connect(era);
    const mark = fake.requests.length;
    const result = await call(client, "get_alerts", { state: "California" });
    expect(result.isError).toBe(true);
    expect(result.text).toContain("get_alerts");
    expect(result.text).toContain("state: must be a two-letter US state code such as CA or NY");
    expect(requestsSince(mark)).toEqual([]);
  });

  it("rejects an out-of-range latitude and longitude, naming each", async () => {
    const client = await connect(era);
    const mark = fake.requests.length;
    const lat = await call(client, "get_forecast", { latitude: 91, longitude: 0 });
    expect(lat.isError).toBe(true);
    expect(lat.text).toContain("latitude: must be between -90 and 90");
    const lon = await call(client, "get_forecast", { latitude: 0, longitude: -180.5 });
    expect(lon.isError).toBe(true);
    expect(lon.text).toContain("longitude: must be between -180 and 180");
    expect(lon.text).not.toContain("latitude");
    expect(requestsSince(mark)).toEqual([]);
  });
});

describe("weather tools: argument validation", () => {
  it("rejects two letters that are not a US state or territory", async () => {
    const client = await connect("legacy");
    const result = await call(client, "get_alerts", { state: "zz" });
    expect(result.isError).toBe(true);
    expect(result.text).toContain('state: "ZZ" is not a US state or territory code');
  });

  it("rejects a missing or non-numeric coordinate", async () => {
    const client = await connect("legacy");
    const missing = await call(client, "get_forecast", { latitude: 10 });
    expect(missing.isError).toBe(true);
    expect(missing.text).toContain("longitude: must be a number");
    const text = await call(client, "get_forecast", { latitude: "north", longitude: 3 });
    expect(text.isError).toBe(true);
    expect(text.text).toContain("latitude: must be a number");
  });

  it("accepts the edges of the coordinate ranges", async () => {
    const client = await connect("legacy");
    const mark = fake.requests.length;
    const result = await call(client, "get_forecast", { latitude: -90, longitude: 180 });
    expect(result.isError).toBe(false);
    expect(requestsSince(mark)[0]!.path).toBe("/points/-90,180");
  });
});

describe("weather tools: NWS failures", () => {
  it("reports a point NWS does not cover, with the status and a hint", async () => {
    fake.route("/points/0,0", { status: 404 });
    const client = await connect("legacy");
    expect(await call(client, "get_forecast", { latitude: 0, longitude: 0 })).toEqual({
      text: `Unable to fetch forecast data for this location. Cause: NWS returned HTTP 404 Not Found for ${fake.baseUrl}/points/0,0 (NWS covers only US locations)`,
      isError: true,
    });
  });

  it("reports a failing forecast URL with the tutorial's second message", async () => {
    fake.route("/points/40,-100", {
      json: { type: "Feature", properties: { forecast: `${fake.baseUrl}/gridpoints/XYZ/1,1/forecast` } },
    });
    fake.route("/gridpoints/XYZ/1,1/forecast", { status: 503 });
    const client = await connect("legacy");
    expect(await call(client, "get_forecast", { latitude: 40, longitude: -100 })).toEqual({
      text: `Unable to fetch detailed forecast. Cause: NWS returned HTTP 503 Service Unavailable for ${fake.baseUrl}/gridpoints/XYZ/1,1/forecast`,
      isError: true,
    });
  });

  it("reports malformed NWS answers instead of crashing", async () => {
    fake.route("/alerts/active/area/OR", { json: { type: "FeatureCollection" } });
    fake.route("/points/41,-101", { json: { type: "Feature", properties: {} } });
    fake.route("/points/42,-102", { json: { properties: { forecast: `${fake.baseUrl}/gridpoints/BAD/1,1/forecast` } } });
    fake.route("/gridpoints/BAD/1,1/forecast", { json: { properties: { periods: "none" } } });
    fake.route("/alerts/active/area/WA", "garbage");
    const client = await connect("legacy");
    expect(await call(client, "get_alerts", { state: "OR" })).toEqual({
      text: "Unable to fetch alerts or no alerts found. Cause: the NWS response has no features list",
      isError: true,
    });
    expect(await call(client, "get_forecast", { latitude: 41, longitude: -101 })).toEqual({
      text: "Unable to fetch forecast data for this location. Cause: the NWS points response has no properties.forecast URL",
      isError: true,
    });
    expect(await call(client, "get_forecast", { latitude: 42, longitude: -102 })).toEqual({
      text: "Unable to fetch detailed forecast. Cause: the NWS forecast response has no properties.periods list",
      isError: true,
    });
    const garbage = await call(client, "get_alerts", { state: "WA" });
    expect(garbage.isError).toBe(true);
    expect(garbage.text).toMatch(/^Unable to fetch alerts or no alerts found\. Cause: NWS returned a body that is not JSON/);
  });

  it("prints the tutorial's defaults for missing alert fields", async () => {
    fake.route("/alerts/active/area/NV", { json: { features: [{ properties: {} }, { properties: { event: "Heat Advisory", severity: null } }] } });
    const client = await connect("legacy");
    expect(await call(client, "get_alerts", { state: "NV" })).toEqual({
      text: `
Event: Unknown
Area: Unknown
Severity: Unknown
Description: No description available
Instructions: No specific instructions provided

---

Event: Heat Advisory
Area: Unknown
Severity: Unknown
Description: No description available
Instructions: No specific instructions provided
`,
      isError: false,
    });
  });

  it.each<Era>(["legacy", "modern"])("times out a hanging NWS with a tool error (%s era)", async (era) => {
    fake.route("/alerts/active/area/AZ", "hang");
    fake.route("/points/33,-112", "hang-body");
    const client = await connect(era, createWeatherServerFactory({ baseUrl: fake.baseUrl, timeoutMs: 200 }));
    const started = Date.now();
    expect(await call(client, "get_alerts", { state: "AZ" })).toEqual({
      text: `Unable to fetch alerts or no alerts found. Cause: NWS did not answer within 200 ms for ${fake.baseUrl}/alerts/active/area/AZ`,
      isError: true,
    });
    expect(await call(client, "get_forecast", { latitude: 33, longitude: -112 })).toEqual({
      text: `Unable to fetch forecast data for this location. Cause: NWS did not answer within 200 ms for ${fake.baseUrl}/points/33,-112`,
      isError: true,
    });
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe("buildWeatherServer", () => {
  it("reads NWS_API_BASE and NWS_TIMEOUT_MS from the environment for each server it builds", async () => {
    const saved = { base: process.env.NWS_API_BASE, timeout: process.env.NWS_TIMEOUT_MS };
    process.env.NWS_API_BASE = fake.baseUrl;
    process.env.NWS_TIMEOUT_MS = "150";
    try {
      fake.route("/alerts/active/area/UT", "hang");
      const client = await connect("legacy", buildWeatherServer);
      expect(await call(client, "get_alerts", { state: "CA" })).toEqual({ text: CA_ALERTS_TEXT, isError: false });
      expect(await call(client, "get_alerts", { state: "UT" })).toEqual({
        text: `Unable to fetch alerts or no alerts found. Cause: NWS did not answer within 150 ms for ${fake.baseUrl}/alerts/active/area/UT`,
        isError: true,
      });
    } finally {
      restore("NWS_API_BASE", saved.base);
      restore("NWS_TIMEOUT_MS", saved.timeout);
    }
  });
});

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
