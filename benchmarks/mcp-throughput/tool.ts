// The tool both servers in the mcp-throughput benchmark serve: the weather example's get_forecast
// shape (same zod validation of latitude/longitude) answered locally, with no NWS call, so the
// benchmark measures the serving path — HTTP, MCP framing, per-request server construction — and
// not the network.

import { McpServer } from "@modelcontextprotocol/server";
import * as z from "zod";

const forecastInput = z.object({
  latitude: z.number().min(-90).max(90).describe("Latitude of the location"),
  longitude: z.number().min(-180).max(180).describe("Longitude of the location"),
});

export const TOOL_NAME = "get_forecast";
export const TOOL_ARGS = { latitude: 37.77, longitude: -122.42 };
export const EXPECTED_TEXT = "Forecast for 37.77,-122.42: sunny, 18°C, wind 10 km/h W";

/** A fresh server per request, as the SDK's stateless pattern and stingray's mcpApp both build. */
export function buildEchoWeatherServer(): McpServer {
  const server = new McpServer({ name: "weather", version: "1.0.0" });
  server.registerTool(
    TOOL_NAME,
    { description: "Get weather forecast for a location.", inputSchema: forecastInput },
    async ({ latitude, longitude }) => ({
      content: [{ type: "text", text: `Forecast for ${latitude},${longitude}: sunny, 18°C, wind 10 km/h W` }],
    }),
  );
  return server;
}
