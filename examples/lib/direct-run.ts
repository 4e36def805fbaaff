// Running a GPU example as a program (`npx tsx examples/translator.ts`): reads PORT, HOST and
// NUM_GPUS, starts the runtime with enough logical GPUs for the example's fractional-GPU replicas,
// and serves the application at /mcp.
//
// Logical GPUs, decided here once for every example: NUM_GPUS (a whole number) wins; otherwise the
// runtime's own detection (nvidia-smi) is used when it finds a GPU; on a machine with none, the
// program offers ONE logical GPU and prints a line saying so. A GPU here is scheduling
// bookkeeping (like `ray start --num-gpus`): the replicas are placed, get GPU id 0, find no CUDA
// provider and run the model on CPU, each saying so once. `stingray run … --num-gpus 1` does the
// same through the CLI.

import { execFile } from "node:child_process";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { isMainThread } from "node:worker_threads";
import { serve, type Application } from "stingray";

export interface DirectRunOptions {
  /** Application name and the prefix of every line printed (e.g. "translator"). */
  name: string;
  env?: Readonly<Record<string, string | undefined>>;
  /** GPU ids present on this machine, undefined when there is no GPU tool (default: nvidia-smi). */
  detectGpuIds?: () => Promise<number[] | undefined>;
  log?: (line: string) => void;
}

/** True when `moduleUrl` is the program node was asked to run, on the main thread (not a replica's import). */
export function isEntryPoint(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (!isMainThread || !script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

export function parsePort(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === "") return 8000;
  const port = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || port > 65535) {
    throw new TypeError(`PORT must be an integer from 0 to 65535, got ${JSON.stringify(raw)}`);
  }
  return port;
}

/**
 * How many logical GPUs to offer: NUM_GPUS when set; undefined (let the runtime detect) when a GPU
 * is present; else 1, with one line saying why.
 */
export async function resolveNumGpus(options: Omit<DirectRunOptions, "name"> & { name?: string }): Promise<number | undefined> {
  const env = options.env ?? process.env;
  const raw = env.NUM_GPUS;
  if (raw !== undefined && raw.trim() !== "") {
    if (!/^\d+$/.test(raw.trim())) {
      throw new TypeError(`NUM_GPUS must be a whole number of logical GPUs (0 or more), got ${JSON.stringify(raw)}`);
    }
    return Number(raw.trim());
  }
  const detect = options.detectGpuIds ?? nvidiaSmiGpuIds;
  const ids = await detect();
  if (ids !== undefined && ids.length > 0) return undefined;
  (options.log ?? console.log)(
    `${options.name ?? "stingray"}: no GPU detected; offering 1 logical GPU so the 0.5-GPU replicas can be placed ` +
      `(the model runs on CPU). Set NUM_GPUS to change this.`,
  );
  return 1;
}

/**
 * GPU indices `nvidia-smi` lists, undefined when it is missing or fails (a CPU-only machine): the
 * same query the runtime's own detection makes, which is not part of the public API.
 */
function nvidiaSmiGpuIds(): Promise<number[] | undefined> {
  return new Promise((resolve) => {
    execFile("nvidia-smi", ["--query-gpu=index", "--format=csv,noheader"], { timeout: 5_000, windowsHide: true }, (err, stdout) => {
      if (err) return resolve(undefined);
      resolve(stdout.split("\n").map((l) => l.trim()).filter((l) => /^\d+$/.test(l)).map(Number));
    });
  });
}

/** Starts the runtime and the app; exits 2 on a bad setting and 1 when the app cannot start. */
export async function runDirect(app: Application, options: DirectRunOptions): Promise<void> {
  const env = options.env ?? process.env;
  const log = options.log ?? console.log;
  let port: number;
  let numGpus: number | undefined;
  try {
    port = parsePort(env.PORT);
    numGpus = await resolveNumGpus(options);
  } catch (err) {
    console.error(`${options.name}: ${(err as Error).message}`);
    process.exit(2);
  }
  try {
    await serve.start({ http: { host: env.HOST || "127.0.0.1", port }, numGpus });
    await serve.run(app, { name: options.name });
  } catch (err) {
    console.error(`${options.name}: could not start:`, err);
    await serve.shutdown().catch(() => {});
    process.exit(1);
  }
  // serve.start installed SIGINT/SIGTERM handlers: they drain in-flight requests, then exit.
  log(`${options.name} MCP server listening on ${serve.address()}/mcp`);
}
