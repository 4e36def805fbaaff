// `stingray` as a spawned process: help for every command, argument validation, and bad config
// files rejected before anything reaches a runtime.

import { describe, expect, it } from "vitest";
import { FIXTURES, runCli } from "./spawn-cli.ts";

describe("stingray --help", () => {
  it.concurrent.each([
    [[], ["run", "deploy", "status", "shutdown", "Exit codes"]],
    [["run"], ["Usage: stingray run", "<target>", "--host", "--port", "--num-cpus", "--num-gpus", "--route-prefix", "--admin-token"]],
    [["deploy"], ["Usage: stingray deploy", "<config>", "--address", "--token", "importPath", "routePrefix"]],
    [["status"], ["Usage: stingray status", "--address", "--json"]],
    [["shutdown"], ["Usage: stingray shutdown", "--yes", "--address"]],
  ] as Array<[string[], string[]]>)("%j prints usage and exits 0", async (cmd, expected) => {
    const r = await runCli([...cmd, "--help"]);
    expect(r.code).toBe(0);
    for (const text of expected) expect(r.stdout).toContain(text);
    expect(r.stderr).toBe("");
  });

  it("prints the package version", async () => {
    const r = await runCli(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe("stingray argument errors", () => {
  it.concurrent.each([
    [["frobnicate"], /unknown command 'frobnicate'/],
    [["status", "--colour"], /unknown option '--colour'/],
    [["run", "x.ts:app", "--port", "http"], /--port <port>.*'http' is invalid.*0 to 65535/],
    [["run", "x.ts:app", "--port", "70000"], /--port <port>.*'70000' is invalid/],
    [["run", "x.ts:app", "--num-cpus", "-2"], /--num-cpus <n>.*greater than 0/],
    [["run", "x.ts:app", "--num-gpus", "0.5"], /--num-gpus <n>.*whole number/],
    [["run", "x.ts:app", "--route-prefix", "api/"], /--route-prefix <prefix>.*starts with "\/"/],
    [["status", "--address", "ftp://host"], /--address <url>.*http/],
    [["deploy"], /missing required argument 'config'/],
  ] as Array<[string[], RegExp]>)("%j exits 2 naming the problem", async (args, message) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it("run names a module that does not exist", async () => {
    const r = await runCli(["run", "test/fixtures/cli/nope.ts:app", "--port", "0"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/run target: module not found: .*nope\.ts/);
  });

  it("run names an export that does not exist and lists the real ones", async () => {
    const r = await runCli(["run", "test/fixtures/cli/echo-app.ts:nope", "--port", "0"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/has no export "nope" \(exports: .*app/);
  });

  it("run explains that a class must be bound", async () => {
    const r = await runCli(["run", "test/fixtures/cli/echo-app.ts:Echo", "--port", "0"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/"Echo" is a class; export an application instead/);
  });
});

describe("stingray deploy with bad config files", () => {
  // An address nobody listens on: validation must fail before any connection is tried.
  const nowhere = ["--address", "http://127.0.0.1:9"];

  it("points at each bad field with its line and path", async () => {
    const r = await runCli(["deploy", `${FIXTURES}/bad-types.yaml`, ...nowhere]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad-types\.yaml:3:18 applications\[0\]\.routePrefix: must start with "\/"/);
    expect(r.stderr).toMatch(/bad-types\.yaml:7:22 applications\[0\]\.deployments\[0\]\.numReplicas: expected number or "auto"/);
    expect(r.stderr).toMatch(/applications\[0\]\.deployments\[0\]\.maxOngoingRequest: unknown field/);
    expect(r.stderr).not.toMatch(/cannot reach/);
  });

  it("reports YAML syntax errors with their position", async () => {
    const r = await runCli(["deploy", `${FIXTURES}/bad-syntax.yaml`, ...nowhere]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad-syntax\.yaml:\d+:\d+ YAML syntax/);
  });

  it("names an application whose module is missing", async () => {
    const r = await runCli(["deploy", `${FIXTURES}/missing-module.yaml`, ...nowhere]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/applications\[0\]\.importPath: module not found: .*does-not-exist\.ts/);
  });

  it("says when the file itself cannot be read", async () => {
    const r = await runCli(["deploy", `${FIXTURES}/no-such-file.yaml`, ...nowhere]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot read config file .*no-such-file\.yaml: no such file/);
  });
});
