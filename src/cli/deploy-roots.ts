// Which files the admin API may import: `POST /-/api/deploy` names a module by path, and importing
// runs it, so a deploy may only name modules under the deploy roots (default: the project of
// `stingray run` and the folder of its config file; `--deploy-root` replaces them). The check
// runs before anything is imported, on the real path (a symlink inside a root that points out of
// it is refused), and every refusal reads the same, so the answer never tells whether a file
// outside the roots exists.

import { existsSync, realpathSync, statSync } from "node:fs";
import path from "node:path";
import { InvalidOptionsError } from "../errors.ts";

const MODULE_FILE = /\.(?:ts|mts|js|mjs)$/;

/**
 * The project a command runs in: the nearest folder at or above `dir` with a package.json, else
 * `dir` itself.
 */
export function projectRoot(dir: string): string {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    if (existsSync(path.join(d, "package.json"))) return d;
    if (path.dirname(d) === d) return path.resolve(dir);
  }
}

/** The default roots: the project of `cwd` and, when `stingray run` was given one, the config file's folder. */
export function defaultDeployRoots(cwd: string, configFile?: string): string[] {
  const roots = [projectRoot(cwd)];
  if (configFile) roots.push(path.dirname(path.resolve(cwd, configFile)));
  return normalizeRoots(roots);
}

/**
 * The real paths of the given roots (resolved against `cwd`), without duplicates. Throws
 * InvalidOptionsError naming `option` when one is not a directory.
 */
export function normalizeRoots(roots: readonly string[], cwd = process.cwd(), option = "--deploy-root"): string[] {
  const out = new Set<string>();
  for (const root of roots) {
    const abs = path.resolve(cwd, root);
    try {
      const real = realpathSync(abs);
      if (!statSync(real).isDirectory()) throw new Error("not a directory");
      out.add(real);
    } catch {
      throw new InvalidOptionsError(`${option}: ${root} is not a directory`);
    }
  }
  return [...out];
}

/** Whether `file` is `root` or lies below it (both absolute and normalized). */
export function isInside(file: string, root: string): boolean {
  const rel = path.relative(root, file);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/**
 * The real path of the module `file` (absolute, or relative to `cwd`) when it is a module file
 * under one of `roots` (from normalizeRoots); otherwise throws InvalidOptionsError with
 * one message for every reason: outside, missing, a symlink out of the roots, not a module file.
 */
export function resolveUnderRoots(file: string, roots: readonly string[], cwd: string, where: string): string {
  const refuse = (): never => {
    throw new InvalidOptionsError(`${where}: no module ${file} under the deploy roots (${roots.join(", ")}); see --deploy-root`);
  };
  // Only the real path counts: a path may reach a root through a symlinked folder, and a symlink
  // inside a root may lead out of it. A missing file is refused like one outside.
  let real: string;
  try {
    real = realpathSync(path.resolve(cwd, file));
    if (!statSync(real).isFile()) refuse();
  } catch {
    return refuse();
  }
  if (!roots.some((root) => isInside(real, root)) || !MODULE_FILE.test(real)) refuse();
  return real;
}
