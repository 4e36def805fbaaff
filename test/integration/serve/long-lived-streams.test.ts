// Long-lived streams must not starve ordinary calls (issue 11, part 2). One replica with
// maxOngoingRequests 2 and maxOngoingStreams 6, real worker thread, real sockets: twice as many
// idle streams as request slots — 2026-07-28 `subscriptions/listen` streams opened by the SDK's
// client, or legacy GET streams of 2025 sessions — and a call (a legacy `initialize` too) still
// answers at once. Past the stream bound a new stream gets 503 + Retry-After with a JSON-RPC body,
// and calls keep working. Before the fix, streams held request slots and the call waited forever.

import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Runtime } from "../../../src/runtime/runtime.ts";
import { ACCEPT_BOTH, legacyInitialize, modernRequest } from "../../fixtures/ingress/harness.ts";
import { LISTEN_DESK_LIMITS, listenApp } from "../../fixtures/serve/listen-apps.ts";
import { quietLogger, waitFor } from "./helpers.ts";

const { maxOngoingRequests, maxOngoingStreams } = LISTEN_DESK_LIMITS;
/** Generous for a shared 2-core CI machine; a call that waits behind streams never answers at all. */
const ANSWER_MS = 5_000;

let runtime: Runtime;
let endpoint: URL;
/** Everything a test opened: closed after it, so each test starts with no stream open. */
const cleanups: Array<() => Promise<unknown> | unknown> = [];
/** Set by the last test, which shuts the runtime down. */
let shutDown = false;

beforeAll(async () => {
  runtime = await Runtime.start({ http: { host: "127.0.0.1", port: 0 }, numCpus: 2, logger: quietLogger() });
  await runtime.deploy(listenApp, { name: "desk", routePrefix: "/desk" });
  endpoint = new URL(`${runtime.address}/desk/mcp`);
});

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map(async (c) => c()));
  // Closed streams leave the router at once and the replica once its worker finished them.
  if (!shutDown) await waitFor(() => openStreams() === 0 && replicaStreams() === 0, "every stream to close");
});

afterAll(async () => {
  await runtime?.shutdown();
});

const router = () => runtime.controller.router({ app: "desk", deployment: "ListenDesk" });
/** Long-lived streams the router holds open. */
const openStreams = () => [...router().streamsByReplica().values()].reduce((a, b) => a + b, 0);
/** Long-lived streams the replicas themselves count (as `serve.status()` reports them). */
const replicaStreams = () =>
  (runtime.controller.applicationStatus("desk")?.deployments[0]?.replicas ?? []).reduce((n, r) => n + (r.streams ?? 0), 0);

/** Rejects when `promise` has not settled within `ms`, saying what did not happen. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

async function connect(mode: "legacy" | "auto"): Promise<Client> {
  const client = new Client({ name: "it", version: "1" }, { versionNegotiation: { mode } });
  cleanups.push(() => client.close().catch(() => {}));
  await client.connect(new StreamableHTTPClientTransport(endpoint));
  return client;
}

/** A 2026-07-28 `subscriptions/listen` stream through the SDK client, acknowledged by the server. */
async function listen(): Promise<void> {
  const client = await within(ANSWER_MS, "a 2026-07-28 connect", connect("auto"));
  expect(client.getNegotiatedProtocolVersion()).toBe("2026-07-28");
  await within(ANSWER_MS, "a subscriptions/listen acknowledgement", client.listen({ toolsListChanged: true }));
}

/** A raw 2025 session (initialize + initialized), without its GET stream yet. */
async function legacySession(): Promise<string> {
  const init = legacyInitialize();
  const res = await fetch(endpoint, { method: "POST", headers: init.headers, body: init.body, signal: AbortSignal.timeout(ANSWER_MS) });
  expect(res.status).toBe(200);
  await res.text();
  const sessionId = res.headers.get("mcp-session-id")!;
  expect(sessionId).toBeTruthy();
  const initialized = await fetch(endpoint, {
    method: "POST",
    headers: { ...legacyHeaders(sessionId), "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
    signal: AbortSignal.timeout(ANSWER_MS),
  });
  expect(initialized.status).toBe(202);
  await initialized.text();
  return sessionId;
}

function legacyHeaders(sessionId: string): Record<string, string> {
  return { accept: ACCEPT_BOTH, "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25" };
}

/** Opens the session's standalone GET stream; resolves with the response once its head arrived. */
async function openGetStream(sessionId: string): Promise<Response> {
  const aborter = new AbortController();
  const timer = setTimeout(() => aborter.abort(new Error("no GET stream head")), ANSWER_MS);
  cleanups.push(() => aborter.abort());
  const res = await fetch(endpoint, { method: "GET", headers: { ...legacyHeaders(sessionId), accept: "text/event-stream" }, signal: aborter.signal });
  clearTimeout(timer);
  return res;
}

/** A raw `subscriptions/listen` POST: the response once its head arrived (the stream, or a refusal). */
async function rawListen(id: number): Promise<Response> {
  const aborter = new AbortController();
  cleanups.push(() => aborter.abort());
  const req = modernRequest("subscriptions/listen", { notifications: { toolsListChanged: true } }, id);
  return fetch(endpoint, { method: "POST", headers: req.headers, body: req.body, signal: aborter.signal });
}

const textOf = (r: unknown) => (r as { content: Array<{ text: string }> }).content[0]!.text;

describe(`long-lived streams (one replica, maxOngoingRequests ${maxOngoingRequests}, maxOngoingStreams ${maxOngoingStreams})`, () => {
  it("a tools/call answers at once while 2 × maxOngoingRequests subscriptions/listen streams are open", async () => {
    for (let i = 0; i < 2 * maxOngoingRequests; i++) await listen();
    expect(openStreams()).toBe(2 * maxOngoingRequests);
    expect(replicaStreams()).toBe(2 * maxOngoingRequests);
    // Streams are not load: no request slot taken, nothing for the autoscaler.
    expect(router().running).toBe(0);
    expect(router().ongoingForAutoscaling).toBe(0);

    const client = await within(ANSWER_MS, "a 2026-07-28 connect behind idle streams", connect("auto"));
    const answer = await within(ANSWER_MS, "a tools/call behind idle streams", client.callTool({ name: "echo", arguments: { text: "modern" } }));
    expect(textOf(answer)).toBe("modern");
  });

  it("a legacy initialize and tools/call answer at once while 2 × maxOngoingRequests legacy GET streams are open", async () => {
    for (let i = 0; i < 2 * maxOngoingRequests; i++) {
      const sessionId = await within(ANSWER_MS, `legacy session ${i + 1}`, legacySession());
      const stream = await openGetStream(sessionId);
      expect(stream.status).toBe(200);
      expect(stream.headers.get("content-type")).toBe("text/event-stream");
    }
    expect(openStreams()).toBe(2 * maxOngoingRequests);
    expect(router().running).toBe(0);
    expect(router().ongoingForAutoscaling).toBe(0);

    // The SDK client initializes (a POST that must find a request slot), then calls a tool.
    const client = await within(ANSWER_MS, "a legacy initialize behind idle streams", connect("legacy"));
    expect(client.getNegotiatedProtocolVersion()).toBe("2025-11-25");
    const answer = await within(ANSWER_MS, "a legacy tools/call behind idle streams", client.callTool({ name: "echo", arguments: { text: "legacy" } }));
    expect(textOf(answer)).toBe("legacy");
  });

  it("past maxOngoingStreams a new stream gets 503 + Retry-After (both eras), calls still answer, and a closed stream frees its slot", async () => {
    const legacy = await legacySession();
    const listens: Response[] = [];
    for (let i = 0; i < maxOngoingStreams; i++) {
      const res = await within(ANSWER_MS, `listen stream ${i + 1}`, rawListen(100 + i));
      expect(res.status).toBe(200);
      listens.push(res);
    }
    await waitFor(() => openStreams() === maxOngoingStreams, "the streams to be counted");

    const refused = await within(ANSWER_MS, "the refusal of one stream too many", rawListen(999));
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("5");
    const body = await refused.json();
    expect(body).toMatchObject({ jsonrpc: "2.0", id: 999, error: { code: -32000 } });
    expect(body.error.message).toMatch(/too many open streams/);

    const get = await openGetStream(legacy);
    expect(get.status).toBe(503);
    expect(get.headers.get("retry-after")).toBe("5");
    expect((await get.json()).error.code).toBe(-32000);

    const client = await within(ANSWER_MS, "a connect with every stream slot taken", connect("auto"));
    const answer = await within(ANSWER_MS, "a tools/call with every stream slot taken", client.callTool({ name: "echo", arguments: { text: "still" } }));
    expect(textOf(answer)).toBe("still");

    // One client leaves: its slot frees once the replica finished the stream, and a new one fits.
    await listens[0]!.body!.cancel();
    let status = 0;
    await waitFor(async () => {
      const res = await rawListen(1_000);
      status = res.status;
      if (status !== 200) await res.text();
      return status === 200;
    }, "a stream slot to free up", ANSWER_MS);
    expect(status).toBe(200);
  });

  // Last: it shuts the runtime down.
  it("shutdown ends idle streams of both eras at once instead of waiting out the 20 s grace", async () => {
    await listen();
    const stream = await openGetStream(await legacySession());
    expect(stream.status).toBe(200);
    const started = performance.now();
    shutDown = true;
    await runtime.shutdown();
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
