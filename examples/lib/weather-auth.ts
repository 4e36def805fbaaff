// Optional OAuth protection for the weather example, from the environment: with
// WEATHER_JWT_ISSUER set, the MCP endpoint accepts only JWT access tokens from that issuer for
// this resource, and both tools need the `weather:read` scope (a token without it gets 403
// insufficient_scope, and tools/list shows it neither tool); WEATHER_RATE_LIMIT_RPS adds a
// per-caller rate limit. Unset, the example is open, as the tutorial's is.
//
//   WEATHER_JWT_ISSUER=https://auth.example.com            the authorization server (iss)
//   WEATHER_JWT_AUDIENCE=https://weather.example.com/mcp   this server's URL as tokens name it (aud)
//   WEATHER_JWKS_URI=https://auth.example.com/.well-known/jwks.json   its signing keys
//   WEATHER_RATE_LIMIT_RPS=5                              requests per second per caller (burst 2x)

import type { McpAppOptions } from "stingray";

export const WEATHER_READ_SCOPE = "weather:read";

export function weatherAccessFromEnv(env: Record<string, string | undefined> = process.env): Pick<McpAppOptions, "auth" | "rateLimit"> {
  const options: Pick<McpAppOptions, "auth" | "rateLimit"> = {};
  const issuer = env.WEATHER_JWT_ISSUER;
  if (issuer) {
    const audience = env.WEATHER_JWT_AUDIENCE;
    const jwksUri = env.WEATHER_JWKS_URI;
    if (!audience || !jwksUri) throw new TypeError("WEATHER_JWT_ISSUER needs WEATHER_JWT_AUDIENCE and WEATHER_JWKS_URI too");
    options.auth = {
      jwt: { issuer, audience, jwksUri },
      scopes: { tools: { get_alerts: [WEATHER_READ_SCOPE], get_forecast: [WEATHER_READ_SCOPE] } },
    };
  }
  const rps = env.WEATHER_RATE_LIMIT_RPS;
  if (rps) {
    const requestsPerS = Number(rps);
    if (!(requestsPerS > 0)) throw new TypeError(`WEATHER_RATE_LIMIT_RPS must be a positive number, got ${JSON.stringify(rps)}`);
    options.rateLimit = { requestsPerS, burst: Math.max(1, Math.ceil(requestsPerS * 2)) };
  }
  return options;
}
