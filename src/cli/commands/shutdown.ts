// `stingray shutdown`: asks the runtime to drain and stop. Asks for confirmation on a terminal;
// without a terminal it refuses unless --yes is given, so a script never stops a runtime by
// accident.

import { createInterface } from "node:readline/promises";
import { AdminClient } from "../admin-client.ts";
import { CliError, EXIT_USAGE, UnreachableError } from "../errors.ts";
import { resolveToken, type CliIO } from "../io.ts";
import { resolveRuntimeAddress } from "../runtime-address.ts";

export interface ShutdownCommandOptions {
  address?: string;
  token?: string;
  yes?: boolean;
  /** Wait until the runtime stops answering. Default true. */
  wait?: boolean;
  waitTimeoutS?: number;
}

export async function shutdownCommand(options: ShutdownCommandOptions, io: CliIO): Promise<number> {
  const address = resolveRuntimeAddress(options.address, io);
  const client = new AdminClient({ address, token: resolveToken(options.token, io.env) });
  if (!options.yes) {
    if (!io.stdin.isTTY) {
      throw new CliError("refusing to shut down without confirmation: stdin is not a terminal (pass --yes to confirm)", EXIT_USAGE);
    }
    const snap = await client.status();
    const rl = createInterface({ input: io.stdin, output: io.stdout });
    const answer = await rl.question(`Shut down the stingray runtime at ${address} (${snap.applications.length} application(s))? [y/N] `);
    rl.close();
    if (!/^y(es)?$/i.test(answer.trim())) {
      io.stdout.write("aborted\n");
      return 1;
    }
  }
  await client.shutdown();
  io.stdout.write(`shutdown requested at ${address}\n`);
  if (options.wait ?? true) {
    const deadline = Date.now() + (options.waitTimeoutS ?? 60) * 1000;
    while (Date.now() < deadline) {
      try {
        await client.status();
      } catch (err) {
        if (err instanceof UnreachableError) {
          io.stdout.write("stopped\n");
          return 0;
        }
        throw err;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new CliError(`the runtime at ${address} still answers after ${options.waitTimeoutS ?? 60}s`, 1);
  }
  return 0;
}
