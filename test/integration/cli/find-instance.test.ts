// `stingray status`, `deploy` and `shutdown` without --address find the running `stingray run`
// (as Ray's `serve status` needs no address): real spawned CLIs on random ports, one instance-record
// directory for this file (spawn-cli.ts), stale records cleaned, the most recent of two chosen and
// named on stderr.

import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../../fixtures/free-port.ts";
import { runCli, startCli, STATE_DIR, type RunningCli } from "./spawn-cli.ts";

const running: RunningCli[] = [];
afterAll(async () => {
  await Promise.all(running.map((r) => r.stop("SIGKILL", 5_000)));
});

async function startRun(port: number, name: string): Promise<{ run: RunningCli; address: string }> {
  const run = startCli(["run", "test/fixtures/cli/echo-app.ts:app", "--port", String(port), "--num-cpus", "2", "--name", name, "--route-prefix", `/${name}`, "--no-progress"]);
  running.push(run);
  const m = await run.waitFor(/ready at (http:\/\/127\.0\.0\.1:\d+)\//, 120_000);
  return { run, address: m[1]! };
}

/** Each spawned CLI loads tsx and the sources: seconds each on a busy 2-core machine. */
const SLOW = { timeoutMs: 60_000 };

const recordFile = (pid: number | undefined) => path.join(STATE_DIR, `${pid}.json`);

describe("admin commands without --address", () => {
  it("find the running instance, prefer the most recent, clean stale records, and follow shutdowns", async () => {
    // Free ports, not 8000: the old code would have found an instance on the default port.
    const first = await startRun(await freePort(), "first");
    expect(existsSync(recordFile(first.run.child.pid))).toBe(true);

    // One instance: found silently (the old CLI looked only at port 8000).
    let r = await runCli(["status"], SLOW);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")[0]).toMatch(new RegExp(`^stingray at ${first.address} · pid ${first.run.child.pid} `));
    expect(r.stdout).toMatch(/^first\s+\/first\s+RUNNING/m);

    // A record left by a process that died without cleaning up (newer than `first`): ignored, deleted.
    const deadPid = spawnSync(process.execPath, ["-e", ""]).pid!;
    writeFileSync(recordFile(deadPid), JSON.stringify({ pid: deadPid, address: "http://127.0.0.1:9", startedAt: Date.now() + 60_000 }));
    r = await runCli(["status", "--json"], SLOW);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).runtime.address).toBe(first.address);
    expect(existsSync(recordFile(deadPid))).toBe(false);

    // Two instances: the most recent wins and stderr says which, and which other one runs.
    const second = await startRun(await freePort(), "second");
    r = await runCli(["status"], SLOW);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^second\s+\/second\s+RUNNING/m);
    expect(r.stderr).toContain(`2 stingray runtimes are running; using the most recent: ${second.address} (pid ${second.run.child.pid}, stingray run test/fixtures/cli/echo-app.ts:app`);
    expect(r.stderr).toContain(`also running: ${first.address} (pid ${first.run.child.pid},`);
    expect(r.stderr).toContain("choose one with --address");

    // `deploy` goes to the most recent too.
    r = await runCli(["deploy", "test/fixtures/cli/good.yaml"], SLOW);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`deployed echo at ${second.address}/echo`);

    // The most recent is killed without a chance to clean up: its record is stale, `first` is found.
    expect(await second.run.stop("SIGKILL", 5_000)).toBe(-1);
    expect(existsSync(recordFile(second.run.child.pid))).toBe(true);
    r = await runCli(["status"], SLOW);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^first\s+\/first\s+RUNNING/m);
    expect(existsSync(recordFile(second.run.child.pid))).toBe(false);

    // `shutdown` finds it as well; the instance removes its record as it exits.
    r = await runCli(["shutdown", "--yes"], SLOW);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`shutdown requested at ${first.address}`);
    expect(await first.run.exited).toBe(0);
    expect(readdirSync(STATE_DIR)).toEqual([]);
  }, 400_000);
});
