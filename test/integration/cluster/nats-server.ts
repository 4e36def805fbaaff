// Starts a real `nats-server` with JetStream for a test: loopback, a free port, a temporary store,
// server pings every 2 s (CLUSTER.md rule 6); stopped by pid. When nats-server is missing the test
// fails with a message that says how to install it (CI runs as root and installs it through
// scripts/install-nats.sh); it is never skipped silently.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export interface NatsServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

const BINARY = process.env.STINGRAY_NATS_SERVER ?? "nats-server";

export function requireNatsServer(): void {
  const probe = spawnSync(BINARY, ["--version"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      `the cluster tests need nats-server (${BINARY}: ${probe.error?.message ?? probe.stderr}); ` +
        "install it with 'sudo apt-get install -y nats-server' or 'bash scripts/install-nats.sh' as root, or set STINGRAY_NATS_SERVER",
    );
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function startNatsServer(): Promise<NatsServer> {
  requireNatsServer();
  const dir = mkdtempSync(path.join(os.tmpdir(), "stingray-nats-"));
  const port = await freePort();
  const conf = path.join(dir, "nats.conf");
  writeFileSync(conf, 'ping_interval: "2s"\nping_max: 2\n');
  const child: ChildProcess = spawn(BINARY, ["-c", conf, "-a", "127.0.0.1", "-p", String(port), "-js", "-sd", path.join(dir, "js")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nats-server exited early: ${stderr}`);
    if (await canConnect(port)) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`nats-server did not listen on ${port} within 15 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null) process.kill(child.pid!, "SIGTERM");
      const timer = setTimeout(() => child.exitCode === null && process.kill(child.pid!, "SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}
