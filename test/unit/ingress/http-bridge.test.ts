// The replica side of an HTTP request: Request rebuilt from the message, Response turned into
// stream items, cancellation in both directions.

import { describe, expect, it } from "vitest";
import type { FetchHandler } from "../../../src/deployments/ingress-definition.ts";
import { followSignal, rawBodyOf, serveHttp } from "../../../src/ingress/http-bridge.ts";
import type { HttpResponseHead, HttpStreamItem, SerializedHttpRequest } from "../../../src/runtime/http-message.ts";

const message = (over: Partial<SerializedHttpRequest> = {}): SerializedHttpRequest => ({
  method: "POST",
  url: "http://127.0.0.1:8000/app/mcp?x=1",
  headers: [["content-type", "application/json"], ["x-custom", "v"]],
  body: new TextEncoder().encode('{"a":1}'),
  requestId: "r-1",
  auth: { clientId: "alice", scopes: ["s"] },
  ...over,
});

async function collect(gen: AsyncIterable<HttpStreamItem>): Promise<HttpStreamItem[]> {
  const out: HttpStreamItem[] = [];
  for await (const item of gen) out.push(item);
  return out;
}

const text = (items: HttpStreamItem[]) =>
  items.map((i) => (i instanceof Uint8Array ? new TextDecoder().decode(i) : new TextDecoder().decode((i as HttpResponseHead).body ?? new Uint8Array()))).join("");

describe("serveHttp", () => {
  it.each([
    ["a full Request", false],
    ["a lazy Request", true],
  ])("rebuilds the request as %s (method, URL, headers, body bytes, signal, auth, request id)", async (_, lazyRequest) => {
    let seen: Record<string, unknown> = {};
    const handler: FetchHandler = async (req, ctx) => {
      seen = {
        method: req.method,
        url: req.url,
        custom: req.headers.get("x-custom"),
        body: await req.clone().text(),
        raw: new TextDecoder().decode(rawBodyOf(req)),
        isRequest: req instanceof Request,
        sameSignal: req.signal === ctx.signal,
        auth: ctx.auth,
        requestId: ctx.requestId,
      };
      return new Response(null, { status: 204 });
    };
    const items = await collect(serveHttp(handler, message(), followSignal(undefined), { lazyRequest }));
    expect(items).toEqual([{ status: 204, headers: [], complete: true }]);
    expect(seen).toEqual({
      method: "POST",
      url: "http://127.0.0.1:8000/app/mcp?x=1",
      custom: "v",
      body: '{"a":1}',
      raw: '{"a":1}',
      isRequest: true,
      // A full Request follows the signal with one of its own; a lazy one hands it out as is.
      sameSignal: lazyRequest,
      auth: { clientId: "alice", scopes: ["s"] },
      requestId: "r-1",
    });
  });

  it("sends a JSON answer inside the head, as one item", async () => {
    const items = await collect(serveHttp(async () => Response.json({ ok: true }, { status: 201 }), message(), followSignal(undefined)));
    expect(items).toHaveLength(1);
    const head = items[0] as HttpResponseHead;
    expect(head.status).toBe(201);
    expect(head.complete).toBe(true);
    expect(new TextDecoder().decode(head.body)).toBe('{"ok":true}');
  });

  it("streams a large JSON answer past the inline cap, losing nothing", async () => {
    const big = JSON.stringify({ data: "y".repeat(600 * 1024) });
    const bytes = new TextEncoder().encode(big);
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 100 * 1024) c.enqueue(bytes.slice(i, i + 100 * 1024));
        c.close();
      },
    });
    const items = await collect(serveHttp(async () => new Response(body, { headers: { "content-type": "application/json" } }), message(), followSignal(undefined)));
    expect(items.length).toBeGreaterThan(1);
    expect((items[0] as HttpResponseHead).complete).toBeUndefined();
    expect(text(items)).toBe(big);
  });

  it("streams SSE as produced: what comes at once rides with the head, later events follow one by one", async () => {
    const enc = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async start(c) {
        c.enqueue(enc.encode("data: 1\n\n"));
        await new Promise((r) => setTimeout(r, 30));
        c.enqueue(enc.encode("data: 2\n\n"));
        await new Promise((r) => setTimeout(r, 30));
        c.enqueue(enc.encode("data: 3\n\n"));
        c.close();
      },
    });
    const items = await collect(serveHttp(async () => new Response(body, { headers: { "content-type": "text/event-stream" } }), message(), followSignal(undefined)));
    const head = items[0] as HttpResponseHead;
    expect(new TextDecoder().decode(head.body)).toBe("data: 1\n\n");
    expect(head.complete).toBeUndefined();
    expect(items.slice(1).map((i) => new TextDecoder().decode(i as Uint8Array))).toEqual(["data: 2\n\n", "data: 3\n\n"]);
  });

  it("sends a short SSE answer (one event, then the end) in the head message", async () => {
    const items = await collect(
      serveHttp(async () => new Response("event: message\ndata: {}\n\n", { headers: { "content-type": "text/event-stream" } }), message(), followSignal(undefined)),
    );
    expect(items).toHaveLength(1);
    expect((items[0] as HttpResponseHead).complete).toBe(true);
    expect(text(items)).toBe("event: message\ndata: {}\n\n");
  });

  it("answers 500 (JSON-RPC internal error) when the handler throws, without failing the call", async () => {
    const items = await collect(
      serveHttp(async () => {
        throw new Error("boom");
      }, message(), followSignal(undefined)),
    );
    const head = items[0] as HttpResponseHead;
    expect(head.status).toBe(500);
    expect(JSON.parse(new TextDecoder().decode(head.body)).error.code).toBe(-32603);
  });

  it("aborts the request when the call is cancelled, even while the body is idle", async () => {
    const call = new AbortController();
    let requestAborted = false;
    const handler: FetchHandler = async (req) => {
      req.signal.addEventListener("abort", () => (requestAborted = true));
      const body = new ReadableStream<Uint8Array>({ start(c) { c.enqueue(new TextEncoder().encode("data: x\n\n")); } });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    };
    const gen = serveHttp(handler, message(), followSignal(call.signal));
    const head = (await gen.next()).value as HttpResponseHead;
    expect(new TextDecoder().decode(head.body)).toBe("data: x\n\n");
    const pending = gen.next();
    call.abort();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(requestAborted).toBe(true);
  });

  it("stops the handler when the consumer stops reading: the call's cancellation is aborted", async () => {
    const cancel = followSignal(undefined);
    let reason: unknown;
    const handler: FetchHandler = async (req) => {
      req.signal.addEventListener("abort", () => (reason = req.signal.reason));
      const body = new ReadableStream<Uint8Array>({ start(c) { c.enqueue(new TextEncoder().encode("data: x\n\n")); } });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    };
    const gen = serveHttp(handler, message(), cancel, { lazyRequest: true });
    await gen.next();
    await gen.return(undefined);
    expect(cancel.aborted).toBe(true);
    expect((reason as Error).name).toBe("CancelledError");
  });

  it("does not abort a call whose response was read to the end", async () => {
    const cancel = followSignal(undefined);
    await collect(serveHttp(async () => Response.json({ ok: true }), message(), cancel, { lazyRequest: true }));
    expect(cancel.aborted).toBe(false);
  });
});
