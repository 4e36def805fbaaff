// piscina's entry file for replica threads (plain JS, so any Node can load it). Node 20 does not
// run tsx's hooks in worker threads, so when the TypeScript worker entry cannot be imported as
// is, this registers tsx in the thread first (the same hooks then load the user's .ts module).
// No top-level await: piscina may load this file through require().

let entry;

async function loadEntry() {
  try {
    return await import("./worker-entry.ts");
  } catch (err) {
    if (err?.code !== "ERR_UNKNOWN_FILE_EXTENSION") throw err;
  }
  const { register } = await import("tsx/esm/api");
  register();
  // A failed import is cached per URL, so ask again under a different one.
  return await import("./worker-entry.ts?tsx");
}

export default async function actorMain(task) {
  entry ??= await loadEntry();
  return entry.runActor(task);
}
