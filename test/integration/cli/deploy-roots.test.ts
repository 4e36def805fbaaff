// `POST /-/api/deploy` on a real `stingray run` (spawned, real runtime): it imports only modules under
// the deploy roots (default: the project `stingray run` runs in), checked on the real path before
// anything is imported, and its errors neither tell whether a file outside exists nor quote a
// module's contents. The module outside the roots writes a marker file when imported: the marker
// must never appear.

import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURES, startCli, type RunningCli } from "./spawn-cli.ts";

let tmp: string;
let project: string;
let outside: string;
let marker: string;
let run: RunningCli;
let address: string;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "stingray-deploy-roots-"));
  project = path.join(tmp, "project");
  outside = path.join(tmp, "outside");
  mkdirSync(project);
  mkdirSync(outside);
  marker = path.join(outside, "ran.marker");
  writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "deploy-roots-project", private: true, type: "module" }));
  writeFileSync(path.join(project, "app.ts"), `export { app } from ${JSON.stringify(path.join(FIXTURES, "echo-app.ts"))};\n`);
  // Not a module: importing it fails with a syntax error that quotes the file.
  writeFileSync(path.join(project, "secret.ts"), "export const app = 1;\nconst x = SECRET_TOKEN_abc123 SECRET_TOKEN_def456;\n");
  writeFileSync(
    path.join(outside, "evil.mjs"),
    `import { writeFileSync } from "node:fs";\nwriteFileSync(${JSON.stringify(marker)}, "imported");\nexport const app = 1;\n`,
  );
  // Inside the project by name, outside by its real path.
  symlinkSync(path.join(outside, "evil.mjs"), path.join(project, "link.mjs"));
  run = startCli(["run", `${FIXTURES}/echo-app.ts:app`, "--port", "0", "--num-cpus", "2", "--name", "echo", "--route-prefix", "/echo"], {
    cwd: project,
  });
  const m = await run.waitFor(/ready at (http:\/\/127\.0\.0\.1:\d+)\//, 60_000);
  address = m[1]!;
}, 90_000);

afterAll(async () => {
  await run?.stop("SIGKILL", 5_000);
  rmSync(tmp, { recursive: true, force: true });
});

async function deploy(importPath: string): Promise<{ status: number; code?: string; message: string }> {
  const res = await fetch(`${address}/-/api/deploy`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ applications: [{ name: "echo", routePrefix: "/echo", importPath }] }),
  });
  const body = (await res.json()) as { ok?: boolean; error?: { code: string; message: string } };
  return { status: res.status, code: body.error?.code, message: body.error?.message ?? "" };
}

describe("POST /-/api/deploy and the deploy roots", () => {
  it("refuses a module outside the roots without importing it", async () => {
    const r = await deploy(`${outside}/evil.mjs:app`);
    expect(existsSync(marker)).toBe(false);
    expect(r).toMatchObject({ status: 400, code: "STINGRAY_ERR_INVALID_OPTIONS" });
    expect(r.message).toContain("under the deploy roots");
  });

  it("refuses a symlink inside the roots that leads out of them", async () => {
    const r = await deploy(`${project}/link.mjs:app`);
    expect(r).toMatchObject({ status: 400, code: "STINGRAY_ERR_INVALID_OPTIONS" });
    expect(r.message).toContain("under the deploy roots");
    expect(existsSync(marker)).toBe(false);
  });

  it("answers the same whether a file outside the roots exists or not", async () => {
    const exists = await deploy(`${outside}/evil.mjs:app`);
    const missing = await deploy(`${outside}/missing.mjs:app`);
    expect(exists.status).toBe(missing.status);
    expect(exists.message.replace("evil.mjs", "X")).toBe(missing.message.replace("missing.mjs", "X"));
    // Relative paths climbing out of the project are the same case.
    const climbing = await deploy(`../outside/evil.mjs:app`);
    expect(climbing.message).toContain("under the deploy roots");
    expect(existsSync(marker)).toBe(false);
  });

  it("does not quote a module's contents when importing it fails", async () => {
    const r = await deploy(`${project}/secret.ts:app`);
    expect(r).toMatchObject({ status: 400, code: "STINGRAY_ERR_INVALID_OPTIONS" });
    expect(r.message).toMatch(/importing .*secret\.ts failed \(\w+; the details are in the runtime's log\)/);
    expect(r.message).not.toContain("SECRET_TOKEN");
    // The operator still finds out what went wrong.
    await expect.poll(() => run.output().stderr, { timeout: 10_000 }).toContain("deploy: import failed");
  });

  it("deploys a module under the roots", async () => {
    const r = await deploy(`${project}/app.ts:app`);
    expect(r).toMatchObject({ status: 200 });
    const status = (await (await fetch(`${address}/-/api/status`)).json()) as { applications: Array<{ name: string }> };
    expect(status.applications.map((a) => a.name)).toEqual(["echo"]);
  }, 60_000);
});
