// The deploy config file: Ray Serve's config shape in camelCase (`applications: [{ name,
// routePrefix, importPath: "examples/weather.ts:app", args, deployments: [{ name, ...option
// overrides }] }]`, plus `http: { host, port }` and the server options of `serve.start({ http })`).
// Parsed with `yaml`, validated with zod; every problem is reported with its field path (and
// file:line:col when parsed from YAML), e.g.
// `deploy.yaml:9:22 applications[0].deployments[1].numReplicas: expected number, got string`.
// The same validation runs in the CLI (before anything is sent) and in the runtime's admin API.

import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { LineCounter, parseDocument, isNode, type Document } from "yaml";
import { z } from "zod";
import { deploymentOptionsSchema, validateDeploymentOptions, type DeploymentOptions } from "../deployments/options.ts";
import { InvalidOptionsError } from "../errors.ts";
import { httpServerOptionsShape, type HttpServerOptions } from "../ingress/options.ts";
import { tracingOptionSchema, type TracingOptions } from "../observability/tracing-options.ts";

const NAME = /^[A-Za-z0-9_.-]+$/;
const IMPORT_PATH = /^(.+\.(?:ts|mts|js|mjs)):([A-Za-z_$][\w$]*)$/;

const deploymentOverrideSchema = deploymentOptionsSchema.extend({
  // Here `name` picks which deployment of the application the overrides apply to.
  name: z.string().min(1, "must not be empty"),
});

const applicationSchema = z.strictObject({
  name: z.string().regex(NAME, "must be letters, digits, '_', '.' or '-'"),
  routePrefix: z
    .string()
    .regex(/^\/([^?#\s]*[^/?#\s])?$/, 'must start with "/" and not end with "/" (or be exactly "/")')
    .optional(),
  importPath: z.string().regex(IMPORT_PATH, 'must look like "path/to/module.ts:exportName"'),
  /** Passed to the export when it is an application builder function. */
  args: z.record(z.string(), z.unknown()).optional(),
  deployments: z.array(deploymentOverrideSchema).optional(),
  /** Cluster mode: only nodes whose labels include all of these get the application's replicas. */
  nodeSelector: z.record(z.string().regex(/^[A-Za-z0-9_.\/-]{1,63}$/, "a label key"), z.string().max(63)).optional(),
});

const portSchema = z.number().int("must be an integer").min(0).max(65535);

export const deployConfigSchema = z.strictObject({
  http: z.strictObject({ host: z.string().min(1).optional(), port: portSchema.optional(), ...httpServerOptionsShape }).optional(),
  tracing: tracingOptionSchema,
  applications: z.array(applicationSchema).min(1, "list at least one application"),
});

export type DeploymentOverride = DeploymentOptions & { name: string };

export interface ApplicationConfig {
  name: string;
  routePrefix?: string;
  /** "module:export"; the module part is relative to the config file until resolved. */
  importPath: string;
  args?: Record<string, unknown>;
  deployments?: DeploymentOverride[];
  /** Cluster mode: only nodes whose labels include all of these get its replicas (ignored on one node). */
  nodeSelector?: Record<string, string>;
}

export interface DeployConfig {
  /** Used by `stingray run <config>`; ignored in a deploy sent to a running runtime. */
  http?: { host?: string; port?: number } & HttpServerOptions;
  /** OpenTelemetry tracing for `stingray run <config>` (README "Tracing"); ignored in a deploy. */
  tracing?: TracingOptions;
  applications: ApplicationConfig[];
}

/** A config that failed validation; `issues` holds one line per problem, with its field path. */
export class ConfigError extends InvalidOptionsError {
  readonly issues: string[];
  constructor(source: string, issues: string[]) {
    super(`invalid config ${source}:\n  ${issues.join("\n  ")}`);
    this.issues = issues;
  }
}

type Locate = (p: PropertyKey[]) => string | undefined;

/** Parses and validates YAML (or JSON) text. `source` names the file in messages. */
export function parseDeployConfig(text: string, source: string): DeployConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return `${pos ? `${source}:${pos.line}:${pos.col} ` : ""}YAML syntax: ${e.message.split("\n")[0]}`;
      }),
    );
  }
  const locate: Locate = (p) => {
    const node = nodeAt(doc, p);
    if (!node?.range) return undefined;
    const { line, col } = lines.linePos(node.range[0]);
    return `${source}:${line}:${col}`;
  };
  return validateDeployConfig(doc.toJS(), source, locate);
}

function nodeAt(doc: Document, p: PropertyKey[]): { range?: [number, number, number] | null } | undefined {
  // Walk up until a node exists (a missing field points at its parent object).
  for (let n = p.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(p.slice(0, n) as (string | number)[], true);
    if (isNode(node)) return node as { range?: [number, number, number] | null };
  }
  return undefined;
}

/** Validates already-parsed data (e.g. the JSON body the admin API received). */
export function validateDeployConfig(data: unknown, source = "config", locate?: Locate): DeployConfig {
  if (data === null || data === undefined) throw new ConfigError(source, ["the file is empty: expected an object with \"applications\""]);
  const parsed = deployConfigSchema.safeParse(data);
  if (!parsed.success) {
    throw new ConfigError(source, parsed.error.issues.flatMap((i) => describeIssue(i, locate)));
  }
  const config = parsed.data as DeployConfig;
  const issues: string[] = [];
  const at = (p: PropertyKey[]) => {
    const where = locate?.(p);
    return `${where ? `${where} ` : ""}${formatPath(p)}`;
  };
  const names = new Map<string, number>();
  const prefixes = new Map<string, number>();
  config.applications.forEach((app, i) => {
    const nameSeen = names.get(app.name);
    if (nameSeen !== undefined) issues.push(`${at(["applications", i, "name"])}: "${app.name}" is already used by applications[${nameSeen}]`);
    else names.set(app.name, i);
    const prefix = app.routePrefix ?? "/";
    const prefixSeen = prefixes.get(prefix);
    if (prefixSeen !== undefined) issues.push(`${at(["applications", i, "routePrefix"])}: "${prefix}" is already used by applications[${prefixSeen}]`);
    else prefixes.set(prefix, i);
    const depNames = new Map<string, number>();
    (app.deployments ?? []).forEach((dep, j) => {
      const p = ["applications", i, "deployments", j];
      const seen = depNames.get(dep.name);
      if (seen !== undefined) issues.push(`${at([...p, "name"])}: "${dep.name}" is already listed at deployments[${seen}]`);
      else depNames.set(dep.name, j);
      // Cross-field rules (numReplicas vs autoscalingConfig, min <= max) live with the options.
      const { name: _name, ...overrides } = dep;
      try {
        validateDeploymentOptions(overrides, at(p));
      } catch (err) {
        issues.push((err as Error).message);
      }
    });
  });
  if (issues.length > 0) throw new ConfigError(source, issues);
  return config;
}

export function formatPath(p: readonly PropertyKey[]): string {
  let out = "";
  for (const k of p) {
    if (typeof k === "number") out += `[${k}]`;
    else out += out ? `.${String(k)}` : String(k);
  }
  return out || "(root)";
}

function describeIssue(issue: z.core.$ZodIssue, locate?: Locate): string[] {
  const prefix = (p: PropertyKey[]) => {
    const where = locate?.(p);
    return `${where ? `${where} ` : ""}${formatPath(p)}`;
  };
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((k) => `${prefix([...issue.path, k])}: unknown field`);
  }
  return [`${prefix(issue.path)}: ${issueMessage(issue)}`];
}

function issueMessage(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_type": {
      const received = /received (\w+)/.exec(issue.message)?.[1];
      const expected = issue.expected === "int" ? "integer" : issue.expected;
      if (received === "undefined") return `required (expected ${expected})`;
      return `expected ${expected}${received ? `, got ${received}` : ""}`;
    }
    case "invalid_union": {
      const options = issue.errors.map((branch) => branch.map(issueMessage).join(" and "));
      return options.map((o) => o.replace(/^expected /, "")).join(" or ").replace(/^/, "expected ").replace(/, got \w+/g, "");
    }
    case "invalid_value":
      if (issue.values.length === 1) return `expected ${JSON.stringify(issue.values[0])}`;
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    default:
      return issue.message.replace(/^Invalid input: /, "").replace(/^Too (small|big): /, "");
  }
}

/**
 * Makes every importPath absolute, relative to `baseDir` (the config file's folder), and checks
 * the module exists, so a typo is reported by the CLI before anything reaches the runtime.
 */
export function resolveImportPaths(config: DeployConfig, baseDir: string, source = "config"): DeployConfig {
  const issues: string[] = [];
  const applications = config.applications.map((app, i) => {
    const { file, exportName } = splitImportPath(app.importPath);
    const abs = path.resolve(baseDir, file);
    if (!existsSync(abs) || !statSync(abs).isFile()) {
      issues.push(`${formatPath(["applications", i, "importPath"])}: module not found: ${abs}`);
    }
    return { ...app, importPath: `${abs}:${exportName}` };
  });
  if (issues.length > 0) throw new ConfigError(source, issues);
  return { ...config, applications };
}

export function splitImportPath(importPath: string): { file: string; exportName: string } {
  const m = IMPORT_PATH.exec(importPath);
  if (!m) throw new InvalidOptionsError(`importPath: must look like "path/to/module.ts:exportName", got "${importPath}"`);
  return { file: m[1]!, exportName: m[2]! };
}
