// The `http` options of serve.start() / the config file / `stingray run`: defaults, validation that
// names the option, the connection-limit values the proxy's server gets, and the config file's
// http section accepting the same fields.

import { describe, expect, it } from "vitest";
import { parseDeployConfig } from "../../../src/cli/config.ts";
import { serverTimeouts } from "../../../src/ingress/connection-limits.ts";
import { parseHttpOptions } from "../../../src/ingress/options.ts";

describe("parseHttpOptions", () => {
  it("fills in the defaults", () => {
    expect(parseHttpOptions(undefined, "serve.start()")).toEqual({
      headersTimeoutMs: 10_000,
      bodyTimeoutMs: 20_000,
      keepAliveTimeoutMs: 65_000,
      maxConnections: 10_000,
      publicDashboard: false,
    });
    expect(parseHttpOptions({ host: "0.0.0.0", port: 0, maxConnections: 5, publicDashboard: true }, "x")).toMatchObject({ maxConnections: 5, publicDashboard: true });
  });

  it.each([
    [{ headersTimeoutMs: 0 }, 'serve.start(): option "http.headersTimeoutMs" Too small'],
    [{ bodyTimeoutMs: 1.5 }, 'option "http.bodyTimeoutMs"'],
    [{ keepAliveTimeoutMs: "5s" }, 'option "http.keepAliveTimeoutMs"'],
    [{ maxConnections: -1 }, 'option "http.maxConnections"'],
    [{ publicDashboard: "yes" }, 'option "http.publicDashboard"'],
    [{ port: 70_000 }, 'option "http.port"'],
    [{ maxConnection: 10 }, 'option "http.maxConnection" is not a known option'],
    [{ headersTimeoutMs: 30_000 }, 'option "http.headersTimeoutMs" must be at most http.bodyTimeoutMs (20000), got 30000'],
    [{ bodyTimeoutMs: 5_000 }, 'option "http.bodyTimeoutMs" must be at least http.headersTimeoutMs (10000), got 5000'],
  ])("rejects %j naming the option", (input, message) => {
    expect(() => parseHttpOptions(input as never, "serve.start()")).toThrow(expect.objectContaining({ code: "STINGRAY_ERR_INVALID_OPTIONS", message: expect.stringContaining(message) }));
  });
});

describe("serverTimeouts", () => {
  it("maps the options onto Node's server options and checks deadlines each second at most", () => {
    const limits = { headersTimeoutMs: 10_000, bodyTimeoutMs: 20_000, keepAliveTimeoutMs: 65_000, maxConnections: 10 };
    expect(serverTimeouts(limits)).toEqual({ headersTimeout: 10_000, requestTimeout: 20_000, keepAliveTimeout: 65_000, connectionsCheckingInterval: 1_000 });
    expect(serverTimeouts({ ...limits, headersTimeoutMs: 300 }).connectionsCheckingInterval).toBe(300);
  });
});

describe("the config file's http section", () => {
  const yaml = (http: string) => `http: ${http}\napplications:\n  - name: a\n    importPath: a.ts:app\n`;
  it("takes the server options", () => {
    expect(parseDeployConfig(yaml("{ host: 0.0.0.0, headersTimeoutMs: 5000, bodyTimeoutMs: 15000, keepAliveTimeoutMs: 30000, maxConnections: 500, publicDashboard: true }"), "deploy.yaml").http).toEqual({
      host: "0.0.0.0",
      headersTimeoutMs: 5000,
      bodyTimeoutMs: 15000,
      keepAliveTimeoutMs: 30000,
      maxConnections: 500,
      publicDashboard: true,
    });
  });
  it("names a bad field with its line", () => {
    expect(() => parseDeployConfig(yaml("{ maxConnections: many }"), "deploy.yaml")).toThrow(/deploy\.yaml:1:25 http\.maxConnections: expected number, got string/);
    expect(() => parseDeployConfig(yaml("{ requestTimeoutMs: 5 }"), "deploy.yaml")).toThrow(/http\.requestTimeoutMs: unknown field/);
  });
});
