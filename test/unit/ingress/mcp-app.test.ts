// mcpApp + @ingress in one thread: the SDK's own client talks to a replica instance's
// HTTP_HANDLER_METHOD (no proxy, no sockets), in both protocol eras.

import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCode } from "../../../src/errors.ts";
import { mcpApp } from "../../../src/deployments/mcp-app.ts";
import { ingress, ingressOf } from "../../../src/deployments/ingress.ts";
import { HTTP_HANDLER_METHOD } from "../../../src/runtime/http-message.ts";
import { ingressFetch } from "../../fixtures/ingress/in-process.ts";
import { SessionMcp, StatelessMcp, buildTestServer } from "../../fixtures/ingress/mcp-apps.ts";

const URL_ = new URL("http://127.0.0.1/mcp");
const clients: Client[] = [];

async function connect(instance: object, mode: "legacy" | "auto"): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const client = new Client(
    { name: "test-client", version: "1.0.0" },
    { versionNegotiation: { mode }, capabilities: { sampling: {}, elicitation: {} } },
  );
  const transport = new StreamableHTTPClientTransport(URL_, { fetch: ingressFetch(instance) });
  await client.connect(transport);
  clients.push(client);
  return { client, transport };
}

function textOf(result: unknown): string {
  return ((result as { content: Array<{ text: string }> }).content[0]!).text;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
});

describe("mcpApp served by an @ingress instance", () => {
  it("serves a 2025-era client statelessly, with the replica instance reachable from tools", async () => {
    const instance = new StatelessMcp();
    const { client, transport } = await connect(instance, "legacy");
    expect(client.getNegotiatedProtocolVersion()).toBe("2025-11-25");
    expect(transport.sessionId).toBeUndefined();
    const result = await client.callTool({ name: "echo", arguments: { text: "hi" } });
    expect(textOf(result)).toBe(`hi|legacy|anonymous|hello from the replica|${instance.replicaTag}`);
    expect(instance.calls).toBe(1);
  });

  it("serves a 2026-07-28 client (server/discover, Mcp-Method headers)", async () => {
    const instance = new StatelessMcp();
    const { client } = await connect(instance, "auto");
    expect(client.getNegotiatedProtocolVersion()).toBe("2026-07-28");
    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name)).toContain("echo");
    const result = await client.callTool({ name: "echo", arguments: { text: "yo" } });
    expect(textOf(result)).toBe(`yo|modern|anonymous|hello from the replica|${instance.replicaTag}`);
  });

  it("streams progress notifications to both eras", async () => {
    for (const mode of ["legacy", "auto"] as const) {
      const { client } = await connect(new StatelessMcp(), mode);
      const seen: number[] = [];
      const result = await client.callTool(
        { name: "progress", arguments: { steps: 3, pauseMs: 1 } },
        { onprogress: (p) => seen.push(p.progress) },
      );
      expect(textOf(result)).toBe("done 3");
      expect(seen).toEqual([1, 2, 3]);
    }
  });

  it("with sessions, mints a session id at initialize and supports sampling and elicitation", async () => {
    const instance = new SessionMcp();
    const { client, transport } = await connect(instance, "legacy");
    expect(transport.sessionId).toMatch(/^[A-Za-z0-9_-]{32}$/);
    client.setRequestHandler("sampling/createMessage", async (req) => ({
      role: "assistant",
      model: "test-model",
      content: { type: "text", text: `echo ${(req.params.messages[0]!.content as { text: string }).text}` },
    }));
    client.setRequestHandler("elicitation/create", async () => ({ action: "accept", content: { name: "Ada" } }));
    expect(textOf(await client.callTool({ name: "sample", arguments: { prompt: "2+2" } }))).toBe("sampled: echo 2+2");
    expect(textOf(await client.callTool({ name: "elicit", arguments: {} }))).toBe("accept: Ada");
  });

  it("with sessions, still serves 2026-07-28 clients statelessly", async () => {
    const { client, transport } = await connect(new SessionMcp(), "auto");
    expect(client.getNegotiatedProtocolVersion()).toBe("2026-07-28");
    expect(transport.sessionId).toBeUndefined();
    expect(textOf(await client.callTool({ name: "echo", arguments: { text: "m" } }))).toMatch(/^m\|modern\|/);
  });

  it("answers 404 for an unknown session id and 400 for a session-less non-initialize request", async () => {
    const fetch = ingressFetch(new SessionMcp());
    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25" };
    const body = JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/list" });
    const unknown = await fetch(URL_, { method: "POST", headers: { ...headers, "mcp-session-id": "nope" }, body });
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error.code).toBe(-32001);
    const missing = await fetch(URL_, { method: "POST", headers, body });
    expect(missing.status).toBe(400);
    expect((await missing.json()).error.message).toMatch(/Mcp-Session-Id/);
  });

  it("installs the replica method and the static definition", () => {
    expect(typeof (StatelessMcp.prototype as unknown as Record<string, unknown>)[HTTP_HANDLER_METHOD]).toBe("function");
    expect(ingressOf(StatelessMcp)?.kind).toBe("mcp");
    expect(ingressOf(SessionMcp)?.proxyOptions).toMatchObject({ path: "/mcp", sessions: { enabled: true, idleTimeoutMs: 60_000 } });
  });

  it("rejects bad options at declaration time, naming the option", () => {
    const attempt = (options: unknown) => {
      try {
        mcpApp(buildTestServer, options as never);
      } catch (err) {
        return err as { code: string; message: string };
      }
      throw new Error("no error");
    };
    const bad = attempt({ sessions: { idleTimeoutMs: -5 } });
    expect(bad.code).toBe(ErrorCode.INVALID_OPTIONS);
    expect(bad.message).toContain('"sessions.idleTimeoutMs"');
    expect(attempt({ maxBodyByte: 10 }).message).toContain('"maxBodyByte" is not a known option');
    expect(attempt({ responseMode: "xml" }).message).toContain('"responseMode"');
    expect(attempt({ auth: {} }).message).toContain('"auth"');
    expect(() => ingress({} as never)).toThrow(/mcpApp/);
  });
});
