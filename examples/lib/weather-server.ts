// The MCP quickstart's weather server (tools get_alerts and get_forecast over the National Weather
// Service API) as a per-request McpServer factory, the shape `mcpApp(...)` and the SDK's
// createMcpHandler call once per HTTP request.
//
// Output text is byte-for-byte the tutorial's. Where the tutorial is weak we differ, on purpose:
// - Failures are tool errors (`isError: true`), not plain text: the tutorial's sentence followed by
//   the cause (HTTP status, timeout, network), so a model can tell "no alerts" from "NWS is down".
// - Bad arguments never reach NWS. The zod schemas reject them and the SDK turns that into an
//   `isError` result: "Input validation error: Invalid arguments for tool get_alerts: state: ...".
// - Every NWS call has a deadline (NWS_TIMEOUT_MS) and follows the MCP request's AbortSignal, so a
//   slow NWS or a client that went away never leaves a request hanging.
// - A null NWS field prints the tutorial's default ("No specific instructions provided") rather than
//   Python's "None".

import { McpServer, type CallToolResult } from "@modelcontextprotocol/server";
import * as z from "zod";
import { NwsClient, NwsError, nwsOptionsFromEnv, type NwsClientOptions } from "./nws.ts";

export const ALERTS_FETCH_FAILED = "Unable to fetch alerts or no alerts found.";
export const NO_ACTIVE_ALERTS = "No active alerts for this state.";
export const POINTS_FETCH_FAILED = "Unable to fetch forecast data for this location.";
export const FORECAST_FETCH_FAILED = "Unable to fetch detailed forecast.";

/** Areas NWS serves alerts for that a person would call a state: the 50 states, DC and the territories. */
const US_STATE_CODES = new Set(
  (
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND " +
    "OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC PR VI GU AS MP"
  ).split(" "),
);

const stateSchema = z
  .string()
  .regex(/^[A-Za-z]{2}$/, { error: "must be a two-letter US state code such as CA or NY" })
  .transform((s) => s.toUpperCase())
  .refine((s) => US_STATE_CODES.has(s), { error: (issue) => `${JSON.stringify(issue.input)} is not a US state or territory code` })
  .describe("Two-letter US state code (e.g. CA, NY)");

const alertsInput = z.object({ state: stateSchema });

const forecastInput = z.object({
  latitude: z
    .number({ error: "must be a number" })
    .min(-90, { error: "must be between -90 and 90" })
    .max(90, { error: "must be between -90 and 90" })
    .describe("Latitude of the location"),
  longitude: z
    .number({ error: "must be a number" })
    .min(-180, { error: "must be between -180 and 180" })
    .max(180, { error: "must be between -180 and 180" })
    .describe("Longitude of the location"),
});

/**
 * Builds one server per request from NWS_API_BASE / NWS_TIMEOUT_MS in the environment. The context
 * (stingray's McpFactoryContext or the SDK's McpRequestContext) is not needed: the tools are the
 * same for every era and caller.
 */
export function buildWeatherServer(_ctx?: unknown): McpServer {
  return createWeatherServer(new NwsClient(nwsOptionsFromEnv()));
}

/** A factory bound to fixed NWS options (tests, or an app that configures NWS in code). */
export function createWeatherServerFactory(options: NwsClientOptions = {}): (ctx?: unknown) => McpServer {
  const nws = new NwsClient(options);
  return () => createWeatherServer(nws);
}

function createWeatherServer(nws: NwsClient): McpServer {
  const server = new McpServer({ name: "weather", version: "1.0.0" });

  server.registerTool(
    "get_alerts",
    { description: "Get weather alerts for a US state.", inputSchema: alertsInput },
    async ({ state }, ctx) => {
      let data: unknown;
      try {
        data = await nws.getJson(nws.url(`/alerts/active/area/${state}`), ctx.mcpReq.signal);
      } catch (err) {
        return toolError(ALERTS_FETCH_FAILED, err);
      }
      const features = field(data, "features");
      if (!Array.isArray(features)) return toolError(ALERTS_FETCH_FAILED, "the NWS response has no features list");
      if (features.length === 0) return text(NO_ACTIVE_ALERTS);
      return text(features.map(formatAlert).join("\n---\n"));
    },
  );

  server.registerTool(
    "get_forecast",
    { description: "Get weather forecast for a location.", inputSchema: forecastInput },
    async ({ latitude, longitude }, ctx) => {
      const signal = ctx.mcpReq.signal;
      let points: unknown;
      try {
        points = await nws.getJson(nws.url(`/points/${latitude},${longitude}`), signal);
      } catch (err) {
        const outsideUs = err instanceof NwsError && err.status === 404;
        return toolError(POINTS_FETCH_FAILED, err, outsideUs ? " (NWS covers only US locations)" : "");
      }
      // NWS hands back the gridpoint forecast URL; follow it as given (a fake NWS points it at itself).
      const forecastUrl = field(field(points, "properties"), "forecast");
      if (typeof forecastUrl !== "string") {
        return toolError(POINTS_FETCH_FAILED, "the NWS points response has no properties.forecast URL");
      }
      let forecast: unknown;
      try {
        forecast = await nws.getJson(forecastUrl, signal);
      } catch (err) {
        return toolError(FORECAST_FETCH_FAILED, err);
      }
      const periods = field(field(forecast, "properties"), "periods");
      if (!Array.isArray(periods)) {
        return toolError(FORECAST_FETCH_FAILED, "the NWS forecast response has no properties.periods list");
      }
      return text(periods.slice(0, 5).map(formatPeriod).join("\n---\n"));
    },
  );

  return server;
}

/** The tutorial's `format_alert`, character for character. */
export function formatAlert(feature: unknown): string {
  const props = field(feature, "properties");
  return `
Event: ${show(field(props, "event"), "Unknown")}
Area: ${show(field(props, "areaDesc"), "Unknown")}
Severity: ${show(field(props, "severity"), "Unknown")}
Description: ${show(field(props, "description"), "No description available")}
Instructions: ${show(field(props, "instruction"), "No specific instructions provided")}
`;
}

/** One forecast period as the tutorial prints it. */
export function formatPeriod(period: unknown): string {
  const p = (key: string) => show(field(period, key), "Unknown");
  return `
${p("name")}:
Temperature: ${p("temperature")}°${p("temperatureUnit")}
Wind: ${p("windSpeed")} ${p("windDirection")}
Forecast: ${p("detailedForecast")}
`;
}

function text(value: string): CallToolResult {
  return { content: [{ type: "text", text: value }] };
}

function toolError(summary: string, cause: unknown, hint = ""): CallToolResult {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return { content: [{ type: "text", text: `${summary} Cause: ${reason}${hint}` }], isError: true };
}

function field(obj: unknown, key: string): unknown {
  return typeof obj === "object" && obj !== null ? (obj as Record<string, unknown>)[key] : undefined;
}

function show(value: unknown, fallback: string): string {
  if (value === undefined || value === null) return fallback;
  // NWS can send a QuantitativeValue ({ value, unitCode }) where the tutorial expects a number.
  if (typeof value === "object" && "value" in value) return show((value as { value: unknown }).value, fallback);
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}
