// run-all's tolerance of misbehaving scripts. Each case is a tiny `node -e` child (no tsx), so
// the file stays fast.
import { describe, expect, it } from "vitest";
import { runScript, tailOf } from "../../../benchmarks/lib/child.ts";

function node(code: string) {
  return { file: process.execPath, args: ["-e", code] };
}

describe("runScript", () => {
  it("returns the result from the last stdout line and streams the other lines", async () => {
    const lines: string[] = [];
    const outcome = await runScript({
      name: "good",
      script: "good.ts",
      timeoutS: 20,
      command: node(`console.log("warming up"); console.error("a warning"); console.log(JSON.stringify({benchmark:"good",rows:[{metric:"m",value:1,unit:"ms"}]}))`),
      onLine: (l, s) => lines.push(`${s}:${l}`),
    });
    expect(outcome.status).toBe("ok");
    expect(outcome.exitCode).toBe(0);
    expect(outcome.result).toEqual({ benchmark: "good", rows: [{ metric: "m", value: 1, unit: "ms" }] });
    expect(lines).toContain("stdout:warming up");
    expect(lines).toContain("stderr:a warning");
  });

  it("records a crashing script as unparsed with its exit code and output tail", async () => {
    const outcome = await runScript({ name: "crash", script: "crash.ts", timeoutS: 20, command: node(`console.log("step 1"); throw new Error("boom")`) });
    expect(outcome.status).toBe("unparsed");
    expect(outcome.exitCode).toBe(1);
    expect(outcome.reason).toBe("last stdout line is not JSON");
    expect(outcome.tail).toContain("step 1");
    expect(outcome.tail).toContain("boom");
  });

  it("records a script with the wrong result shape as unparsed, naming the problem", async () => {
    const outcome = await runScript({ name: "shape", script: "shape.ts", timeoutS: 20, command: node(`console.log(JSON.stringify({benchmark:"x"}))`) });
    expect(outcome).toMatchObject({ status: "unparsed", exitCode: 0, reason: 'result has no "rows" array' });
  });

  it("ends a script that overruns its budget, grandchildren included", async () => {
    // The child starts a grandchild that would live for a minute; both must be gone after the timeout.
    const code = `
      const { spawn } = require("node:child_process");
      const g = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
      console.log("grandchild " + g.pid);
      process.on("SIGTERM", () => {});
      setTimeout(() => {}, 60000);`;
    let grandchild = 0;
    const started = Date.now();
    const outcome = await runScript({
      name: "slow",
      script: "slow.ts",
      timeoutS: 1,
      killGraceMs: 300,
      command: node(code),
      onLine: (l) => {
        const m = /^grandchild (\d+)$/.exec(l);
        if (m) grandchild = Number(m[1]);
      },
    });
    expect(outcome.status).toBe("timeout");
    expect(outcome.reason).toBe("ran past its 1 s budget");
    expect(outcome.signal).toBe("SIGKILL");
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(grandchild).toBeGreaterThan(0);
    const alive = () => {
      try {
        process.kill(grandchild, 0);
        return true;
      } catch {
        return false;
      }
    };
    // The group kill is asynchronous at the OS level: poll briefly.
    for (let i = 0; i < 50 && alive(); i++) await new Promise((r) => setTimeout(r, 50));
    expect(alive()).toBe(false);
  });

  it("reports a command that cannot start as spawn-error", async () => {
    const outcome = await runScript({ name: "missing", script: "x.ts", timeoutS: 5, command: { file: "/nonexistent/bin/node", args: [] } });
    expect(outcome.status).toBe("spawn-error");
    expect(outcome.reason).toMatch(/ENOENT/);
  });
});

describe("tailOf", () => {
  it("keeps the last lines of each stream, labelled, without blank lines", () => {
    const out = Array.from({ length: 40 }, (_, i) => `line ${i}`).join("\n");
    const tail = tailOf(out, "err 1\n\n", 3);
    expect(tail).toBe("[stdout]\nline 37\nline 38\nline 39\n[stderr]\nerr 1");
    expect(tailOf("", "")).toBe("");
  });
});
