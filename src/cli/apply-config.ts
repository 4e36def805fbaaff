// Applies a deploy config to a running runtime, declaratively like `serve deploy`: every
// application in the file is deployed (or redeployed) with its overrides, and applications that
// run but are not in the file are deleted. All modules are imported and checked before anything
// changes, so a bad file leaves the runtime as it was. A deploy that came through the admin API
// passes `allowedRoots`: its modules must lie under them (see deploy-roots.ts).

import { validateDeployConfig, type DeployConfig } from "./config.ts";
import { applyOverrides, loadApplication } from "./load-app.ts";
import type { Logger } from "../observability/logger.ts";
import type { RuntimeBridge } from "./runtime-bridge.ts";

export interface AppliedApplication {
  name: string;
  routePrefix: string;
  /** Full URL of the app (its MCP endpoint for MCP apps). */
  url: string;
}

export interface ApplyResult {
  applications: AppliedApplication[];
  deleted: string[];
}

export interface ApplyOptions {
  cwd: string;
  source?: string;
  prune?: boolean;
  /** Import only modules under these roots (normalizeRoots), reporting failures without details. */
  allowedRoots?: readonly string[];
  /** Gets the details of redacted failures. */
  logger?: Logger;
}

export async function applyDeployConfig(input: unknown, runtime: RuntimeBridge, options: ApplyOptions): Promise<ApplyResult> {
  const config: DeployConfig = validateDeployConfig(input, options.source ?? "request");
  const loaded = [];
  for (const [i, appCfg] of config.applications.entries()) {
    const where = `applications[${i}]`;
    const { app, modulePath, exportName } = await loadApplication(appCfg.importPath, {
      cwd: options.cwd,
      args: appCfg.args,
      where: `${where}.importPath`,
      allowedRoots: options.allowedRoots,
      logger: options.logger,
    });
    loaded.push({ cfg: appCfg, app: applyOverrides(app, appCfg.deployments ?? [], where), importPath: `${modulePath}:${exportName}` });
  }
  const applied: AppliedApplication[] = [];
  for (const { cfg, app, importPath } of loaded) {
    const routePrefix = cfg.routePrefix ?? "/";
    await runtime.deploy(app, { name: cfg.name, routePrefix, importPath, args: cfg.args, ...(cfg.nodeSelector ? { nodeSelector: cfg.nodeSelector } : {}) });
    applied.push({ name: cfg.name, routePrefix, url: appUrl(runtime.address, routePrefix, runtime.mcpPath(app)) });
  }
  const deleted: string[] = [];
  if (options.prune ?? true) {
    const keep = new Set(config.applications.map((a) => a.name));
    for (const running of (await runtime.status()).applications) {
      if (keep.has(running.name)) continue;
      await runtime.delete(running.name);
      deleted.push(running.name);
    }
  }
  return { applications: applied, deleted };
}

export function appUrl(address: string, routePrefix: string, mcpPath?: string): string {
  const base = address.replace(/\/+$/, "");
  const prefix = routePrefix === "/" ? "" : routePrefix;
  const tail = mcpPath ? (mcpPath.startsWith("/") ? mcpPath : `/${mcpPath}`) : "/";
  return `${base}${prefix}${tail === "/" && prefix ? "" : tail}`;
}
