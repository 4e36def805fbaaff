// examples/weather.ts as a module: what the worker threads and the CLI see when they import it.
// It declares the tutorial's deployment (autoscaling 1–20 at 5 ongoing requests, 0.2 CPU) with the
// MCP ingress, and importing it must not start a runtime.

import { describe, expect, it } from "vitest";
import { serve } from "../../../src/index.ts";
import { INGRESS, type IngressDefinition } from "../../../src/deployments/ingress-definition.ts";
import { app, WeatherMCP } from "../../../examples/weather.ts";

describe("examples/weather.ts", () => {
  it("declares the tutorial's autoscaling and CPU share", () => {
    const { config, name } = app.deployment;
    expect(name).toBe("WeatherMCP");
    expect(config.numReplicas).toBeUndefined();
    expect(config.autoscaling).toMatchObject({ minReplicas: 1, maxReplicas: 20, targetOngoingRequests: 5, initialReplicas: 1 });
    expect(config.actorOptions.numCpus).toBe(0.2);
    expect(app.args).toEqual([]);
  });

  it("serves MCP through its ingress", () => {
    const definition = (WeatherMCP as unknown as { [INGRESS]?: IngressDefinition })[INGRESS];
    expect(definition?.kind).toBe("mcp");
  });

  it("starts no runtime when imported", () => {
    expect(serve.runtime).toBeUndefined();
    expect(serve.address()).toBeUndefined();
  });
});
