// Structured JSON logs (pino). One factory so every part of the runtime logs the same way: level
// from STINGRAY_LOG_LEVEL, JSON to stdout, and redaction so credentials never reach a log line —
// by field path (Authorization/Cookie headers, token/password/secret fields) and by pattern for
// bearer tokens that slip into free-text messages. `logAccess` writes the one-line-per-request
// access log.

import { pino, type DestinationStream, type Level, type Logger } from "pino";
import { InvalidOptionsError } from "../errors.ts";

export type { Logger } from "pino";

export const LOG_LEVELS: readonly Level[] = ["fatal", "error", "warn", "info", "debug", "trace"];
const LEVEL_NAMES = [...LOG_LEVELS, "silent"];

const SECRET_FIELDS = ["authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "token", "accessToken", "access_token", "refreshToken", "password", "secret", "clientSecret", "adminToken", "apiKey"];

/**
 * Field paths pino blanks out. pino's wildcards match one level, so the usual places are listed:
 * top level, one object down (`*.token`), and header bags (`req.headers.authorization`).
 */
export const REDACT_PATHS: string[] = [
  ...SECRET_FIELDS.map((f) => bracket(f)),
  ...SECRET_FIELDS.map((f) => `*${bracketChild(f)}`),
  ...SECRET_FIELDS.map((f) => `*.headers${bracketChild(f)}`),
  ...SECRET_FIELDS.map((f) => `req.headers${bracketChild(f)}`),
  ...SECRET_FIELDS.map((f) => `request.headers${bracketChild(f)}`),
];

function bracket(field: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(field) ? field : `["${field}"]`;
}

function bracketChild(field: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(field) ? `.${field}` : `["${field}"]`;
}

const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;

/** Replaces credentials in free text ("Authorization: Bearer abc…") with a marker. */
export function scrubSecrets(text: string): string {
  return text.replace(BEARER, "$1 [Redacted]");
}

export interface LoggerOptions {
  /** Default: STINGRAY_LOG_LEVEL, else "info". */
  level?: string;
  /** Where lines go; default stdout (or `fd`). */
  destination?: DestinationStream;
  /** File descriptor to write to when no destination is given: 1 stdout (default), 2 stderr. */
  fd?: 1 | 2;
  /** Added to every line, e.g. { component: "proxy" }. */
  bindings?: Record<string, unknown>;
  /** Read instead of process.env (tests). */
  env?: Record<string, string | undefined>;
}

export function resolveLogLevel(options: Pick<LoggerOptions, "level" | "env"> = {}): string {
  const env = options.env ?? process.env;
  const [source, raw] = options.level !== undefined ? ["level", options.level] : ["STINGRAY_LOG_LEVEL", env.STINGRAY_LOG_LEVEL];
  if (raw === undefined || raw === "") return "info";
  const level = raw.trim().toLowerCase();
  if (!LEVEL_NAMES.includes(level)) {
    throw new InvalidOptionsError(`${source}: expected one of ${LEVEL_NAMES.join(", ")}, got "${raw}"`);
  }
  return level;
}

/**
 * Access lines are the one log write per request, so they skip the redaction pass (about 70 field
 * paths) and the message scrub: `logAccess` builds them from known fields that hold no secret (the
 * path loses its query). Loggers made here get such a lean twin writing to the same destination.
 */
const accessTwins = new WeakMap<Logger, Logger>();

export function createLogger(options: LoggerOptions = {}): Logger {
  const destination = options.destination ?? pino.destination({ dest: options.fd ?? 1, sync: false });
  const base = { pid: process.pid, ...options.bindings };
  const logger = pino(
    {
      level: resolveLogLevel(options),
      base,
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: "[Redacted]" },
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: errSerializer },
      hooks: {
        // Messages are free text: scrub bearer/basic credentials a caller interpolated into them.
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === "string" ? scrubSecrets(a) : a));
          return method.apply(this, scrubbed as Parameters<typeof method>);
        },
      },
    },
    destination,
  );
  const twin = pino(
    { level: "trace", base, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } },
    destination,
  );
  accessTwins.set(logger, twin);
  return logger;
}

function errSerializer(err: unknown): unknown {
  const out = pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown>;
  if (typeof out.message === "string") out.message = scrubSecrets(out.message);
  if (typeof out.stack === "string") out.stack = scrubSecrets(out.stack);
  return out;
}

export interface AccessLogEntry {
  /** Absent when the reporter does not know it (the line then starts with the path). */
  method?: string;
  /** Request path; any query string is dropped (queries can carry tokens). */
  path: string;
  status: number;
  latencyMs: number;
  requestId?: string;
  app?: string;
  deployment?: string;
  replica?: string;
  mcpMethod?: string;
  tool?: string;
  /** Response body bytes, when known. */
  bytes?: number;
  /** The client disconnected before the response ended. */
  aborted?: boolean;
  /** The request's trace and the proxy's span in it (tracing on). */
  traceId?: string;
  spanId?: string;
}

/** One access-log line per request: level info below 500, warn for 5xx. */
export function logAccess(logger: Logger, entry: AccessLogEntry): void {
  const level = entry.status >= 500 ? "warn" : "info";
  if (!logger.isLevelEnabled(level)) return;
  const out = accessTwins.get(logger) ?? logger;
  const path = stripQuery(entry.path);
  const latencyMs = Math.round(entry.latencyMs * 100) / 100;
  const line: Record<string, unknown> = { type: "access", ...entry, path, latencyMs };
  for (const k of Object.keys(line)) if (line[k] === undefined) delete line[k];
  const msg = `${entry.method ? `${entry.method} ` : ""}${path} ${entry.status} ${latencyMs}ms`;
  out[level](line, msg);
}

export function stripQuery(path: string): string {
  const q = path.indexOf("?");
  return q === -1 ? path : path.slice(0, q);
}
