// Finds the file of the module that declared a deployment, from a stack trace taken while the
// decorator (or `deploymentOf`) runs during that module's top-level evaluation. Worker threads
// import this file to rebuild the class, so it must be the user's module, never ours. Under tsx
// frames carry file: URLs of the original .ts files; under vitest, plain absolute paths.

import { fileURLToPath } from "node:url";
import path from "node:path";

const HERE = path.dirname(fileURLToPath(import.meta.url));

export function callerModulePath(): string | undefined {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 50;
  const stack = new Error().stack ?? "";
  Error.stackTraceLimit = limit;
  for (const line of stack.split("\n").slice(1)) {
    const file = frameFile(line);
    if (file === undefined) continue;
    if (path.dirname(file) === HERE) continue;
    if (file.includes(`${path.sep}node_modules${path.sep}`)) continue;
    return file;
  }
  return undefined;
}

function frameFile(line: string): string | undefined {
  const m = /\(([^()]+):\d+:\d+\)\s*$/.exec(line) ?? /at (?:async )?([^\s()][^()]*):\d+:\d+\s*$/.exec(line);
  if (!m) return undefined;
  let file = m[1]!.trim();
  if (file.startsWith("node:") || file.startsWith("<") || file.startsWith("native")) return undefined;
  if (file.startsWith("file://")) {
    try {
      file = fileURLToPath(file.split("?")[0]!);
    } catch {
      return undefined;
    }
  }
  file = file.split("?")[0]!;
  return path.isAbsolute(file) ? file : undefined;
}
