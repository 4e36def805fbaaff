import { describe, expect, it } from "vitest";
import { ADMIN_FORBIDDEN, ADMIN_UNAUTHORIZED, checkAdminAccess, isLoopbackAddress } from "../../../src/observability/admin-guard.ts";

describe("checkAdminAccess", () => {
  const cases: Array<[string, Parameters<typeof checkAdminAccess>[0], true | string]> = [
    ["loopback v4 without token", { remoteAddress: "127.0.0.1", authorization: undefined, origin: undefined, adminToken: undefined }, true],
    ["loopback v6 without token", { remoteAddress: "::1", authorization: undefined, origin: undefined, adminToken: undefined }, true],
    ["v4-mapped loopback", { remoteAddress: "::ffff:127.0.0.1", authorization: undefined, origin: undefined, adminToken: undefined }, true],
    ["remote without token", { remoteAddress: "10.0.0.7", authorization: undefined, origin: undefined, adminToken: undefined }, ADMIN_FORBIDDEN],
    ["v4-mapped remote", { remoteAddress: "::ffff:10.0.0.7", authorization: undefined, origin: undefined, adminToken: undefined }, ADMIN_FORBIDDEN],
    ["remote with the right token", { remoteAddress: "10.0.0.7", authorization: "Bearer t0k", origin: undefined, adminToken: "t0k" }, true],
    ["loopback with token configured but none sent", { remoteAddress: "127.0.0.1", authorization: undefined, origin: undefined, adminToken: "t0k" }, ADMIN_UNAUTHORIZED],
    ["wrong token", { remoteAddress: "127.0.0.1", authorization: "Bearer nope", origin: undefined, adminToken: "t0k" }, ADMIN_UNAUTHORIZED],
    ["token as a prefix of the real one", { remoteAddress: "127.0.0.1", authorization: "Bearer t0", origin: undefined, adminToken: "t0k" }, ADMIN_UNAUTHORIZED],
    ["basic auth instead of bearer", { remoteAddress: "127.0.0.1", authorization: "Basic t0k", origin: undefined, adminToken: "t0k" }, ADMIN_UNAUTHORIZED],
    ["a browser on loopback", { remoteAddress: "127.0.0.1", authorization: undefined, origin: "http://evil.example", adminToken: undefined }, ADMIN_FORBIDDEN],
    ["a browser with the token", { remoteAddress: "127.0.0.1", authorization: "Bearer t0k", origin: "http://localhost:8000", adminToken: "t0k" }, ADMIN_FORBIDDEN],
  ];
  it.each(cases)("%s", (_name, input, expected) => {
    const d = checkAdminAccess(input);
    if (expected === true) expect(d).toEqual({ ok: true });
    else expect(d).toMatchObject({ ok: false, code: expected });
  });
});

describe("isLoopbackAddress", () => {
  it.each([
    ["127.0.0.1", true],
    ["127.8.9.10", true],
    ["::1", true],
    ["::ffff:127.0.0.1", true],
    ["192.168.1.1", false],
    ["::ffff:192.168.1.1", false],
    ["1270::1", false],
    [undefined, false],
  ] as const)("%s → %s", (addr, expected) => {
    expect(isLoopbackAddress(addr)).toBe(expected);
  });
});
