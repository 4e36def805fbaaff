// piscina's entry file for replica threads (plain JS, so any Node can load it; the build copies it
// into dist/runtime beside the compiled worker entry). It loads the worker entry that sits beside
// it: compiled worker-entry.js in the package, worker-entry.ts in a source checkout.
//
// tsx is registered in this thread only when something TypeScript is to be loaded here: our own
// sources (a checkout), or the user's module when it is .ts/.mts/.cts/.tsx. A plain-JS app on the
// compiled package never loads tsx (about 20 MiB per replica thread). When needed, always tsx,
// not Node's own TypeScript support: Node 20 does not run tsx's hooks in worker threads unless the
// thread registers them, and Node 22.18+/24 load .ts natively only by stripping types, which
// rejects what users write in TypeScript (decorators, parameter properties, enums).
// No top-level await: piscina may load this file through require().

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const COMPILED = existsSync(fileURLToPath(new URL("./worker-entry.js", import.meta.url)));
const TYPESCRIPT = /\.(?:[cm]?ts|tsx)$/i;

let entry;

/** Whether the user's module (a path or URL, maybe with a ?query) is TypeScript. */
export function isTypeScriptModule(modulePath) {
  return typeof modulePath === "string" && TYPESCRIPT.test(modulePath.split(/[?#]/)[0]);
}

async function loadEntry(modulePath) {
  if (!COMPILED || isTypeScriptModule(modulePath)) {
    const { register } = await import("tsx/esm/api");
    register();
  }
  return COMPILED ? await import("./worker-entry.js") : await import("./worker-entry.ts");
}

export default async function actorMain(task) {
  entry ??= await loadEntry(task.init.modulePath);
  return entry.runActor(task);
}
