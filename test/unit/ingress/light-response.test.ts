// The Response class an MCP replica uses in place of the global one: what it answers itself, that
// it behaves as the native class everywhere else, and that the bridge takes a simple body as is.

import { afterEach, describe, expect, it } from "vitest";
import { LightResponse, installLightResponse, takeSimpleBody } from "../../../src/ingress/light-response.ts";
import { followSignal, serveHttp } from "../../../src/ingress/http-bridge.ts";
import type { HttpResponseHead, HttpStreamItem, SerializedHttpRequest } from "../../../src/runtime/http-message.ts";

const Native = globalThis.Response;
const light = (body?: BodyInit | null, init?: ResponseInit) => new LightResponse(body, init) as unknown as Response;

afterEach(() => {
  globalThis.Response = Native;
});

describe("LightResponse", () => {
  it("answers status, ok, statusText and headers like the native class", () => {
    for (const [body, init] of [
      ["hello", undefined],
      ["hello", { status: 201, statusText: "Made", headers: { "X-A": "1" } }],
      [new TextEncoder().encode("bytes"), { status: 404 }],
      [null, { status: 204 }],
      [undefined, undefined],
    ] as Array<[BodyInit | null | undefined, ResponseInit | undefined]>) {
      const ours = light(body, init);
      const theirs = new Native(body, init);
      expect([ours.status, ours.ok, ours.statusText, [...ours.headers]]).toEqual([theirs.status, theirs.ok, theirs.statusText, [...theirs.headers]]);
    }
  });

  it("is a Response: instanceof both ways, the native statics, the native error for a bad status", () => {
    const ours = light("x");
    expect(ours).toBeInstanceOf(Native);
    expect(new Native("x")).toBeInstanceOf(LightResponse);
    expect(Object.prototype.toString.call(ours)).toBe("[object Response]");
    expect((LightResponse as unknown as typeof Response).error().type).toBe("error");
    class Mine extends LightResponse {}
    expect(new Mine("x")).toBeInstanceOf(Mine);
    expect(ours).not.toBeInstanceOf(Mine);
    expect(() => light("x", { status: 99 })).toThrow(RangeError);
    expect(() => light("x", { status: 204 })).toThrow(TypeError);
    expect(() => light("x", { statusText: "bad\n" })).toThrow(TypeError);
    expect(() => light("x", { headers: { "bad name": "1" } })).toThrow(TypeError);
    expect(() => LightResponse.json({}, { status: 600 })).toThrow(RangeError);
  });

  it("json() sets application/json unless given, and reads back through the real Response", async () => {
    const ours = LightResponse.json({ a: [1, "é"] }, { status: 202 });
    expect(ours.status).toBe(202);
    expect(ours.headers.get("content-type")).toBe("application/json");
    expect(await ours.json()).toEqual({ a: [1, "é"] });
    expect(ours.bodyUsed).toBe(true);
    expect(LightResponse.json({}, { headers: { "content-type": "application/vnd.x+json" } }).headers.get("content-type")).toBe("application/vnd.x+json");
    expect(() => LightResponse.json(undefined)).toThrow(TypeError);
  });

  it("builds the real Response from edited headers, once; clone and body work", async () => {
    const ours = light("text", { headers: { "x-a": "1" } });
    ours.headers.set("x-b", "2");
    const copy = ours.clone();
    expect(copy.headers.get("x-b")).toBe("2");
    expect(await copy.text()).toBe("text");
    expect(ours.body).toBeInstanceOf(ReadableStream);
    expect(await new Native(ours.body).text()).toBe("text");
  });

  it("copies a byte body, as the native class does", async () => {
    const bytes = new TextEncoder().encode("abc");
    const ours = light(bytes);
    bytes[0] = 0x7a;
    expect(await ours.text()).toBe("abc");
  });

  it("takes a simple body as bytes, once, and never one whose real Response exists", () => {
    const ours = light("héllo");
    expect(new TextDecoder().decode(takeSimpleBody(ours)!.bytes!)).toBe("héllo");
    expect(takeSimpleBody(ours)).toBeUndefined();
    expect(ours.bodyUsed).toBe(true);
    expect(takeSimpleBody(light(null, { status: 204 }))).toEqual({ bytes: null });
    const read = light("x");
    void read.body;
    expect(takeSimpleBody(read)).toBeUndefined();
    expect(takeSimpleBody(new Native("x"))).toBeUndefined();
    const stream = light(new ReadableStream());
    expect(takeSimpleBody(stream)).toBeUndefined();
  });

  it("installLightResponse makes it the global Response; the SDK-style Response.json then is light", () => {
    installLightResponse();
    installLightResponse();
    expect(globalThis.Response).toBe(LightResponse);
    const made = Response.json({ ok: true });
    expect(takeSimpleBody(made)).toBeDefined();
    expect(new Native("x")).toBeInstanceOf(Response);
  });
});

describe("serveHttp with a LightResponse", () => {
  const message: SerializedHttpRequest = { method: "POST", url: "http://127.0.0.1/mcp", headers: [], body: null };
  const collect = async (response: Response) => {
    const items: HttpStreamItem[] = [];
    for await (const item of serveHttp(async () => response, message, followSignal(undefined))) items.push(item);
    return items;
  };

  it("sends the body inside the head, as one complete item", async () => {
    const items = await collect(LightResponse.json({ ok: true }));
    expect(items).toHaveLength(1);
    const head = items[0] as HttpResponseHead;
    expect(head).toMatchObject({ status: 200, complete: true, headers: [["content-type", "application/json"]] });
    expect(new TextDecoder().decode(head.body)).toBe('{"ok":true}');
  });

  it("sends no body for a null body", async () => {
    expect(await collect(light(null, { status: 204 }))).toEqual([{ status: 204, headers: [], complete: true }]);
  });

  it("slices a body past the inline cap after the head, losing nothing", async () => {
    const big = "z".repeat(600 * 1024);
    const items = await collect(light(big, { headers: { "content-type": "application/json" } }));
    expect(items.length).toBe(4);
    expect((items[0] as HttpResponseHead).complete).toBeUndefined();
    expect(items.slice(1).map((i) => (i as Uint8Array).byteLength).reduce((a, b) => a + b)).toBe(big.length);
  });
});
