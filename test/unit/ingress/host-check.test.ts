// The Host check (DNS-rebinding guard) with its cache of accepted values: a cached acceptance must
// never let a different Host through, and the cache stays bounded.

import { describe, expect, it } from "vitest";
import { checkHost } from "../../../src/ingress/hygiene.ts";

describe("checkHost", () => {
  it("accepts allowed names with any port, rejects others with 403, the same on repeat", () => {
    const allowed = ["localhost", "127.0.0.1"];
    for (let round = 0; round < 3; round++) {
      expect(checkHost("localhost:8000", allowed)).toBeNull();
      expect(checkHost("127.0.0.1:9", allowed)).toBeNull();
      expect(checkHost("evil.example:8000", allowed)?.status).toBe(403);
      expect(checkHost("localhost.evil.example", allowed)?.status).toBe(403);
      expect(checkHost(undefined, allowed)?.status).toBe(403);
    }
  });

  it("keeps each allow-list's acceptances apart", () => {
    expect(checkHost("api.example:443", ["api.example"])).toBeNull();
    expect(checkHost("api.example:443", ["localhost"])?.status).toBe(403);
  });

  it("checks every request once past the cache bound", () => {
    const allowed = ["localhost"];
    for (let port = 1; port <= 200; port++) expect(checkHost(`localhost:${port}`, allowed)).toBeNull();
    expect(checkHost("other:1", allowed)?.status).toBe(403);
  });

  it("checks nothing without an allow-list", () => {
    expect(checkHost("anything", undefined)).toBeNull();
  });
});
