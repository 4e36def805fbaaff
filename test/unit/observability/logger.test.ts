import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { ErrorCode } from "../../../src/errors.ts";
import { createLogger, logAccess, resolveLogLevel, scrubSecrets } from "../../../src/observability/logger.ts";
import { resolveRequestId } from "../../../src/observability/request-id.ts";

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      cb();
    },
  });
  return { destination, lines, json: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe("createLogger", () => {
  it("writes JSON lines with a level name and a timestamp", () => {
    const out = capture();
    const log = createLogger({ destination: out.destination, bindings: { component: "proxy" } });
    log.info({ app: "weather" }, "hello");
    const [line] = out.json();
    expect(line).toMatchObject({ level: "info", msg: "hello", app: "weather", component: "proxy" });
    expect(typeof line!.time).toBe("string");
  });

  it("never writes Authorization headers, cookies or tokens", () => {
    const out = capture();
    const log = createLogger({ destination: out.destination });
    const secret = "s3cr3t-token-value";
    log.info({ req: { headers: { authorization: `Bearer ${secret}`, cookie: `sid=${secret}`, host: "x" } } }, "req");
    log.info({ headers: { authorization: `Bearer ${secret}`, "x-api-key": secret } }, "headers");
    log.info({ token: secret, config: { adminToken: secret, password: secret } }, "fields");
    log.warn(`upstream said: Authorization: Bearer ${secret}`);
    log.error({ err: new Error(`bad credentials Bearer ${secret}`) }, "failed");
    const text = out.lines.join("\n");
    expect(out.lines).toHaveLength(5);
    expect(text).not.toContain(secret);
    expect(text).toContain("[Redacted]");
    // Non-secret fields survive.
    expect(out.json()[0]).toMatchObject({ req: { headers: { host: "x", authorization: "[Redacted]" } } });
  });

  it("takes its level from STINGRAY_LOG_LEVEL", () => {
    const out = capture();
    const log = createLogger({ destination: out.destination, env: { STINGRAY_LOG_LEVEL: "warn" } });
    log.info("dropped");
    log.warn("kept");
    expect(out.json().map((l) => l.msg)).toEqual(["kept"]);
  });

  it("rejects an unknown level naming the variable", () => {
    let err: unknown;
    try {
      resolveLogLevel({ env: { STINGRAY_LOG_LEVEL: "loud" } });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: ErrorCode.INVALID_OPTIONS });
    expect(String((err as Error).message)).toMatch(/STINGRAY_LOG_LEVEL.*loud/);
    expect(resolveLogLevel({ env: {} })).toBe("info");
    expect(resolveLogLevel({ env: { STINGRAY_LOG_LEVEL: "DEBUG" } })).toBe("debug");
  });
});

describe("logAccess", () => {
  it("logs method, path without query, status, latency, request id and app", () => {
    const out = capture();
    const log = createLogger({ destination: out.destination });
    logAccess(log, { method: "POST", path: "/weather/mcp?access_token=abc", status: 200, latencyMs: 12.3456, requestId: "r-1", app: "weather", mcpMethod: "tools/call", tool: "forecast" });
    logAccess(log, { method: "GET", path: "/x", status: 502, latencyMs: 1 });
    const [ok, bad] = out.json();
    expect(ok).toMatchObject({ type: "access", level: "info", method: "POST", path: "/weather/mcp", status: 200, latencyMs: 12.35, requestId: "r-1", app: "weather", mcpMethod: "tools/call", tool: "forecast", msg: "POST /weather/mcp 200 12.35ms" });
    expect(out.lines[0]).not.toContain("access_token");
    expect(bad).toMatchObject({ level: "warn", status: 502 });
  });

  it("follows the logger's level and bindings", () => {
    const out = capture();
    const log = createLogger({ destination: out.destination, level: "warn", bindings: { component: "proxy" } });
    logAccess(log, { method: "POST", path: "/mcp", status: 200, latencyMs: 1 });
    logAccess(log, { method: "POST", path: "/mcp", status: 503, latencyMs: 1 });
    expect(out.json()).toEqual([expect.objectContaining({ component: "proxy", level: "warn", status: 503 })]);
  });
});

describe("scrubSecrets", () => {
  it("hides bearer and basic credentials in text", () => {
    expect(scrubSecrets("Authorization: Bearer abc.def-ghi")).toBe("Authorization: Bearer [Redacted]");
    expect(scrubSecrets("basic dXNlcjpwYXNz=")).toBe("basic [Redacted]");
    expect(scrubSecrets("nothing here")).toBe("nothing here");
  });
});

describe("resolveRequestId", () => {
  it.each([
    ["abc-123", "abc-123"],
    ["trace:1/2@svc", "trace:1/2@svc"],
  ])("accepts a sane id %s", (input, expected) => {
    expect(resolveRequestId(input)).toBe(expected);
  });

  it.each([["has space"], ["line\nbreak"], ["x".repeat(129)], [""], ["<script>"]])("replaces %j with a fresh uuid", (input) => {
    const id = resolveRequestId(input);
    expect(id).not.toBe(input);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("mints an id when there is none", () => {
    expect(resolveRequestId(undefined)).not.toBe(resolveRequestId(undefined));
  });
});
