#!/usr/bin/env node
// The `stingray` command. From the package it runs the compiled CLI (dist/), and tsx is loaded
// only if the app to run is TypeScript (src/cli/typescript-loader.ts decides). From a source
// checkout (src/ is beside bin/; the package ships no src/) it runs the sources under tsx, so
// `npx stingray` in the repository never runs a stale build.
import { existsSync } from "node:fs";

const SOURCE = new URL("../src/cli/main.ts", import.meta.url);
let main;
if (existsSync(SOURCE)) {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import(SOURCE.href));
} else {
  ({ main } = await import("../dist/cli/main.js"));
}
const code = await main(process.argv.slice(2));
// Let pending output flush; `run` has already closed its servers and workers by now.
process.exitCode = code;
