// MCP span names and attributes per the OpenTelemetry MCP semantic conventions (status:
// Development; open-telemetry/semantic-conventions-genai docs/gen-ai/mcp.md): the name is
// `{mcp.method.name} {target}` where the target is the tool or prompt name, else just the method;
// the resource URI is an attribute only (it would make span names high-cardinality). Pure: it
// reads a parsed JSON-RPC message and never loads the OpenTelemetry SDK.

export type McpSpanAttributes = Record<string, string>;

export interface McpSpanDescription {
  name: string;
  attributes: McpSpanAttributes;
}

export interface McpSpanContext {
  /** The `Mcp-Session-Id` header, when the request belongs to a session. */
  sessionId?: string | undefined;
  /** The `MCP-Protocol-Version` header, when the client sent one. */
  protocolVersion?: string | undefined;
}

function stringParam(params: unknown, key: string): string | undefined {
  if (typeof params !== "object" || params === null) return undefined;
  const value = (params as Record<string, unknown>)[key];
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

/**
 * Name and attributes of the span for one JSON-RPC message, or undefined when the body is not a
 * single JSON-RPC request/notification (a batch or a response gets the plain HTTP span).
 */
export function describeMcpMessage(body: unknown, context: McpSpanContext = {}): McpSpanDescription | undefined {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return undefined;
  const message = body as Record<string, unknown>;
  const method = message.method;
  if (typeof method !== "string" || method.length === 0) return undefined;

  const attributes: McpSpanAttributes = { "mcp.method.name": method, "network.transport": "tcp" };
  const id = message.id;
  // Conditionally required for requests; the conventions record it in string form.
  if (typeof id === "string" || typeof id === "number") attributes["jsonrpc.request.id"] = String(id);
  if (context.sessionId !== undefined && context.sessionId.length > 0) attributes["mcp.session.id"] = context.sessionId;
  if (context.protocolVersion !== undefined && context.protocolVersion.length > 0) {
    attributes["mcp.protocol.version"] = context.protocolVersion;
  }

  let target: string | undefined;
  if (method === "tools/call") {
    target = stringParam(message.params, "name");
    attributes["gen_ai.operation.name"] = "execute_tool";
    if (target !== undefined) attributes["gen_ai.tool.name"] = target;
  } else if (method === "prompts/get") {
    target = stringParam(message.params, "name");
    if (target !== undefined) attributes["gen_ai.prompt.name"] = target;
  } else if (method.startsWith("resources/")) {
    const uri = stringParam(message.params, "uri");
    if (uri !== undefined) attributes["mcp.resource.uri"] = uri;
  }
  return { name: target === undefined ? method : `${method} ${target}`, attributes };
}
