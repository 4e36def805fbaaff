#!/usr/bin/env node
// The `stingray` command. The project ships TypeScript sources: register tsx's ESM hooks first
// (so the CLI and the user's .ts modules load), then hand over to src/cli/main.ts.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
const code = await main(process.argv.slice(2));
// Let pending output flush; `run` has already closed its servers and workers by now.
process.exitCode = code;
