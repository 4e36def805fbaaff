// The per-user records `stingray run` leaves so that `status`, `deploy` and `shutdown` find it, and
// how those commands choose an address from them.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InstanceRecords, instanceStateDir } from "../../../src/cli/instance-records.ts";
import { DEFAULT_ADDRESS } from "../../../src/cli/io.ts";
import { connectableAddress, resolveRuntimeAddress } from "../../../src/cli/runtime-address.ts";

let dir: string;
let records: InstanceRecords;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "stingray-records-"));
  records = new InstanceRecords(path.join(dir, "state"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A pid that certainly belonged to a process and now belongs to none. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", ""]);
  return r.pid!;
}

function writeRaw(pid: number, record: unknown): string {
  const file = path.join(records.dir, `${pid}.json`);
  writeFileSync(file, typeof record === "string" ? record : JSON.stringify(record));
  return file;
}

function stderrCapture() {
  const stderr = new PassThrough();
  let text = "";
  stderr.on("data", (d) => (text += d));
  return { stderr, text: () => text };
}

describe("instanceStateDir", () => {
  it.each([
    ["STINGRAY_STATE_DIR wins", { STINGRAY_STATE_DIR: "/tmp/s", XDG_STATE_HOME: "/x", HOME: "/h" }, "/tmp/s"],
    ["then $XDG_STATE_HOME/stingray", { XDG_STATE_HOME: "/x/state", HOME: "/h" }, "/x/state/stingray"],
    ["a relative XDG_STATE_HOME is ignored (XDG spec)", { XDG_STATE_HOME: "rel", HOME: "/h" }, "/h/.local/state/stingray"],
    ["then ~/.local/state/stingray", { HOME: "/home/u" }, "/home/u/.local/state/stingray"],
  ])("%s", (_name, env, expected) => {
    expect(instanceStateDir(env)).toBe(expected);
  });
});

describe("InstanceRecords", () => {
  it("writes one private file per pid, atomically, and removes it", () => {
    const remove = records.write({ address: "http://127.0.0.1:9000", startedAt: 1000, target: "app.ts:app", cwd: "/w" });
    expect(readdirSync(records.dir)).toEqual([`${process.pid}.json`]);
    const file = path.join(records.dir, `${process.pid}.json`);
    const stored = JSON.parse(readFileSync(file, "utf8"));
    expect(stored).toMatchObject({ pid: process.pid, address: "http://127.0.0.1:9000", startedAt: 1000, target: "app.ts:app", cwd: "/w" });
    if (process.platform !== "win32") {
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(records.dir).mode & 0o777).toBe(0o700);
    }
    expect(records.live()).toEqual([stored]);
    remove();
    remove();
    expect(readdirSync(records.dir)).toEqual([]);
    expect(records.live()).toEqual([]);
  });

  it("lists live records newest first", () => {
    records.write({ address: "http://127.0.0.1:9001", startedAt: 2000 });
    // Our own parent process stands in for a second live instance.
    records.write({ pid: process.ppid, address: "http://127.0.0.1:9002", startedAt: 3000 });
    expect(records.live().map((r) => r.address)).toEqual(["http://127.0.0.1:9002", "http://127.0.0.1:9001"]);
  });

  it("ignores and deletes records of processes that are gone", () => {
    records.write({ address: "http://127.0.0.1:9001", startedAt: 2000 });
    const pid = deadPid();
    const stale = writeRaw(pid, { pid, address: "http://127.0.0.1:9009", startedAt: 9000 });
    expect(records.live().map((r) => r.address)).toEqual(["http://127.0.0.1:9001"]);
    expect(readdirSync(records.dir)).toEqual([`${process.pid}.json`]);
    expect(() => readFileSync(stale)).toThrow();
  });

  it("deletes unreadable records and records whose pid does not match the file name", () => {
    records.write({ address: "http://127.0.0.1:9001", startedAt: 2000 });
    writeRaw(process.ppid, "{not json");
    writeRaw(1, { pid: process.pid, address: "http://127.0.0.1:9003", startedAt: 5000 });
    expect(records.live().map((r) => r.address)).toEqual(["http://127.0.0.1:9001"]);
    expect(readdirSync(records.dir)).toEqual([`${process.pid}.json`]);
  });

  it.runIf(process.platform === "linux")("treats a record as stale when its pid now belongs to a newer process", () => {
    records.write({ address: "http://127.0.0.1:9001", startedAt: 2000 });
    const file = path.join(records.dir, `${process.pid}.json`);
    const stored = JSON.parse(readFileSync(file, "utf8"));
    expect(typeof stored.procStart).toBe("number");
    writeFileSync(file, JSON.stringify({ ...stored, procStart: stored.procStart - 1 }));
    expect(records.live()).toEqual([]);
    expect(readdirSync(records.dir)).toEqual([]);
  });

  it("does not remove a newer record that took over the same pid", () => {
    const removeOld = records.write({ address: "http://127.0.0.1:9001", startedAt: 2000 });
    records.write({ address: "http://127.0.0.1:9002", startedAt: 3000 });
    removeOld();
    expect(records.live().map((r) => r.address)).toEqual(["http://127.0.0.1:9002"]);
  });

  it("reads nothing from a directory that does not exist", () => {
    expect(new InstanceRecords(path.join(dir, "nope")).live()).toEqual([]);
  });
});

describe("resolveRuntimeAddress", () => {
  it("uses --address, then STINGRAY_ADDRESS, before any record", () => {
    records.write({ address: "http://127.0.0.1:9001", startedAt: 2000 });
    const { stderr, text } = stderrCapture();
    expect(resolveRuntimeAddress("http://h:1", { env: { STINGRAY_ADDRESS: "http://h:2" }, stderr }, records)).toBe("http://h:1");
    expect(resolveRuntimeAddress(undefined, { env: { STINGRAY_ADDRESS: "http://h:2" }, stderr }, records)).toBe("http://h:2");
    expect(text()).toBe("");
  });

  it("uses the one running instance silently", () => {
    records.write({ address: "http://127.0.0.1:9001", startedAt: 2000 });
    const { stderr, text } = stderrCapture();
    expect(resolveRuntimeAddress(undefined, { env: {}, stderr }, records)).toBe("http://127.0.0.1:9001");
    expect(text()).toBe("");
  });

  it("picks the most recent of several and says which on stderr", () => {
    records.write({ address: "http://127.0.0.1:9001", startedAt: Date.parse("2026-12-02T10:00:00Z"), target: "a.ts:app" });
    records.write({ pid: process.ppid, address: "http://127.0.0.1:9002", startedAt: Date.parse("2026-12-02T11:00:00Z"), target: "b.yaml" });
    const { stderr, text } = stderrCapture();
    expect(resolveRuntimeAddress(undefined, { env: {}, stderr }, records)).toBe("http://127.0.0.1:9002");
    expect(text()).toBe(
      `2 stingray runtimes are running; using the most recent: http://127.0.0.1:9002 (pid ${process.ppid}, stingray run b.yaml, started 2026-12-02T11:00:00.000Z)\n` +
        `  also running: http://127.0.0.1:9001 (pid ${process.pid}, stingray run a.ts:app, started 2026-12-02T10:00:00.000Z)\n` +
        "choose one with --address (or STINGRAY_ADDRESS)\n",
    );
  });

  it("falls back to the default address when nothing is recorded", () => {
    const { stderr } = stderrCapture();
    expect(resolveRuntimeAddress(undefined, { env: {}, stderr }, records)).toBe(DEFAULT_ADDRESS);
  });

  it.each([
    ["http://0.0.0.0:8000", "http://127.0.0.1:8000"],
    ["http://[::]:8000", "http://[::1]:8000"],
    ["http://127.0.0.1:8000", "http://127.0.0.1:8000"],
    ["http://10.0.0.5:8000", "http://10.0.0.5:8000"],
  ])("records a wildcard listen address %s as %s", (listening, recorded) => {
    expect(connectableAddress(listening)).toBe(recorded);
  });
});
