// Entry point of the `stingray` command (bin/stingray.js imports it, compiled or from sources).

import { processIO } from "./io.ts";
import { runCli } from "./program.ts";

export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  return runCli(argv, processIO());
}
