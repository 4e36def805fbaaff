// The on-demand Request the MCP ingress hands the SDK: what it serves itself, what it hands to
// the real Request (and that the real one is built once, from the same Headers), and the one limit.

import { describe, expect, it } from "vitest";
import { lazyRequest, realRequest } from "../../../src/ingress/lazy-request.ts";

const body = () => new TextEncoder().encode('{"jsonrpc":"2.0","id":1,"method":"ping"}');
const make = (over: { method?: string; body?: Uint8Array | null; url?: string } = {}) => {
  const controller = new AbortController();
  const request = lazyRequest(over.url ?? "http://127.0.0.1:8000/mcp?x=1", {
    method: over.method ?? "POST",
    headers: [["content-type", "application/json"], ["x-custom", "v"]],
    body: over.body === undefined ? body() : over.body,
    signal: controller.signal,
  });
  return { request, controller };
};

describe("lazyRequest", () => {
  it("is a Request with the method, URL, headers and the very signal it was given", () => {
    const { request, controller } = make();
    expect(request).toBeInstanceOf(Request);
    expect(Object.prototype.toString.call(request)).toBe("[object Request]");
    expect(request.method).toBe("POST");
    expect(request.url).toBe("http://127.0.0.1:8000/mcp?x=1");
    expect(request.headers.get("x-custom")).toBe("v");
    expect(request.headers).toBe(request.headers);
    expect(request.signal).toBe(controller.signal);
    expect(request.bodyUsed).toBe(false);
  });

  it("normalizes the URL as Request does", () => {
    expect(make({ url: "http://127.0.0.1:80/a b" }).request.url).toBe(new Request("http://127.0.0.1:80/a b").url);
  });

  it("reads the body through a real Request, built once, keeping earlier header edits", async () => {
    const { request } = make();
    request.headers.set("x-added", "1");
    const copy = request.clone();
    expect(copy.headers.get("x-added")).toBe("1");
    expect(await copy.text()).toBe('{"jsonrpc":"2.0","id":1,"method":"ping"}');
    expect(await request.json()).toEqual({ jsonrpc: "2.0", id: 1, method: "ping" });
    expect(request.bodyUsed).toBe(true);
    await expect(request.text()).rejects.toThrow(TypeError);
    expect(realRequest(request)).toBe(realRequest(request));
  });

  it("exposes the body stream and the other fields of the real Request", async () => {
    const { request } = make();
    expect(request.body).toBeInstanceOf(ReadableStream);
    expect(request.mode).toBe(new Request("http://x/").mode);
    expect(request.redirect).toBe("follow");
    expect(new TextDecoder().decode(await new Response(request.body).arrayBuffer())).toContain("ping");
  });

  it("has no body for GET, even when bytes were given", async () => {
    const { request } = make({ method: "GET" });
    expect(request.body).toBeNull();
    expect(await request.text()).toBe("");
  });

  it("aborting the signal aborts the real Request too", () => {
    const { request, controller } = make();
    const real = realRequest(request);
    controller.abort(new Error("gone"));
    expect(real.signal.aborted).toBe(true);
  });

  it("gives the real Request for new Request(...) and fetch, which do not accept the lazy one", () => {
    const { request } = make();
    expect(() => new Request(request)).toThrow(TypeError);
    const copy = new Request(realRequest(request), { method: "PUT" });
    expect(copy.method).toBe("PUT");
    const plain = new Request("http://x/");
    expect(realRequest(plain)).toBe(plain);
  });

  it("refuses its getters on a foreign object", () => {
    const { request } = make();
    const getter = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(request), "method")!.get!;
    expect(() => getter.call({})).toThrow(/not a stingray request/);
  });
});
