import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { appUrl } from "../../../src/cli/apply-config.ts";
import { formatDuration, formatStates, formatStatus, table } from "../../../src/cli/format.ts";
import { ProgressDisplay } from "../../../src/cli/progress.ts";

describe("table", () => {
  it("aligns columns and trims trailing space", () => {
    expect(table(["A", "LONG HEADER"], [["value", "x"], ["v", ""]])).toBe("A      LONG HEADER\nvalue  x\nv");
  });
});

describe("formatters", () => {
  it.each([
    [0, "0s"],
    [59_999, "59s"],
    [61_000, "1m 1s"],
    [3_723_000, "1h 2m"],
  ])("formatDuration(%i) = %s", (ms, text) => expect(formatDuration(ms)).toBe(text));

  it("lists non-zero replica states", () => {
    expect(formatStates({ RUNNING: 2, STARTING: 0, STOPPING: 1 })).toBe("RUNNING 2, STOPPING 1");
    expect(formatStates({})).toBe("-");
  });

  it.each([
    ["/", undefined, "http://h:1/"],
    ["/", "/mcp", "http://h:1/mcp"],
    ["/weather", "/mcp", "http://h:1/weather/mcp"],
    ["/weather", undefined, "http://h:1/weather"],
  ])("appUrl(prefix %s, mcp %s) = %s", (prefix, mcp, url) => expect(appUrl("http://h:1/", prefix, mcp)).toBe(url));
});

describe("ProgressDisplay", () => {
  function sink(isTTY: boolean) {
    const s = Object.assign(new PassThrough(), { isTTY, columns: 30 });
    let text = "";
    s.on("data", (d) => (text += d));
    return { s, text: () => text };
  }

  it("redraws one line in place on a terminal, truncated to its width", () => {
    const { s, text } = sink(true);
    const p = new ProgressDisplay(s);
    p.update("starting: a 0/1");
    p.update("starting: a 0/1");
    p.update("starting: a 1/1 and a very long tail that does not fit");
    p.done();
    expect(text()).toBe("\r\x1b[2Kstarting: a 0/1\r\x1b[2Kstarting: a 1/1 and a very l…\n");
  });

  it("prints changed lines only when output is not a terminal", () => {
    const { s, text } = sink(false);
    const p = new ProgressDisplay(s);
    p.update("x");
    p.update("x");
    p.update("y");
    p.done();
    expect(text()).toBe("x\ny\n");
  });
});

describe("formatStatus", () => {
  it("flags replica threads that would not exit", () => {
    const text = formatStatus(
      {
        runtime: {
          address: "http://127.0.0.1:8000",
          unkillableThreads: [
            { app: "tr", deployment: "Translator", replica: "tr#Translator#3", since: 1_000, message: "its thread did not exit within 2s of being terminated (blocked in native code?)" },
          ],
        },
        applications: [],
      },
      61_000,
    );
    expect(text).toContain("! replica tr#Translator#3 of tr/Translator: its thread did not exit within 2s of being terminated (blocked in native code?), for 1m");
    expect(text).toContain("restart the process (/-/ready fails)");
  });

  it("lists the cluster's nodes: state, leader, address, resources used, last heartbeat", () => {
    const text = formatStatus({
      runtime: { address: "http://127.0.0.1:8001" },
      applications: [],
      cluster: { name: "prod", nodeId: "a", leader: "b", term: 3 } as never,
      nodes: [
        { id: "a", state: "ALIVE", leader: false, address: "http://127.0.0.1:8001", resources: { total: { CPU: 4 }, available: { CPU: 2.5 } }, lastSeenMsAgo: 120 },
        { id: "b", state: "DEAD", leader: true, resources: { total: { CPU: 2, GPU: 1 }, available: { CPU: 2, GPU: 0.5 } }, lastSeenMsAgo: 3_400, codeMismatch: [{ app: "echo", expected: "e1", actual: "f2" }] },
      ],
    });
    expect(text).toContain("cluster prod · this node a · leader b");
    expect(text).toMatch(/NODE\s+STATE\s+LEADER\s+ADDRESS\s+RESOURCES USED\/TOTAL\s+LAST SEEN/);
    expect(text).toMatch(/a\s+ALIVE\s+http:\/\/127\.0\.0\.1:8001\s+CPU 1\.5\/4\s+0\.1s ago/);
    expect(text).toMatch(/b\s+DEAD\s+yes\s+-\s+CPU 0\/2, GPU 0\.5\/1\s+3\.4s ago/);
    expect(text).toContain("! node b has other code for echo (f2, cluster e1): not serving it");
  });
});
