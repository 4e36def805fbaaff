// Transport hygiene on the MCP endpoint, one raw-HTTP test per rule. Each answer must be a
// JSON-RPC error (never HTML), and no rejected request may hurt the replica or other requests.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchApp, ingress } from "../../../src/deployments/ingress.ts";
import { mcpApp } from "../../../src/deployments/mcp-app.ts";
import {
  ACCEPT_BOTH,
  legacyInitialize,
  messagesOf,
  modernRequest,
  startProxy,
  until,
  type Harness,
} from "../../fixtures/ingress/harness.ts";
import { StatelessMcp, ToolState, buildTestServer } from "../../fixtures/ingress/mcp-apps.ts";

@ingress(mcpApp(buildTestServer, { maxBodyBytes: 64 * 1024, requestTimeoutMs: 300 }))
class TightMcp extends ToolState {}

@ingress(fetchApp(() => async () => new Response("ok")))
class PlainApp {}

let h: Harness;
let endpoint: string;
beforeAll(async () => {
  h = await startProxy([
    { appName: "mcp", routePrefix: "/app", cls: StatelessMcp },
    { appName: "tight", routePrefix: "/tight", cls: TightMcp },
    { appName: "plain", routePrefix: "/plain", cls: PlainApp },
  ]);
  endpoint = `${h.url}/app/mcp`;
});
afterAll(async () => {
  await h.close();
});

async function expectJsonRpcError(res: Response, status: number, code: number): Promise<{ message: string; data?: unknown }> {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toBe("application/json");
  const body = await res.json();
  expect(body.jsonrpc).toBe("2.0");
  expect(body.error.code).toBe(code);
  return body.error;
}

const post = (url: string, headers: Record<string, string>, body: string) => fetch(url, { method: "POST", headers, body });
const jsonHeaders = { "content-type": "application/json", accept: ACCEPT_BOTH };

describe("MCP transport hygiene", () => {
  it("invalid JSON → 400 with -32700 (not an HTML page)", async () => {
    const error = await expectJsonRpcError(await post(endpoint, jsonHeaders, "{not json"), 400, -32700);
    expect(error.message).toMatch(/Parse error/);
  });

  it("JSON that is not JSON-RPC → 400 with -32600", async () => {
    await expectJsonRpcError(await post(endpoint, jsonHeaders, JSON.stringify({ hello: "world" })), 400, -32600);
  });

  it("JSON-RPC batches are rejected for revisions that removed them, allowed for 2025-03-26", async () => {
    const batch = JSON.stringify([{ jsonrpc: "2.0", id: 1, method: "ping" }]);
    for (const version of ["2025-11-25", "2025-06-18"]) {
      const error = await expectJsonRpcError(await post(endpoint, { ...jsonHeaders, "mcp-protocol-version": version }, batch), 400, -32600);
      expect(error.message).toContain(version);
    }
    const modernBatch = JSON.stringify([JSON.parse(modernRequest("tools/list").body)]);
    await expectJsonRpcError(await post(endpoint, { ...jsonHeaders, "mcp-protocol-version": "2026-07-28" }, modernBatch), 400, -32600);
    const old = await post(endpoint, { ...jsonHeaders, "mcp-protocol-version": "2025-03-26" }, batch);
    expect(old.status).toBe(200);
  });

  it("wrong Accept → 406", async () => {
    const { headers, body } = modernRequest("tools/list");
    await expectJsonRpcError(await post(endpoint, { ...headers, accept: "text/html" }, body), 406, -32000);
    await expectJsonRpcError(await post(endpoint, { ...headers, accept: "application/json" }, body), 406, -32000);
    const init = legacyInitialize();
    await expectJsonRpcError(await post(endpoint, { ...init.headers, accept: "text/event-stream" }, init.body), 406, -32000);
  });

  it("wrong Content-Type → 415", async () => {
    const { headers, body } = modernRequest("tools/list");
    await expectJsonRpcError(await post(endpoint, { ...headers, "content-type": "text/plain" }, body), 415, -32000);
  });

  it("unsupported protocol version → 400 naming the supported ones", async () => {
    const headerOnly = await post(endpoint, { ...jsonHeaders, "mcp-protocol-version": "1999-01-01" }, JSON.stringify({ jsonrpc: "2.0", id: 3, method: "ping" }));
    const error = await expectJsonRpcError(headerOnly, 400, -32022);
    expect(error.data).toMatchObject({ requested: "1999-01-01", supported: expect.arrayContaining(["2026-07-28", "2025-11-25"]) });
    const body = JSON.parse(modernRequest("tools/list", {}, 301).body);
    body.params._meta["io.modelcontextprotocol/protocolVersion"] = "2099-01-01";
    const envelope = await post(endpoint, { ...modernRequest("tools/list").headers, "mcp-protocol-version": "2099-01-01" }, JSON.stringify(body));
    expect(envelope.status).toBe(400);
    const answer = await envelope.json();
    // The id is echoed, and the versions offered are those server/discover lists.
    expect(answer).toMatchObject({ id: 301, error: { code: -32022, data: { supported: ["2026-07-28"], requested: "2099-01-01" } } });
  });

  it("Mcp-Method / Mcp-Name that disagree with the body → 400 with -32020", async () => {
    const call = modernRequest("tools/call", { name: "echo", arguments: { text: "x" } });
    await expectJsonRpcError(await post(endpoint, { ...call.headers, "mcp-method": "tools/list" }, call.body), 400, -32020);
    await expectJsonRpcError(await post(endpoint, { ...call.headers, "mcp-name": "other" }, call.body), 400, -32020);
    const claim = JSON.parse(call.body);
    claim.params._meta["io.modelcontextprotocol/protocolVersion"] = "2099-01-01";
    await expectJsonRpcError(await post(endpoint, call.headers, JSON.stringify(claim)), 400, -32020);
    const { "mcp-method": _dropped, ...noMethod } = call.headers;
    await expectJsonRpcError(await post(endpoint, noMethod, call.body), 400, -32020);
  });

  it("body over the limit → 413 (default 4 MiB, configurable per app)", async () => {
    const padding = "x".repeat(4 * 1024 * 1024);
    const huge = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping", params: { padding } });
    await expectJsonRpcError(await post(endpoint, jsonHeaders, huge), 413, -32000);
    const justUnder = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping", params: { p: "x".repeat(3 * 1024 * 1024) } });
    expect((await post(endpoint, { ...jsonHeaders, "mcp-protocol-version": "2025-11-25" }, justUnder)).status).toBe(200);
    const medium = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping", params: { p: "x".repeat(100 * 1024) } });
    const error = await expectJsonRpcError(await post(`${h.url}/tight/mcp`, jsonHeaders, medium), 413, -32000);
    expect(error.message).toContain(String(64 * 1024));
  });

  it("bad Host or Origin → 403", async () => {
    const { headers, body } = modernRequest("tools/list");
    // fetch() will not send a forged Host; a raw request does.
    const { request } = await import("node:http");
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(endpoint, { method: "POST", headers: { ...headers, host: "evil.example.com" } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on("error", reject);
      req.end(body);
    });
    expect(status).toBe(403);
    await expectJsonRpcError(await post(endpoint, { ...headers, origin: "https://evil.example.com" }, body), 403, -32000);
    await expectJsonRpcError(await post(endpoint, { ...headers, origin: "null" }, body), 403, -32000);
    expect((await post(endpoint, { ...headers, origin: `http://localhost:${h.port}` }, body)).status).toBe(200);
  });

  it("GET/DELETE on a stateless endpoint → 405, other methods → 405", async () => {
    for (const method of ["GET", "DELETE", "PUT", "PATCH"]) {
      const res = await fetch(endpoint, { method, headers: { accept: ACCEPT_BOTH } });
      await expectJsonRpcError(res, 405, -32000);
      expect(res.headers.get("allow")).toBe("POST");
    }
  });

  it("unknown route → 404, also under an MCP app's prefix", async () => {
    await expectJsonRpcError(await fetch(`${h.url}/nothing/mcp`), 404, -32000);
    const error = await expectJsonRpcError(await fetch(`${h.url}/app/other`), 404, -32000);
    expect(error.message).toContain("/app/mcp");
  });

  it("a request past its timeout → 504, and the replica stops the work", async () => {
    const replica = h.dispatcher.instance(h.dispatcher.replicaIds("tight")[0]!) as TightMcp;
    const call = modernRequest("tools/call", { name: "slow", arguments: { ms: 20_000 } });
    const started = Date.now();
    const res = await post(`${h.url}/tight/mcp`, call.headers, call.body);
    await expectJsonRpcError(res, 504, -32000);
    expect(Date.now() - started).toBeLessThan(10_000);
    await until(() => replica.slowAborted === 1, "the tool saw the cancellation");
    expect(replica.slowFinished).toBe(0);
  });

  it("none of the above breaks the replica: a good request still works", async () => {
    const call = modernRequest("tools/call", { name: "echo", arguments: { text: "still here" } });
    const res = await post(endpoint, call.headers, call.body);
    expect(res.status).toBe(200);
    const [message] = (await messagesOf(res)) as Array<{ result: { content: Array<{ text: string }> } }>;
    expect(message!.result.content[0]!.text).toMatch(/^still here\|modern/);
    expect((await fetch(`${h.url}/plain/x`)).status).toBe(200);
  });
});
