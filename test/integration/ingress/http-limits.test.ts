// The proxy's connection limits on real sockets, with a real runtime (worker-thread replica): a
// stalled body is answered 408 and closed within 30 s by default, a silent connection is closed,
// an idle kept-alive connection is closed, at most `maxConnections` are served at once — and a
// response that outlasts the request timeouts (a stream, a slow answer) is never cut.

import net from "node:net";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../../src/observability/logger.ts";
import { Runtime } from "../../../src/runtime/runtime.ts";
import { app } from "../../fixtures/serve/http-limits-app.ts";

interface Raw {
  socket: net.Socket;
  received(): string;
  /** Resolves with the ms from open to close. */
  closed: Promise<number>;
}

function openRaw(port: number, send?: string): Raw {
  const startedAt = performance.now();
  const socket = net.connect(port, "127.0.0.1");
  let data = "";
  socket.setEncoding("utf8");
  socket.on("data", (d: string) => (data += d));
  socket.on("error", () => {});
  if (send !== undefined) socket.once("connect", () => socket.write(send));
  const closed = new Promise<number>((resolve) => socket.once("close", () => resolve(performance.now() - startedAt)));
  return { socket, received: () => data, closed };
}

/** Rejects when `p` has not settled after `ms` (the old code held these sockets for minutes). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: still open after ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}

const stalledBody = "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\n0123456789a";

describe("default limits", () => {
  let runtime: Runtime;
  let port: number;
  beforeAll(async () => {
    runtime = await Runtime.start({ numCpus: 1, http: { host: "127.0.0.1", port: 0 }, logger: createLogger({ level: "silent" }) });
    await runtime.deploy(app, { name: "limits" });
    port = Number(new URL(runtime.address!).port);
  });
  afterAll(async () => {
    await runtime?.shutdown();
  });

  it("answers a stalled body 408 and closes it within 30 s, and closes a silent connection sooner", async () => {
    // Headers and 11 of 1,000 body bytes, then nothing; and a connection that never sends a byte.
    const body = openRaw(port, stalledBody);
    const silent = openRaw(port);
    const [bodyMs, silentMs] = await Promise.all([within(body.closed, 30_000, "stalled body"), within(silent.closed, 30_000, "silent connection")]);
    expect(body.received()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(body.received()).toMatch(/\r\nConnection: close\r\n/i);
    expect(JSON.parse(body.received().split("\r\n\r\n")[1]!)).toEqual({
      jsonrpc: "2.0",
      id: null,
      error: { code: -32000, message: "Request Timeout: the request did not arrive in time" },
    });
    // The 20 s body deadline, not something sooner: a slow client gets its 20 s.
    expect(bodyMs).toBeGreaterThan(19_000);
    // The 10 s headers deadline (checked each second).
    expect(silentMs).toBeGreaterThan(9_000);
    expect(silentMs).toBeLessThan(15_000);
  }, 45_000);
});

describe("configured limits", () => {
  let runtime: Runtime;
  let base: string;
  let port: number;
  const warnings: string[] = [];
  beforeAll(async () => {
    runtime = await Runtime.start({
      numCpus: 1,
      http: { host: "127.0.0.1", port: 0, headersTimeoutMs: 500, bodyTimeoutMs: 1_000, keepAliveTimeoutMs: 1_000, maxConnections: 3 },
      logger: createLogger({ level: "warn", destination: new Writable({ write: (chunk, _enc, done) => (warnings.push(String(chunk)), done()) }) }),
    });
    await runtime.deploy(app, { name: "limits" });
    base = runtime.address!;
    port = Number(new URL(base).port);
  });
  afterAll(async () => {
    await runtime?.shutdown();
  });

  it("answers a stalled body 408 at the configured deadline", async () => {
    const body = openRaw(port, stalledBody);
    const ms = await within(body.closed, 10_000, "stalled body");
    expect(body.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(ms).toBeLessThan(5_000);
  });

  it("answers a malformed request and oversized headers with JSON-RPC bodies, as it does a timeout", async () => {
    const malformed = openRaw(port, "GET / HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n");
    await within(malformed.closed, 5_000, "malformed request");
    expect(malformed.received()).toMatch(/^HTTP\/1\.1 400 Bad Request\r\nContent-Type: application\/json\r\n/);
    expect(JSON.parse(malformed.received().split("\r\n\r\n")[1]!)).toMatchObject({ jsonrpc: "2.0", id: null, error: { code: -32000 } });
    const huge = openRaw(port, `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`);
    await within(huge.closed, 5_000, "oversized headers");
    expect(huge.received()).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
  });

  it("serves a body that arrives in time", async () => {
    const res = await fetch(`${base}/echo`, { method: "POST", body: "x".repeat(1000) });
    expect(await res.json()).toEqual({ bytes: 1000 });
  });

  it("does not cut a response that outlasts the request timeouts: a stream, a slow answer", async () => {
    const startedAt = performance.now();
    const [stream, slow] = await Promise.all([
      fetch(`${base}/stream?ms=3000`).then((r) => r.text()),
      fetch(`${base}/slow?ms=2500`).then((r) => r.json()),
    ]);
    expect(performance.now() - startedAt).toBeGreaterThan(2_900);
    // A tick every 100 ms for 3 s, the last one included: the stream ended by itself.
    expect(stream.match(/^data: \d+$/gm)!.length).toBeGreaterThanOrEqual(25);
    expect(slow).toEqual({ slept: 2500 });
  });

  it("closes a kept-alive connection once it has been idle for keepAliveTimeoutMs", async () => {
    const conn = openRaw(port, "GET /slow?ms=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    const ms = await within(conn.closed, 10_000, "idle kept-alive connection");
    expect(conn.received()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(ms).toBeGreaterThan(900);
  });

  it("serves at most maxConnections at once and closes further ones at accept", async () => {
    // Kept-alive connections of the tests before have gone idle past keepAliveTimeoutMs by now.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    // Three connections busy with 3 s streams fill the cap.
    const busy = [0, 1, 2].map(() => openRaw(port, "GET /stream?ms=3000 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
    await Promise.all(busy.map((b) => new Promise<void>((resolve) => b.socket.once("data", () => resolve()))));
    const extra = openRaw(port, "GET /slow?ms=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    const extraMs = await within(extra.closed, 2_000, "connection over the cap");
    expect(extra.received()).toBe("");
    expect(extraMs).toBeLessThan(1_000);
    expect(warnings.map((w) => JSON.parse(w) as { msg: string; maxConnections?: number })).toContainEqual(
      expect.objectContaining({ msg: "connection limit reached: new connections are closed (http.maxConnections)", maxConnections: 3 }),
    );
    // The busy ones were not disturbed, and once they end there is room again.
    await Promise.all(busy.map((b) => within(b.closed, 10_000, "stream")));
    for (const b of busy) expect(b.received()).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*data: 2\d\n\n/);
    const res = await fetch(`${base}/slow?ms=0`);
    expect(await res.json()).toEqual({ slept: 0 });
  });
});

describe("http options", () => {
  it("are validated at start, naming the option", async () => {
    await expect(Runtime.start({ http: { port: 0, maxConnections: 0 } })).rejects.toMatchObject({
      code: "STINGRAY_ERR_INVALID_OPTIONS",
      message: expect.stringContaining('option "http.maxConnections"'),
    });
    await expect(Runtime.start({ http: { port: 0, headersTimeoutMs: 30_000 } })).rejects.toThrow(
      'serve.start(): option "http.headersTimeoutMs" must be at most http.bodyTimeoutMs (20000), got 30000',
    );
    await expect(Runtime.start({ http: { port: 0, keepAliveTimeout: 5 } as never })).rejects.toThrow('option "http.keepAliveTimeout" is not a known option');
  });
});
