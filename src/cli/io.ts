// The streams, environment and working directory a CLI command uses, passed in so tests can run
// commands in-process with captured output.

export interface CliIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export function processIO(): CliIO {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() };
}

/** Where the admin commands look when no address is given and no `stingray run` is recorded. */
export const DEFAULT_ADDRESS = "http://127.0.0.1:8000";

/** --token, else STINGRAY_ADMIN_TOKEN. */
export function resolveToken(option: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  return option ?? (env.STINGRAY_ADMIN_TOKEN || undefined);
}
