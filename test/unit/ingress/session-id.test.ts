import { describe, expect, it } from "vitest";
import { mintSessionId, sessionOwner } from "../../../src/ingress/session-id.ts";

describe("legacy session ids", () => {
  it("name the replica that minted them, in visible ASCII, and stay unguessable", () => {
    const a = mintSessionId("echo#Echo#3fz1k2");
    const b = mintSessionId("echo#Echo#3fz1k2");
    expect(a).not.toBe(b);
    expect(a).toMatch(/^[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]+$/);
    expect(sessionOwner(a)).toBe("echo#Echo#3fz1k2");
  });

  it("an id without an owner, or a malformed one, names nobody", () => {
    expect(sessionOwner(mintSessionId())).toBeUndefined();
    expect(sessionOwner("short.ZWNobw")).toBeUndefined();
    expect(sessionOwner(`${"x".repeat(32)}.`)).toBeUndefined();
    expect(sessionOwner(`${"x".repeat(32)}.${"A".repeat(1000)}`)).toBeUndefined();
  });
});
