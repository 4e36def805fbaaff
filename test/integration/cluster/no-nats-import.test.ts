// Without --cluster nothing changes: a single-node `stingray run` never loads `@nats-io` (nor
// src/cluster/node.ts). The module graph is recorded by a loader hook; the same hook sees NATS in a
// `stingray start --cluster` node, which proves it would notice.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, startCli } from "../cli/spawn-cli.ts";
import { startNatsServer, type NatsServer } from "./nats-server.ts";

const HOOK = path.join(ROOT, "test/fixtures/cluster/record-imports-register.mjs");
const dir = mkdtempSync(path.join(os.tmpdir(), "stingray-imports-"));
let nats: NatsServer;

beforeAll(async () => {
  nats = await startNatsServer();
});
afterAll(async () => {
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function importsOf(name: string, args: string[], ready: RegExp): Promise<string[]> {
  const log = path.join(dir, `${name}.log`);
  const cli = startCli(args, { env: { NODE_OPTIONS: `--import ${HOOK}`, STINGRAY_IMPORT_LOG: log } });
  try {
    await cli.waitFor(ready, 60_000);
  } finally {
    expect(await cli.stop("SIGTERM")).toBe(0);
  }
  return readFileSync(log, "utf8").split("\n").filter(Boolean);
}

describe("cluster mode is opt-in", () => {
  it("a single-node run loads no @nats-io module and no cluster node code", { timeout: 90_000 }, async () => {
    const urls = await importsOf("single", ["run", "test/fixtures/cli/echo-app.ts:app", "--port", "0", "--no-progress"], /ready at/);
    // The hook saw the runtime being loaded…
    expect(urls.some((u) => u.endsWith("/src/runtime/runtime.ts"))).toBe(true);
    // …and nothing of NATS.
    expect(urls.filter((u) => u.includes("@nats-io") || u.includes("/src/cluster/node.ts"))).toEqual([]);
  });

  it("a cluster node does load them (the probe works)", { timeout: 90_000 }, async () => {
    const urls = await importsOf("cluster", ["start", "--cluster", nats.url, "--port", "0", "--node-id", "probe"], /joined cluster/);
    expect(urls.some((u) => u.includes("@nats-io/transport-node"))).toBe(true);
  });
});
