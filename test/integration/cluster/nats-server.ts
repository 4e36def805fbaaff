// Starts a real `nats-server` with JetStream for a test: loopback, a free port, a temporary store,
// server pings every 2 s (CLUSTER.md rule 6); stopped by pid. When nats-server is missing the test
// fails with a message that says how to install it (CI runs as root and installs it through
// scripts/install-nats.sh); it is never skipped silently.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort, freePorts } from "../../fixtures/free-port.ts";

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

export async function startNatsServer(
  cluster?: { name: string; serverName: string; port: number; clusterPort: number; routes: number[] },
  listen = "127.0.0.1",
): Promise<NatsServer> {
  requireNatsServer();
  const dir = mkdtempSync(path.join(os.tmpdir(), "stingray-nats-"));
  const port = cluster?.port ?? (await freePort());
  const conf = path.join(dir, "nats.conf");
  writeFileSync(conf, 'ping_interval: "2s"\nping_max: 2\n');
  const args = ["-c", conf, "-a", listen, "-p", String(port), "-js", "-sd", path.join(dir, "js")];
  if (cluster) {
    args.push("-n", cluster.serverName, "--cluster_name", cluster.name, "--cluster", `nats://127.0.0.1:${cluster.clusterPort}`);
    args.push("--routes", cluster.routes.map((p) => `nats://127.0.0.1:${p}`).join(","));
  }
  const child: ChildProcess = spawn(BINARY, args, { stdio: ["ignore", "ignore", "pipe"] });
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
      const kill = (signal: NodeJS.Signals) => {
        try {
          if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, signal);
        } catch {
          // Already gone (a test killed it).
        }
      };
      kill("SIGTERM");
      const timer = setTimeout(() => kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Three nats-servers clustered on loopback (routes between them, JetStream on each, separate
 * stores), for the server-failure test. Resolves once all listen; JetStream elects its meta
 * leader shortly after (a client's first KV create waits for it).
 */
export async function startNatsCluster(size = 3): Promise<NatsServer[]> {
  const all = await freePorts(size * 2);
  const ports = all.slice(0, size);
  const clusterPorts = all.slice(size);
  return Promise.all(
    ports.map((port, i) =>
      startNatsServer({ name: "stingray-test", serverName: `n${i + 1}`, port, clusterPort: clusterPorts[i]!, routes: clusterPorts.filter((_, j) => j !== i) }),
    ),
  );
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
