// Turns "path/to/module.ts:exportName" into an Application: imports the module in this process
// (tsx's hooks are registered first when the module is TypeScript, see typescript-loader.ts),
// calls the export when it is a builder function, and applies a config file's per-deployment
// option overrides by rebuilding the bound graph with `deployment.options(...)` (bound graphs are
// immutable).
//
// For the admin API (`allowedRoots` set) the module must lie under the deploy roots, checked before
// the import (deploy-roots.ts), and a failing import or builder is reported by error name only:
// the messages of syntax errors quote the file, so the details go to the runtime's log instead.

import { statSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { isApplication, type Application, type Deployment } from "../deployments/deployment.ts";
import { isPlainContainer } from "../deployments/handle-ref.ts";
import type { DeploymentOptions } from "../deployments/options.ts";
import { InvalidOptionsError } from "../errors.ts";
import type { Logger } from "../observability/logger.ts";
import type { DeploymentOverride } from "./config.ts";
import { splitImportPath } from "./config.ts";
import { resolveUnderRoots } from "./deploy-roots.ts";
import { ensureTypeScriptLoader } from "./typescript-loader.ts";

export interface LoadedApp {
  app: Application;
  exportName: string;
  modulePath: string;
}

/**
 * Imports `importPath` (absolute, or relative to `cwd`) and returns the application it exports.
 * `where` names the source in messages ("applications[0].importPath", "run target").
 */
export async function loadApplication(
  importPath: string,
  options: {
    cwd: string;
    args?: Record<string, unknown>;
    where: string;
    /** Import only modules under these roots (normalizeRoots), with redacted errors: an admin API request. */
    allowedRoots?: readonly string[];
    /** Where redacted errors are logged in full. */
    logger?: Logger;
  },
): Promise<LoadedApp> {
  let file: string;
  let exportName: string;
  try {
    ({ file, exportName } = splitImportPath(importPath));
  } catch {
    throw new InvalidOptionsError(`${options.where}: expected "path/to/module.ts:exportName", got "${importPath}"`);
  }
  const restricted = options.allowedRoots !== undefined;
  const modulePath = restricted ? resolveUnderRoots(file, options.allowedRoots!, options.cwd, options.where) : path.resolve(options.cwd, file);
  // What a failure says: the error's own message, or only its name for an admin API request.
  const detail = (err: unknown, what: string): string => {
    if (!restricted) return `: ${(err as Error)?.message ?? String(err)}`;
    options.logger?.warn({ err, module: modulePath }, `deploy: ${what}`);
    return ` (${(err as Error)?.name ?? "Error"}; the details are in the runtime's log)`;
  };
  let mtime: number;
  try {
    mtime = statSync(modulePath).mtimeMs;
  } catch {
    throw new InvalidOptionsError(`${options.where}: module not found: ${modulePath}`);
  }
  // The query makes a redeploy of an edited file import the new code; the deployments layer
  // strips it again when it records where a class was declared.
  const url = `${pathToFileURL(modulePath).href}?v=${Math.floor(mtime)}`;
  let mod: Record<string, unknown>;
  try {
    await ensureTypeScriptLoader(modulePath);
    mod = (await import(url)) as Record<string, unknown>;
  } catch (err) {
    throw new InvalidOptionsError(`${options.where}: importing ${restricted ? file : modulePath} failed${detail(err, "import failed")}`, { cause: err });
  }
  if (!(exportName in mod)) {
    const names = Object.keys(mod).filter((k) => k !== "default");
    throw new InvalidOptionsError(`${options.where}: ${file} has no export "${exportName}" (exports: ${names.join(", ") || "none"})`);
  }
  let value = mod[exportName];
  if (typeof value === "function" && /^class[\s{]/.test(Function.prototype.toString.call(value))) {
    throw new InvalidOptionsError(
      `${options.where}: "${exportName}" is a class; export an application instead, e.g. \`export const app = ${exportName}.bind()\``,
    );
  }
  if (typeof value === "function") {
    // An application builder, as in Ray's `serve run module:builder`.
    try {
      value = await (value as (args: Record<string, unknown>) => unknown)(options.args ?? {});
    } catch (err) {
      throw new InvalidOptionsError(`${options.where}: the builder "${exportName}" threw${detail(err, "builder threw")}`, { cause: err });
    }
  } else if (options.args && Object.keys(options.args).length > 0) {
    throw new InvalidOptionsError(`${options.where}: args are given but "${exportName}" is not a builder function`);
  }
  if (!isApplication(value)) {
    throw new InvalidOptionsError(
      `${options.where}: "${exportName}" is not an application: export \`MyDeployment.bind(...)\` (or a function returning one)`,
    );
  }
  return { app: value, exportName, modulePath };
}

/** Deployment names in a bound graph (ingress last). */
export function deploymentNames(app: Application): string[] {
  const names: string[] = [];
  const walk = (v: unknown, seen: Set<unknown>) => {
    if (seen.has(v)) return;
    seen.add(v);
    if (isApplication(v)) {
      for (const a of v.args) walk(a, seen);
      if (!names.includes(v.deployment.name)) names.push(v.deployment.name);
    } else if (isPlainContainer(v)) {
      for (const x of Object.values(v)) walk(x, seen);
    }
  };
  walk(app, new Set());
  return names;
}

/**
 * Returns the graph with overrides applied to the named deployments. Every override must name a
 * deployment of the graph; `where` prefixes messages (e.g. "applications[0]").
 */
export function applyOverrides(app: Application, overrides: readonly DeploymentOverride[], where: string): Application {
  if (overrides.length === 0) return app;
  const names = deploymentNames(app);
  const byName = new Map<string, DeploymentOptions>();
  overrides.forEach((o, i) => {
    if (!names.includes(o.name)) {
      throw new InvalidOptionsError(`${where}.deployments[${i}].name: no deployment "${o.name}" in this application (it has: ${names.join(", ")})`);
    }
    const { name: _name, ...opts } = o;
    byName.set(o.name, opts);
  });
  const rebuilt = new Map<Application, Application>();
  const rebuild = (v: unknown): unknown => {
    if (isApplication(v)) {
      const done = rebuilt.get(v);
      if (done) return done;
      const args = v.args.map(rebuild);
      const opts = byName.get(v.deployment.name);
      const dep = (opts ? v.deployment.options(opts) : v.deployment) as Deployment<object, unknown[]>;
      const next = dep.bind(...(args as never[]));
      rebuilt.set(v, next);
      return next;
    }
    if (Array.isArray(v)) return v.map(rebuild);
    if (isPlainContainer(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rebuild(x)]));
    return v;
  };
  return rebuild(app) as Application;
}
