import { describe, expect, it } from "vitest";
import { packageOf, summarizeProfile, type CpuProfile } from "../../../benchmarks/lib/cpuprofile.ts";

describe("packageOf", () => {
  it.each([
    ["file:///work/main/node_modules/zod/v4/core/core.js", "", "zod"],
    ["file:///work/main/node_modules/@modelcontextprotocol/server/dist/index.mjs", "", "@modelcontextprotocol/server"],
    ["node:internal/webstreams/readablestream", "", "node:internal"],
    ["file:///work/main/src/ingress/proxy.ts", "", "src/ingress"],
    ["file:///work/main/src/serve.ts", "", "src/serve"],
    ["", "(garbage collector)", "(garbage collector)"],
    ["", "postMessage", "(native)"],
  ])("%s → %s", (url, fn, expected) => {
    expect(packageOf(url, fn)).toBe(expected);
  });
});

describe("summarizeProfile", () => {
  // Root → a (zod) → b (src/ingress); idle at the root. Samples: a, b, b, idle; each 1 ms apart.
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: { functionName: "(root)", url: "", lineNumber: -1 }, children: [2, 4] },
      { id: 2, callFrame: { functionName: "check", url: "file:///x/node_modules/zod/a.js", lineNumber: 9 }, children: [3] },
      { id: 3, callFrame: { functionName: "handle", url: "file:///x/src/ingress/proxy.ts", lineNumber: 41 } },
      { id: 4, callFrame: { functionName: "(idle)", url: "", lineNumber: -1 } },
    ],
    startTime: 0,
    endTime: 4000,
    samples: [2, 3, 3, 4],
    timeDeltas: [0, 1000, 1000, 1000],
  };

  it("attributes each sample's interval to its node and leaves idle out of the shares", () => {
    // The delta after sample i is the time spent in it; the last sample has none.
    const byPackage = summarizeProfile(profile, "package");
    expect(byPackage.totalMs).toBe(3);
    expect(byPackage.idleMs).toBe(0);
    expect(byPackage.lines).toEqual([
      { name: "src/ingress", ms: 2, share: 2 / 3 },
      { name: "zod", ms: 1, share: 1 / 3 },
    ]);
    expect(summarizeProfile(profile, "function").lines[0]).toEqual({ name: "handle src/ingress:42", ms: 2, share: 2 / 3 });
  });
});

describe("summarizeProfile with a start-up cut", () => {
  it("leaves out samples taken before skipMs", () => {
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: { functionName: "(root)", url: "", lineNumber: -1 }, children: [2, 3] },
        { id: 2, callFrame: { functionName: "load", url: "node:internal/modules/esm/loader", lineNumber: 0 } },
        { id: 3, callFrame: { functionName: "serve", url: "file:///x/src/ingress/proxy.ts", lineNumber: 0 } },
      ],
      startTime: 0,
      endTime: 0,
      // load at 0 and 10 ms, then serve at 20, 30 ms (and a closing sample at 40 ms).
      samples: [2, 2, 3, 3, 3],
      timeDeltas: [0, 10_000, 10_000, 10_000, 10_000],
    };
    expect(summarizeProfile(profile, "package").lines.map((l) => [l.name, l.ms])).toEqual([
      ["node:internal", 20],
      ["src/ingress", 20],
    ]);
    expect(summarizeProfile(profile, "package", 15).lines.map((l) => [l.name, l.ms])).toEqual([["src/ingress", 20]]);
  });
});
