// piscina's entry file for replica threads (plain JS, so any Node can load it). It registers tsx
// in the thread before importing the TypeScript worker entry, and the same hooks then load the
// user's .ts module. Always, not only when Node cannot load .ts at all: Node 20 does not run tsx's
// hooks in worker threads, and Node 22.18+/24 do load .ts natively but only by stripping types,
// which rejects what users write in TypeScript (decorators, parameter properties, enums).
// No top-level await: piscina may load this file through require().

let entry;

async function loadEntry() {
  const { register } = await import("tsx/esm/api");
  register();
  return await import("./worker-entry.ts");
}

export default async function actorMain(task) {
  entry ??= await loadEntry();
  return entry.runActor(task);
}
