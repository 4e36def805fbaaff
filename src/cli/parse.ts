// Parsers for command-line values. Each rejects bad input with a message that commander prefixes
// with the option's name ("option '--port <port>' argument 'abc' is invalid. expected ...").

import { InvalidArgumentError } from "commander";

export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new InvalidArgumentError("expected an integer from 0 to 65535 (0 picks a free port).");
  }
  return n;
}

export function parseHost(value: string): string {
  if (!/^[A-Za-z0-9.:_-]+$/.test(value) && !/^\[[0-9a-fA-F:]+\]$/.test(value)) {
    throw new InvalidArgumentError("expected a hostname or IP address, e.g. 127.0.0.1 or 0.0.0.0.");
  }
  return value.startsWith("[") ? value.slice(1, -1) : value;
}

export function parseNumCpus(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("expected a number of CPUs greater than 0, e.g. 4 or 0.5.");
  return n;
}

export function parseNumGpus(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < 0) throw new InvalidArgumentError("expected a whole number of GPUs (0 or more).");
  return n;
}

export function parseAddress(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError("expected a URL such as http://127.0.0.1:8000.");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new InvalidArgumentError("expected an http:// or https:// URL.");
  return url.origin;
}

export function parseRoutePrefix(value: string): string {
  if (!/^\/([^?#\s]*[^/?#\s])?$/.test(value)) throw new InvalidArgumentError('expected a path that starts with "/" and does not end with "/", e.g. /weather.');
  return value;
}

export function parsePositiveSeconds(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("expected a number of seconds greater than 0.");
  return n;
}

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError("expected a whole number greater than 0.");
  return n;
}

/** Collects a repeatable option's values, e.g. `--deploy-root a --deploy-root b`. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
