// Who may read the dashboard and its APIs (checkReadAccess), and the start-up warning for a bind
// other hosts can reach (exposureWarning), as tables of input → decision.

import { describe, expect, it } from "vitest";
import { ADMIN_FORBIDDEN, ADMIN_UNAUTHORIZED, checkReadAccess, exposureWarning } from "../../../src/observability/admin-guard.ts";

describe("checkReadAccess", () => {
  const base = { remoteAddress: "10.0.0.7", host: "127.0.0.1:8000" as string | undefined, authorization: undefined, adminToken: undefined, publicDashboard: false };
  const cases: Array<[string, Partial<Parameters<typeof checkReadAccess>[0]>, true | string]> = [
    ["loopback v4", { remoteAddress: "127.0.0.1" }, true],
    ["loopback v6", { remoteAddress: "::1" }, true],
    ["v4-mapped loopback", { remoteAddress: "::ffff:127.0.0.1" }, true],
    ["loopback with a token configured and none sent", { remoteAddress: "127.0.0.1", adminToken: "t0k" }, true],
    ["loopback as localhost through a tunnel", { remoteAddress: "127.0.0.1", host: "localhost:9000" }, true],
    ["loopback as [::1]", { remoteAddress: "::1", host: "[::1]:8000" }, true],
    ["loopback as 127.1", { remoteAddress: "127.0.0.1", host: "127.1:8000" }, true],
    ["loopback without a Host header (HTTP/1.0)", { remoteAddress: "127.0.0.1", host: undefined }, true],
    ["loopback naming another host (DNS rebinding)", { remoteAddress: "127.0.0.1", host: "evil.example:8000" }, ADMIN_FORBIDDEN],
    ["loopback naming localhost.evil.example", { remoteAddress: "127.0.0.1", host: "localhost.evil.example" }, ADMIN_FORBIDDEN],
    ["loopback naming 127.0.0.1.evil.example", { remoteAddress: "127.0.0.1", host: "127.0.0.1.evil.example" }, ADMIN_FORBIDDEN],
    ["loopback naming another host, with the token", { remoteAddress: "127.0.0.1", host: "evil.example", adminToken: "t0k", authorization: "Bearer t0k" }, true],
    ["loopback naming another host, token configured but not sent", { remoteAddress: "127.0.0.1", host: "evil.example", adminToken: "t0k" }, ADMIN_UNAUTHORIZED],
    ["remote without a token configured", {}, ADMIN_FORBIDDEN],
    ["v4-mapped remote", { remoteAddress: "::ffff:10.0.0.7" }, ADMIN_FORBIDDEN],
    ["unknown peer", { remoteAddress: undefined }, ADMIN_FORBIDDEN],
    ["remote sending a token when none is configured", { authorization: "Bearer t0k" }, ADMIN_FORBIDDEN],
    ["remote with the right token", { adminToken: "t0k", authorization: "Bearer t0k" }, true],
    ["remote with a wrong token", { adminToken: "t0k", authorization: "Bearer t0" }, ADMIN_UNAUTHORIZED],
    ["remote with no token sent", { adminToken: "t0k" }, ADMIN_UNAUTHORIZED],
    ["remote, public dashboard", { publicDashboard: true }, true],
    ["remote, public dashboard, token configured", { publicDashboard: true, adminToken: "t0k" }, true],
  ];
  it.each(cases)("%s", (_name, input, expected) => {
    const d = checkReadAccess({ ...base, ...input });
    if (expected === true) expect(d).toEqual({ ok: true });
    else expect(d).toMatchObject({ ok: false, code: expected, status: expected === ADMIN_UNAUTHORIZED ? 401 : 403 });
  });
});

describe("exposureWarning", () => {
  it.each([
    ["127.0.0.1", false, false, undefined],
    ["::1", false, true, undefined],
    ["0.0.0.0", true, false, undefined],
    ["0.0.0.0", false, false, /^listening on 0\.0\.0\.0 \(reachable from other hosts\) without an admin token: the admin API, dashboard, \/-\/api\/status and \/-\/api\/timeseries answer loopback clients only; .*--admin-token.*--public-dashboard.*\/metrics is open\.$/],
    ["::", false, true, /^listening on :: .*answer anyone \(http\.publicDashboard \/ --public-dashboard\); the admin API answers loopback clients only \(no admin token\)$/],
    ["192.0.2.2", true, true, /answer anyone \(http\.publicDashboard \/ --public-dashboard\)$/],
  ] as const)("bound to %s, token %s, public %s", (boundHost, adminTokenSet, publicDashboard, expected) => {
    const w = exposureWarning({ boundHost, adminTokenSet, publicDashboard });
    if (expected === undefined) expect(w).toBeUndefined();
    else expect(w).toMatch(expected);
  });
});
