import { describe, expect, it } from "vitest";
import { parseLabels, resolveClusterOptions } from "../../../src/cluster/options.ts";

describe("cluster options", () => {
  it("fills in the name and a node id", () => {
    const o = resolveClusterOptions({ servers: ["nats://127.0.0.1:4222"] });
    expect(o.name).toBe("stingray");
    expect(o.nodeId).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(o.labels).toEqual({});
  });

  it.each([
    [{ servers: [] }, /cluster\.servers: at least one NATS server URL/],
    [{ servers: ["http://x:1"] }, /cluster\.servers\.0: a NATS URL/],
    [{ servers: ["nats://x:1"], name: "a.b" }, /cluster\.name: letters, digits/],
    [{ servers: ["nats://x:1"], nodeId: "a b" }, /cluster\.nodeId: letters, digits/],
    [{ servers: ["nats://x:1"], bogus: 1 }, /cluster/],
  ])("rejects %j naming the option", (input, message) => {
    expect(() => resolveClusterOptions(input)).toThrow(message);
    try {
      resolveClusterOptions(input);
    } catch (err) {
      expect((err as { code: string }).code).toBe("STINGRAY_ERR_INVALID_OPTIONS");
    }
  });

  it("parses --labels", () => {
    expect(parseLabels("zone=a, gpu=a100")).toEqual({ zone: "a", gpu: "a100" });
    expect(() => parseLabels("zone")).toThrow(/--labels: expected key=value/);
  });
});
