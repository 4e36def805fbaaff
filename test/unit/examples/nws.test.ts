// The example's NWS client against the fake NWS server: headers NWS requires, deadlines, the
// caller's abort, and one error code per failure kind.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NwsClient, NwsError, NwsErrorCode, nwsOptionsFromEnv } from "../../../examples/lib/nws.ts";
import { startFakeNws, type FakeNws } from "../../fixtures/fake-nws.ts";

let fake: FakeNws;
beforeAll(async () => {
  fake = await startFakeNws();
});
afterAll(async () => {
  await fake.close();
});

async function rejection(p: Promise<unknown>): Promise<NwsError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(NwsError);
  return err as NwsError;
}

describe("NwsClient", () => {
  it("sends the tutorial's User-Agent and asks for GeoJSON", async () => {
    const nws = new NwsClient({ baseUrl: fake.baseUrl });
    const body = await nws.getJson(nws.url("/alerts/active/area/CA"));
    expect((body as { type: string }).type).toBe("FeatureCollection");
    const seen = fake.requests.at(-1)!;
    expect(seen).toMatchObject({ method: "GET", path: "/alerts/active/area/CA" });
    expect(seen.userAgent).toBe("weather-app/1.0");
    expect(seen.accept).toBe("application/geo+json");
  });

  it("joins paths to a base URL with or without a trailing slash", () => {
    expect(new NwsClient({ baseUrl: "http://h:1/" }).url("/points/1,2")).toBe("http://h:1/points/1,2");
    expect(new NwsClient({ baseUrl: "http://h:1/api" }).url("points/1,2")).toBe("http://h:1/api/points/1,2");
    expect(new NwsClient().url("/alerts")).toBe("https://api.weather.gov/alerts");
  });

  it("reports a non-2xx answer with its status", async () => {
    fake.route("/nws-test/500", { status: 500 });
    const nws = new NwsClient({ baseUrl: fake.baseUrl });
    const err = await rejection(nws.getJson(nws.url("/nws-test/500")));
    expect(err.code).toBe(NwsErrorCode.HTTP);
    expect(err.status).toBe(500);
    expect(err.message).toBe(`NWS returned HTTP 500 Internal Server Error for ${fake.baseUrl}/nws-test/500`);
  });

  it("times out a request that never answers", async () => {
    fake.route("/nws-test/hang", "hang");
    const nws = new NwsClient({ baseUrl: fake.baseUrl, timeoutMs: 150 });
    const started = Date.now();
    const err = await rejection(nws.getJson(nws.url("/nws-test/hang")));
    expect(err.code).toBe(NwsErrorCode.TIMEOUT);
    expect(err.message).toBe(`NWS did not answer within 150 ms for ${fake.baseUrl}/nws-test/hang`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("times out a body that stops half way", async () => {
    fake.route("/nws-test/hang-body", "hang-body");
    const nws = new NwsClient({ baseUrl: fake.baseUrl, timeoutMs: 150 });
    const err = await rejection(nws.getJson(nws.url("/nws-test/hang-body")));
    expect(err.code).toBe(NwsErrorCode.TIMEOUT);
  });

  it("stops at once when the caller aborts, and says it was cancelled", async () => {
    fake.route("/nws-test/hang-abort", "hang");
    const nws = new NwsClient({ baseUrl: fake.baseUrl, timeoutMs: 60_000 });
    const ac = new AbortController();
    const before = fake.requests.length;
    const pending = rejection(nws.getJson(nws.url("/nws-test/hang-abort"), ac.signal));
    await expect.poll(() => fake.requests.slice(before).some((r) => r.path === "/nws-test/hang-abort")).toBe(true);
    ac.abort();
    const err = await pending;
    expect(err.code).toBe(NwsErrorCode.ABORTED);
  });

  it("rejects a body that is not JSON", async () => {
    fake.route("/nws-test/garbage", "garbage");
    const nws = new NwsClient({ baseUrl: fake.baseUrl });
    const err = await rejection(nws.getJson(nws.url("/nws-test/garbage")));
    expect(err.code).toBe(NwsErrorCode.BAD_RESPONSE);
    expect(err.message).toContain("not JSON");
  });

  it("names the network failure when nothing listens", async () => {
    const gone = await startFakeNws();
    const url = gone.baseUrl;
    await gone.close();
    const nws = new NwsClient({ baseUrl: url });
    const err = await rejection(nws.getJson(nws.url("/alerts/active/area/CA")));
    expect(err.code).toBe(NwsErrorCode.NETWORK);
    expect(err.message).toContain("ECONNREFUSED");
  });

  it("refuses to follow a non-http URL", async () => {
    const nws = new NwsClient({ baseUrl: fake.baseUrl });
    const err = await rejection(nws.getJson("file:///etc/passwd"));
    expect(err.code).toBe(NwsErrorCode.BAD_RESPONSE);
  });

  it("rejects bad options naming them", () => {
    expect(() => new NwsClient({ baseUrl: "api.weather.gov" })).toThrow(/NWS_API_BASE/);
    expect(() => new NwsClient({ timeoutMs: 0 })).toThrow(/NWS_TIMEOUT_MS/);
  });
});

describe("nwsOptionsFromEnv", () => {
  it("reads NWS_API_BASE and NWS_TIMEOUT_MS", () => {
    expect(nwsOptionsFromEnv({ NWS_API_BASE: "http://127.0.0.1:9", NWS_TIMEOUT_MS: "250" })).toEqual({
      baseUrl: "http://127.0.0.1:9",
      timeoutMs: 250,
    });
    expect(nwsOptionsFromEnv({})).toEqual({});
  });

  it("rejects a timeout that is not a positive number, naming the variable", () => {
    for (const bad of ["abc", "0", "-5"]) {
      expect(() => nwsOptionsFromEnv({ NWS_TIMEOUT_MS: bad })).toThrow(/NWS_TIMEOUT_MS/);
    }
  });
});
