import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, parseDeployConfig, resolveImportPaths, validateDeployConfig } from "../../../src/cli/config.ts";
import { ErrorCode } from "../../../src/errors.ts";

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe(ErrorCode.INVALID_OPTIONS);
    return (err as ConfigError).issues;
  }
  throw new Error("expected the config to be rejected");
}

const GOOD = `
http:
  host: 127.0.0.1
  port: 8123
applications:
  - name: weather
    routePrefix: /weather
    importPath: examples/weather.ts:app
    deployments:
      - name: WeatherMCP
        numReplicas: 2
        actorOptions: { numCpus: 0.5 }
  - name: translate
    routePrefix: /translate
    importPath: examples/translate.ts:build
    args: { model: tiny }
    deployments:
      - name: Translator
        autoscalingConfig: { minReplicas: 1, maxReplicas: 4 }
        userConfig: { beam: 2 }
`;

describe("parseDeployConfig", () => {
  it("accepts a valid config", () => {
    const cfg = parseDeployConfig(GOOD, "deploy.yaml");
    expect(cfg.http).toEqual({ host: "127.0.0.1", port: 8123 });
    expect(cfg.applications.map((a) => a.name)).toEqual(["weather", "translate"]);
    expect(cfg.applications[0]!.deployments![0]).toEqual({ name: "WeatherMCP", numReplicas: 2, actorOptions: { numCpus: 0.5 } });
    expect(cfg.applications[1]!.args).toEqual({ model: "tiny" });
  });

  // Each bad config names the field (path) that is wrong and what was expected.
  const bad: Array<[string, string, RegExp]> = [
    ["empty file", "", /empty/],
    ["not a mapping", "- a\n- b\n", /\(root\): expected object, got array/],
    ["no applications", "http: { port: 80 }\n", /applications: required \(expected array\)/],
    ["empty applications", "applications: []\n", /applications: list at least one application/],
    ["numReplicas as a string", "applications:\n  - name: a\n    importPath: a.ts:app\n    deployments:\n      - name: D\n        numReplicas: three\n", /deploy\.yaml:6:22 applications\[0\]\.deployments\[0\]\.numReplicas: expected number or "auto"/],
    ["negative replicas", "applications:\n  - name: a\n    importPath: a.ts:app\n    deployments:\n      - name: D\n        numReplicas: -1\n", /applications\[0\]\.deployments\[0\]\.numReplicas/],
    ["unknown deployment option", "applications:\n  - name: a\n    importPath: a.ts:app\n    deployments:\n      - name: D\n        numReplica: 2\n", /applications\[0\]\.deployments\[0\]\.numReplica: unknown field/],
    ["unknown top-level field", "applicatons: []\n", /applicatons: unknown field/],
    ["deployment without a name", "applications:\n  - name: a\n    importPath: a.ts:app\n    deployments:\n      - numReplicas: 1\n", /applications\[0\]\.deployments\[0\]\.name: required \(expected string\)/],
    ["importPath without an export", "applications:\n  - name: a\n    importPath: a.ts\n", /applications\[0\]\.importPath: must look like "path\/to\/module\.ts:exportName"/],
    ["missing importPath", "applications:\n  - name: a\n", /applications\[0\]\.importPath: required/],
    ["route prefix without a slash", "applications:\n  - name: a\n    importPath: a.ts:app\n    routePrefix: weather\n", /applications\[0\]\.routePrefix: must start with "\/"/],
    ["route prefix with a trailing slash", "applications:\n  - name: a\n    importPath: a.ts:app\n    routePrefix: /weather/\n", /applications\[0\]\.routePrefix/],
    ["duplicate app names", "applications:\n  - name: a\n    importPath: a.ts:app\n    routePrefix: /a\n  - name: a\n    importPath: b.ts:app\n    routePrefix: /b\n", /applications\[1\]\.name: "a" is already used by applications\[0\]/],
    ["duplicate route prefixes", "applications:\n  - name: a\n    importPath: a.ts:app\n  - name: b\n    importPath: b.ts:app\n", /applications\[1\]\.routePrefix: "\/" is already used by applications\[0\]/],
    ["both numReplicas and autoscaling", "applications:\n  - name: a\n    importPath: a.ts:app\n    deployments:\n      - name: D\n        numReplicas: 2\n        autoscalingConfig: { maxReplicas: 3 }\n", /applications\[0\]\.deployments\[0\].*mutually exclusive/],
    ["min above max", "applications:\n  - name: a\n    importPath: a.ts:app\n    deployments:\n      - name: D\n        autoscalingConfig: { minReplicas: 5, maxReplicas: 3 }\n", /minReplicas \(5\) must not exceed/],
    ["port out of range", "http: { port: 70000 }\napplications:\n  - name: a\n    importPath: a.ts:app\n", /http\.port: .*65535/],
    ["port not an integer", "http: { port: 80.5 }\napplications:\n  - name: a\n    importPath: a.ts:app\n", /http\.port: expected integer/],
    ["YAML syntax error", "applications:\n  - name: a\n   importPath: [oops\n", /deploy\.yaml:\d+:\d+ YAML syntax/],
    ["duplicate YAML keys", "applications:\n  - name: a\n    name: b\n    importPath: a.ts:app\n", /YAML syntax: .*unique/i],
  ];
  it.each(bad)("rejects %s", (_name, text, expected) => {
    const issues = issuesOf(() => parseDeployConfig(text, "deploy.yaml"));
    expect(issues.join("\n")).toMatch(expected);
  });

  it("reports every problem, not only the first", () => {
    const issues = issuesOf(() =>
      parseDeployConfig("applications:\n  - name: a\n    importPath: nope\n    deployments:\n      - name: D\n        maxOngoingRequests: zero\n", "x.yaml"),
    );
    expect(issues).toHaveLength(2);
    expect(issues[0]).toMatch(/^x\.yaml:3:17 applications\[0\]\.importPath/);
    expect(issues[1]).toMatch(/^x\.yaml:6:29 applications\[0\]\.deployments\[0\]\.maxOngoingRequests: expected number, got string/);
  });

  it("validates JSON bodies the same way (admin API)", () => {
    expect(issuesOf(() => validateDeployConfig({ applications: [{ name: "a", importPath: "a.ts:app", deployments: [{ name: "D", numReplicas: "2" }] }] }, "request")).join("\n")).toMatch(
      /applications\[0\]\.deployments\[0\]\.numReplicas: expected number or "auto"/,
    );
    expect(issuesOf(() => validateDeployConfig(null, "request"))[0]).toMatch(/empty/);
  });

  it("takes an application's nodeSelector (cluster mode) and names a bad label key", () => {
    const ok = validateDeployConfig({ applications: [{ name: "a", importPath: "a.ts:app", nodeSelector: { gpu: "a100", "topology.zone": "b" } }] }, "request");
    expect(ok.applications[0]!.nodeSelector).toEqual({ gpu: "a100", "topology.zone": "b" });
    expect(issuesOf(() => validateDeployConfig({ applications: [{ name: "a", importPath: "a.ts:app", nodeSelector: { "bad key": "x" } }] }, "request")).join("\n")).toMatch(
      /applications\[0\]\.nodeSelector/,
    );
  });
});

describe("parseDeployConfig: tracing", () => {
  it("takes a tracing section (stingray run) and names a bad field with its line", () => {
    const ok = parseDeployConfig(`tracing: { serviceName: weather, sampler: parentbased_traceidratio, samplerRatio: 0.1 }\n${GOOD}`, "t.yaml");
    expect(ok.tracing).toEqual({ serviceName: "weather", sampler: "parentbased_traceidratio", samplerRatio: 0.1 });
    expect(parseDeployConfig(`tracing: true\n${GOOD}`, "t.yaml").tracing).toBe(true);
    const issues = issuesOf(() => parseDeployConfig(`tracing:\n  sampler: sometimes\n${GOOD}`, "t.yaml")).join("\n");
    expect(issues).toMatch(/^t\.yaml:2:\d+ tracing/);
  });
});

describe("resolveImportPaths", () => {
  it("makes module paths absolute relative to the config's folder", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "stingray-cfg-"));
    writeFileSync(path.join(dir, "app.ts"), "export const app = 1;\n");
    const cfg = resolveImportPaths(validateDeployConfig({ applications: [{ name: "a", importPath: "app.ts:app" }] }), dir);
    expect(cfg.applications[0]!.importPath).toBe(`${path.join(dir, "app.ts")}:app`);
  });

  it("names the application whose module is missing", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "stingray-cfg-"));
    const issues = issuesOf(() => resolveImportPaths(validateDeployConfig({ applications: [{ name: "a", importPath: "missing.ts:app" }] }), dir));
    expect(issues[0]).toMatch(/applications\[0\]\.importPath: module not found: .*missing\.ts/);
  });
});
