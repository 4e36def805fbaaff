// The deploy roots: which module paths the admin API may import (real paths under a root, module
// files only), the one refusal every other path gets, and the default roots of `stingray run`.

import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultDeployRoots, normalizeRoots, projectRoot, resolveUnderRoots } from "../../../src/cli/deploy-roots.ts";

let tmp: string;
let root: string;
let outside: string;

beforeAll(() => {
  tmp = realpathSync(mkdtempSync(path.join(os.tmpdir(), "stingray-roots-unit-")));
  root = path.join(tmp, "project");
  outside = path.join(tmp, "outside");
  mkdirSync(path.join(root, "src", "nested"), { recursive: true });
  mkdirSync(outside);
  writeFileSync(path.join(root, "package.json"), "{}");
  writeFileSync(path.join(root, "src", "app.ts"), "export const app = 1;");
  writeFileSync(path.join(root, "notes.txt"), "not a module");
  writeFileSync(path.join(root, "..dots.ts"), "export const app = 1;");
  writeFileSync(path.join(outside, "evil.mjs"), "export const app = 1;");
  symlinkSync(path.join(outside, "evil.mjs"), path.join(root, "link.mjs"));
  symlinkSync(path.join(outside, "gone.mjs"), path.join(root, "dangling.mjs"));
  symlinkSync(path.join(root, "notes.txt"), path.join(root, "notes.ts"));
  symlinkSync(path.join(root, "src", "app.ts"), path.join(root, "alias.ts"));
  symlinkSync(root, path.join(tmp, "project-link"));
});

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe("resolveUnderRoots", () => {
  const resolve = (file: string, cwd = root) => resolveUnderRoots(file, normalizeRoots([root]), cwd, "applications[0].importPath");

  it("returns the real path of a module under a root", () => {
    expect(resolve("src/app.ts")).toBe(path.join(root, "src", "app.ts"));
    expect(resolve(path.join(root, "src", "nested", "..", "app.ts"))).toBe(path.join(root, "src", "app.ts"));
    expect(resolve("alias.ts")).toBe(path.join(root, "src", "app.ts"));
    expect(resolve("..dots.ts")).toBe(path.join(root, "..dots.ts"));
    // The root named through a symlinked folder is the same root.
    expect(resolve(path.join(tmp, "project-link", "src", "app.ts"), tmp)).toBe(path.join(root, "src", "app.ts"));
  });

  it.each([
    ["a file outside", () => path.join(outside, "evil.mjs")],
    ["a missing file outside", () => path.join(outside, "missing.mjs")],
    ["a relative path climbing out", () => "../outside/evil.mjs"],
    ["a symlink leading out", () => "link.mjs"],
    ["a dangling symlink", () => "dangling.mjs"],
    ["a missing file inside", () => "src/missing.ts"],
    ["a folder", () => "src"],
    ["a .ts symlink to a text file", () => "notes.ts"],
    ["the root's sibling with the same prefix", () => `${root}-evil/app.ts`],
  ])("refuses %s with the same message", (_name, file) => {
    const given = file();
    expect(() => resolve(given)).toThrow(
      expect.objectContaining({
        code: "STINGRAY_ERR_INVALID_OPTIONS",
        message: `applications[0].importPath: no module ${given} under the deploy roots (${root}); see --deploy-root`,
      }),
    );
  });
});

describe("roots", () => {
  it("normalizeRoots keeps real paths once each, and names the option for a bad one", () => {
    expect(normalizeRoots([path.join(tmp, "project-link")])).toEqual([root]);
    expect(normalizeRoots(["project", "./project"], tmp)).toEqual([root]);
    expect(() => normalizeRoots([path.join(root, "notes.txt")])).toThrow(`--deploy-root: ${path.join(root, "notes.txt")} is not a directory`);
    expect(() => normalizeRoots(["nope"], tmp)).toThrow("--deploy-root: nope is not a directory");
  });

  it("the default is the project (nearest package.json) and the config file's folder", () => {
    expect(projectRoot(path.join(root, "src", "nested"))).toBe(root);
    expect(projectRoot(outside)).toBe(outside);
    expect(defaultDeployRoots(path.join(root, "src"))).toEqual([root]);
    expect(defaultDeployRoots(path.join(root, "src"), path.join(outside, "deploy.yaml"))).toEqual([root, outside]);
  });
});
