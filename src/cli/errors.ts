// The CLI's failure type: a message for the user and the process exit code. Exit codes:
// 0 success, 1 runtime failure (unreachable runtime, deploy failed, refused), 2 bad input
// (usage errors, invalid config files).

export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
  override get name(): string {
    return "CliError";
  }
}

/** Nothing answered at the runtime's address (refused, timed out, DNS). */
export class UnreachableError extends CliError {
  constructor(message: string) {
    super(message, 1);
  }
  override get name(): string {
    return "UnreachableError";
  }
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
