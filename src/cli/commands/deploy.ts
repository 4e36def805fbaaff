// `stingray deploy <config.yaml>`: validates the config file locally (every problem reported with
// its field path, nothing sent when one is wrong), makes import paths absolute relative to the
// file, and posts it to a running runtime's admin API, which validates again and applies it.

import { readFileSync } from "node:fs";
import path from "node:path";
import { AdminClient } from "../admin-client.ts";
import { ConfigError, parseDeployConfig, resolveImportPaths } from "../config.ts";
import { CliError, EXIT_USAGE } from "../errors.ts";
import { resolveToken, type CliIO } from "../io.ts";
import { resolveRuntimeAddress } from "../runtime-address.ts";

export interface DeployCommandOptions {
  address?: string;
  token?: string;
}

export async function deployCommand(file: string, options: DeployCommandOptions, io: CliIO): Promise<number> {
  const config = loadConfigFile(file, io.cwd);
  const address = resolveRuntimeAddress(options.address, io);
  const client = new AdminClient({ address, token: resolveToken(options.token, io.env) });
  const answer = (await client.deploy(config)) as { result?: { applications?: Array<{ name: string; routePrefix: string }> } };
  const apps = answer.result?.applications ?? config.applications.map((a) => ({ name: a.name, routePrefix: a.routePrefix ?? "/" }));
  for (const app of apps) io.stdout.write(`deployed ${app.name} at ${address.replace(/\/+$/, "")}${app.routePrefix === "/" ? "/" : app.routePrefix}\n`);
  io.stdout.write("run `stingray status` to follow the replicas\n");
  return 0;
}

/** Reads, parses, validates and resolves a config file; bad files become CliErrors (exit 2). */
export function loadConfigFile(file: string, cwd: string) {
  const abs = path.resolve(cwd, file);
  let text: string;
  try {
    text = readFileSync(abs, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`cannot read config file ${file}: ${code === "ENOENT" ? "no such file" : (err as Error).message}`, EXIT_USAGE);
  }
  try {
    const config = parseDeployConfig(text, file);
    return resolveImportPaths(config, path.dirname(abs), file);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, EXIT_USAGE);
    throw err;
  }
}
