// Baseline for the mcp-throughput benchmark: the MCP SDK's own single-process server in its
// documented stateless pattern — createMcpExpressApp (express.json + DNS-rebinding guard) and
// createMcpHandler with a per-request server, wrapped by toNodeHandler. Listens on PORT and prints
// "ready on <url>".

import { createMcpExpressApp } from "@modelcontextprotocol/express";
import { toNodeHandler } from "@modelcontextprotocol/node";
import { createMcpHandler } from "@modelcontextprotocol/server";
import { buildEchoWeatherServer } from "./tool.ts";

const port = Number(process.env.PORT ?? 8000);
const app = createMcpExpressApp({ host: "127.0.0.1" });
const handler = toNodeHandler(createMcpHandler(buildEchoWeatherServer));
app.post("/mcp", (req, res) => {
  void handler(req, res, req.body);
});
// Express 5 hands a listen error to this callback instead of throwing.
const server = app.listen(port, "127.0.0.1", (err?: Error) => {
  if (err) throw err;
  console.log(`ready on http://127.0.0.1:${port}/mcp`);
});
process.once("SIGTERM", () => server.close(() => process.exit(0)));
