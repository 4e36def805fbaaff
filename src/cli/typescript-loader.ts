// Loads tsx's hooks into this (main) thread on demand, right before the CLI imports a user's
// TypeScript module. The compiled package needs none for itself, so `stingray run app.mjs:app`
// never loads tsx; replica threads decide for themselves (runtime/worker-bootstrap.mjs).
// When this file is itself TypeScript (a source checkout under tsx or vitest), a loader that can
// import .ts is already active and nothing is registered.

const TYPESCRIPT = /\.(?:[cm]?ts|tsx)$/i;
const RUNNING_FROM_SOURCES = import.meta.url.endsWith(".ts");

let registered: Promise<void> | undefined;

/** Whether a module path (or file: URL, maybe with a ?query) names a TypeScript file. */
export function isTypeScriptModule(modulePath: string): boolean {
  return TYPESCRIPT.test(modulePath.split(/[?#]/)[0]!);
}

/** Makes `import(modulePath)` work for a TypeScript module; a no-op for JavaScript. */
export function ensureTypeScriptLoader(modulePath: string): Promise<void> {
  if (RUNNING_FROM_SOURCES || !isTypeScriptModule(modulePath)) return Promise.resolve();
  registered ??= import("tsx/esm/api").then(({ register }) => {
    register();
  });
  return registered;
}
