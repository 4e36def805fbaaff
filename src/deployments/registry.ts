// Deployment classes register here by name when `@deployment` runs, so a worker thread that
// imports the declaring module can find the class even when only a bound application is exported.
// The map lives on globalThis under a registered symbol so two copies of this module share it.

const KEY = Symbol.for("stingray.deploymentRegistry");

type Registry = Map<string, abstract new (...args: never[]) => unknown>;

function registry(): Registry {
  const g = globalThis as { [KEY]?: Registry };
  return (g[KEY] ??= new Map());
}

export function registerDeploymentClass(name: string, cls: abstract new (...args: never[]) => unknown): void {
  registry().set(name, cls);
}

export function findDeploymentClass(name: string): (abstract new (...args: never[]) => unknown) | undefined {
  return registry().get(name);
}
