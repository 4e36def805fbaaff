// The weather example's optional JWT auth and rate limit, read from the environment: off by
// default, both tools behind weather:read when an issuer is set, options mcpApp accepts.

import { describe, expect, it } from "vitest";
import { parseMcpAppOptions } from "../../../src/ingress/options.ts";
import { weatherAccessFromEnv } from "../../../examples/lib/weather-auth.ts";

describe("examples/lib/weather-auth.ts", () => {
  it("leaves the example open without WEATHER_JWT_ISSUER", () => {
    expect(weatherAccessFromEnv({})).toEqual({});
  });

  it("turns on JWT auth with weather:read on both tools, and a rate limit", () => {
    const options = weatherAccessFromEnv({
      WEATHER_JWT_ISSUER: "https://auth.example.com",
      WEATHER_JWT_AUDIENCE: "http://127.0.0.1:8000/mcp",
      WEATHER_JWKS_URI: "https://auth.example.com/jwks.json",
      WEATHER_RATE_LIMIT_RPS: "5",
    });
    expect(options.auth?.jwt).toEqual({ issuer: "https://auth.example.com", audience: "http://127.0.0.1:8000/mcp", jwksUri: "https://auth.example.com/jwks.json" });
    expect(options.auth?.scopes?.tools).toEqual({ get_alerts: ["weather:read"], get_forecast: ["weather:read"] });
    expect(options.rateLimit).toEqual({ requestsPerS: 5, burst: 10 });
    expect(parseMcpAppOptions(options).auth?.jwt?.issuer).toBe("https://auth.example.com");
  });

  it("names what is missing or wrong", () => {
    expect(() => weatherAccessFromEnv({ WEATHER_JWT_ISSUER: "https://a" })).toThrow(/WEATHER_JWT_AUDIENCE and WEATHER_JWKS_URI/);
    expect(() => weatherAccessFromEnv({ WEATHER_RATE_LIMIT_RPS: "fast" })).toThrow(/WEATHER_RATE_LIMIT_RPS/);
  });
});
