// readBody against a real node:http server and raw sockets: the body that arrives with its headers
// (taken in one read), one that trickles in over several packets, chunked bodies under and over
// the limit, and a client that leaves mid-body.

import { createServer, type IncomingMessage, type Server } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBody, type BodyResult } from "../../../src/ingress/body.ts";

const LIMIT = 64;
let server: Server;
let port: number;
const results: Array<(r: BodyResult) => void> = [];

function nextResult(): Promise<BodyResult> {
  return new Promise((resolve) => results.push(resolve));
}

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    void readBody(req, LIMIT).then((r) => {
      results.shift()?.(r);
      res.end(r.ok ? "ok" : r.reason);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function open(): Promise<Socket> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1", () => resolve(s));
    s.on("error", () => {});
  });
}

const head = (extra: string) => `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${extra}\r\n`;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends `packets` on one connection, 20 ms apart, and returns what readBody made of them. */
async function exchange(...packets: string[]): Promise<BodyResult> {
  const result = nextResult();
  const s = await open();
  for (const [i, packet] of packets.entries()) {
    if (i > 0) await pause(20);
    s.write(packet);
  }
  const r = await result;
  s.destroy();
  return r;
}

const text = (r: BodyResult) => (r.ok ? r.body.toString() : r.reason);

describe("readBody", () => {
  it("takes a body that came with its headers", async () => {
    const body = '{"jsonrpc":"2.0","id":1,"method":"ping"}';
    expect(text(await exchange(head(`Content-Length: ${body.length}\r\n`) + body))).toBe(body);
  });

  it("waits for a body that arrives over several packets", async () => {
    expect(text(await exchange(head("Content-Length: 12\r\n") + "hello ", "world!"))).toBe("hello world!");
  });

  it("reads an empty body as zero bytes", async () => {
    const r = await exchange(head("Content-Length: 0\r\n"));
    expect(r.ok && r.body.length).toBe(0);
  });

  it("joins a chunked body under the limit", async () => {
    const r = await exchange(head("Transfer-Encoding: chunked\r\n") + "5\r\nhello\r\n", "6\r\n world\r\n0\r\n\r\n");
    expect(text(r)).toBe("hello world");
  });

  it("refuses a chunked body past the limit, whether it came at once or in pieces", async () => {
    const big = "x".repeat(LIMIT + 1);
    const atOnce = await exchange(head("Transfer-Encoding: chunked\r\n") + `${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`);
    expect(atOnce).toEqual({ ok: false, reason: "too-large" });
    const inPieces = await exchange(
      head("Transfer-Encoding: chunked\r\n") + "20\r\n" + "y".repeat(32) + "\r\n",
      "21\r\n" + "z".repeat(33) + "\r\n0\r\n\r\n",
    );
    expect(inPieces).toEqual({ ok: false, reason: "too-large" });
  });

  it("refuses a declared Content-Length past the limit before reading", async () => {
    expect(await exchange(head(`Content-Length: ${LIMIT + 1}\r\n`))).toEqual({ ok: false, reason: "too-large" });
  });

  it("reports a client that leaves mid-body as aborted", async () => {
    const result = nextResult();
    const s = await open();
    s.write(head("Content-Length: 40\r\n") + "only part");
    await pause(20);
    s.destroy();
    expect(await result).toEqual({ ok: false, reason: "aborted" });
  });
});
