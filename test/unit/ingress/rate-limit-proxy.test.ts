// The rate limit in front of a real proxy, without auth: callers are told apart by address, a
// refused request gets 429 with Retry-After and a JSON-RPC error and never reaches a replica, and
// the proxy's request event marks it for /metrics.

import { afterEach, describe, expect, it } from "vitest";
import { fetchApp, ingress } from "../../../src/deployments/ingress.ts";
import { startProxy, type Harness } from "../../fixtures/ingress/harness.ts";

@ingress(fetchApp(() => async () => new Response("ok"), { rateLimit: { requestsPerS: 0.5, burst: 3 } }))
class LimitedFetch {}

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("rateLimit without auth", () => {
  it("limits each client address to its burst, then answers 429 with Retry-After", async () => {
    h = await startProxy([{ appName: "limited", routePrefix: "/limited", cls: LimitedFetch }]);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${h.url}/limited/x`);
      statuses.push(res.status);
      if (res.status === 429) {
        expect(res.headers.get("retry-after")).toBe("2");
        expect(await res.json()).toEqual({ jsonrpc: "2.0", id: null, error: { code: -32000, message: "Too Many Requests: rate limit exceeded" } });
      } else {
        expect(await res.text()).toBe("ok");
      }
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(h.dispatcher.log.length).toBe(3);
    await new Promise((r) => setTimeout(r, 50));
    expect(h.events.filter((e) => e.rateLimited).map((e) => e.status)).toEqual([429, 429]);
    expect(h.events.filter((e) => !e.rateLimited).map((e) => e.status)).toEqual([200, 200, 200]);
  });
});
