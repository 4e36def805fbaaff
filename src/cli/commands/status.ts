// `stingray status`: a table of applications, deployments, replica states and resources, read
// from a running runtime's status API.

import { AdminClient } from "../admin-client.ts";
import { formatStatus } from "../format.ts";
import { resolveToken, type CliIO } from "../io.ts";
import { resolveRuntimeAddress } from "../runtime-address.ts";

export interface StatusCommandOptions {
  address?: string;
  token?: string;
  json?: boolean;
}

export async function statusCommand(options: StatusCommandOptions, io: CliIO): Promise<number> {
  const client = new AdminClient({ address: resolveRuntimeAddress(options.address, io), token: resolveToken(options.token, io.env) });
  const snap = await client.status();
  io.stdout.write(options.json ? `${JSON.stringify(snap, null, 2)}\n` : `${formatStatus(snap)}\n`);
  return 0;
}
