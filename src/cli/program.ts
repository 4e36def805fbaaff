// The `stingray` command line: commander wiring only. Each command's work lives in commands/;
// this file declares names, arguments, options and help text, and maps failures to exit codes
// (see errors.ts). Commands are imported when they run, so `--help` and `status` start fast and
// only `run` loads the runtime.

import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { StingrayError } from "../errors.ts";
import { CliError, EXIT_FAILURE, EXIT_USAGE } from "./errors.ts";
import { DEFAULT_ADDRESS, type CliIO } from "./io.ts";
import {
  collect,
  parseAddress,
  parseHost,
  parseNumCpus,
  parseNumGpus,
  parsePort,
  parsePositiveInt,
  parsePositiveSeconds,
  parseRoutePrefix,
} from "./parse.ts";

const EXIT_CODES_HELP = `
Exit codes: 0 success, 1 failure (runtime unreachable, deploy failed, aborted), 2 bad input
(unknown option, invalid value, invalid config file).`;

function addressOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option("--address <url>", `the runtime to talk to (env STINGRAY_ADDRESS; default: the most recent \`stingray run\` of this user still running, else ${DEFAULT_ADDRESS})`).argParser(parseAddress))
    .addOption(new Option("--token <token>", "admin API token, when the runtime requires one (env STINGRAY_ADMIN_TOKEN)"));
}

/** --cluster and friends, shared by `start` and `run` (cluster mode; see README "Cluster mode"). */
function clusterOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option("--cluster <urls>", "join a cluster on NATS: comma-separated server URLs, e.g. nats://h1:4222,nats://h2:4222"))
    .addOption(new Option("--cluster-name <name>", 'cluster name (KV buckets and subjects are namespaced by it; default "stingray")'))
    .addOption(new Option("--node-id <id>", "this node's id (default: <hostname>-<pid>-<random>)"))
    .addOption(new Option("--labels <k=v,...>", "node labels deployments can select nodes by, e.g. zone=a,gpu=a100"))
    .addOption(new Option("--cluster-kv-replicas <n>", "JetStream replicas of the cluster's KV buckets when created (default 3 with 3+ servers listed, else 1)"));
}

export function buildProgram(io: CliIO, setExitCode: (code: number) => void): Command {
  const program = new Command("stingray")
    .description("A Ray-Serve-like runtime for Node.js that serves MCP servers over Streamable HTTP.")
    .version(packageVersion(), "-V, --version")
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .addHelpText("after", EXIT_CODES_HELP)
    .exitOverride();

  clusterOptions(
    program
      .command("start")
      .description("Run one node of a cluster in the foreground (like `ray start`): it serves what the cluster's leader places on it; SIGTERM drains it."),
  )
    .addOption(new Option("--host <host>", "interface the HTTP proxy listens on").default("127.0.0.1").argParser(parseHost))
    .addOption(new Option("-p, --port <port>", "HTTP port (0 picks a free one)").default(8000).argParser(parsePort))
    .addOption(new Option("--num-cpus <n>", "logical CPUs this node offers to replicas (default: the machine's cores)").argParser(parseNumCpus))
    .addOption(new Option("--num-gpus <n>", "logical GPUs this node offers to replicas (default: detected GPUs)").argParser(parseNumGpus))
    .addOption(new Option("--admin-token <token>", "require this bearer token on the admin API (env STINGRAY_ADMIN_TOKEN); without it the admin API is loopback-only"))
    .addOption(new Option("--deploy-root <dir>", "folder `stingray deploy` may import modules from; repeatable (default: the current folder)").argParser(collect))
    .addHelpText(
      "after",
      `
Examples (three nodes on one machine, NATS with JetStream on 4222):
  nats-server -js -sd /tmp/nats &
  stingray start --cluster nats://127.0.0.1:4222 --port 8001 --node-id a
  stingray start --cluster nats://127.0.0.1:4222 --port 8002 --node-id b
  stingray run examples/weather.ts:app --cluster nats://127.0.0.1:4222 --port 8003 --node-id c
  stingray status --address http://127.0.0.1:8001
${EXIT_CODES_HELP}`,
    )
    .action(async (opts) => {
      const { startCommand } = await import("./commands/start.ts");
      setExitCode(await startCommand(opts, io));
    });

  clusterOptions(program
    .command("run"))
    .description("Run an application in the foreground (like `serve run`) until Ctrl-C or `stingray shutdown`.")
    .argument("<target>", 'what to run: "path/to/module.ts:exportName" (an application, or a function returning one) or a deploy config file (.yaml/.yml/.json)')
    .addOption(new Option("--host <host>", "interface the HTTP proxy listens on").default("127.0.0.1").argParser(parseHost))
    .addOption(new Option("-p, --port <port>", "HTTP port (0 picks a free one)").default(8000).argParser(parsePort))
    .addOption(new Option("--num-cpus <n>", "logical CPUs this node offers to replicas (default: the machine's cores)").argParser(parseNumCpus))
    .addOption(new Option("--num-gpus <n>", "logical GPUs this node offers to replicas (default: detected GPUs)").argParser(parseNumGpus))
    .addOption(new Option("--name <name>", "application name (default: the export name)"))
    .addOption(new Option("--route-prefix <prefix>", 'route prefix of the application (default "/")').argParser(parseRoutePrefix))
    .addOption(new Option("--admin-token <token>", "require this bearer token on the admin API (env STINGRAY_ADMIN_TOKEN); without it the admin API is loopback-only"))
    .addOption(new Option("--headers-timeout <seconds>", "close a connection whose request headers take longer (408; default 10)").argParser(parsePositiveSeconds))
    .addOption(new Option("--body-timeout <seconds>", "close a connection whose whole request (headers and body) takes longer (408; default 20); responses are not timed").argParser(parsePositiveSeconds))
    .addOption(new Option("--keep-alive-timeout <seconds>", "close a kept-alive connection idle this long (default 65)").argParser(parsePositiveSeconds))
    .addOption(new Option("--max-connections <n>", "connections served at once; further ones are closed at accept (default 10000)").argParser(parsePositiveInt))
    .addOption(new Option("--public-dashboard", "serve the dashboard and /-/api/status|timeseries to any client (default: loopback clients or the admin token)"))
    .addOption(
      new Option("--deploy-root <dir>", "folder `stingray deploy` may import modules from; repeatable (default: the project and the config file's folder)").argParser(
        collect,
      ),
    )
    .addOption(new Option("--no-progress", "do not show the replica start-up progress line"))
    .addOption(new Option("--ready-timeout <seconds>", "give up if the application is not running after this long").default(120).argParser(parsePositiveSeconds))
    .addHelpText(
      "after",
      `
Examples:
  stingray run examples/weather.ts:app --port 8000
  stingray run examples/weather.ts:app --num-cpus 4 --num-gpus 1 --route-prefix /weather
  stingray run serve-config.yaml

While it runs, the address (never the token) is recorded in $XDG_STATE_HOME/stingray/<pid>.json
(default ~/.local/state/stingray; env STINGRAY_STATE_DIR overrides), so \`stingray status\`,
\`deploy\` and \`shutdown\` find it without --address.
${EXIT_CODES_HELP}`,
    )
    .action(async (target: string, opts, cmd: Command) => {
      const { runCommand } = await import("./commands/run.ts");
      // A config file's `http` settings apply unless the flag was given on the command line.
      const explicit = { host: cmd.getOptionValueSource("host") === "cli", port: cmd.getOptionValueSource("port") === "cli" };
      setExitCode(await runCommand(target, { ...opts, explicit }, io));
    });

  addressOptions(
    program
      .command("deploy")
      .description("Deploy the applications of a config file to a running runtime (validated locally first).")
      .argument("<config>", "config file (YAML or JSON): applications with name, routePrefix, importPath and per-deployment overrides"),
  )
    .addHelpText(
      "after",
      `
Config file shape (Ray Serve's, in camelCase):
  http: { host: 127.0.0.1, port: 8000 }       # used by \`stingray run <config>\`
  applications:
    - name: weather
      routePrefix: /weather
      importPath: examples/weather.ts:app     # relative to the config file
      args: {}                                # passed to a builder function export
      deployments:
        - name: WeatherMCP
          numReplicas: 2                      # or autoscalingConfig: {...}
          actorOptions: { numCpus: 0.5 }
Applications running in the runtime but missing from the file are deleted.
${EXIT_CODES_HELP}`,
    )
    .action(async (file: string, opts) => {
      const { deployCommand } = await import("./commands/deploy.ts");
      setExitCode(await deployCommand(file, opts, io));
    });

  addressOptions(program.command("status").description("Show applications, deployments, replica states and resources of a running runtime."))
    .option("--json", "print the raw status snapshot as JSON")
    .addHelpText("after", EXIT_CODES_HELP)
    .action(async (opts) => {
      const { statusCommand } = await import("./commands/status.ts");
      setExitCode(await statusCommand(opts, io));
    });

  addressOptions(program.command("shutdown").description("Gracefully shut down a running runtime (drains in-flight requests)."))
    .option("-y, --yes", "do not ask for confirmation (required when stdin is not a terminal)")
    .option("--no-wait", "return once the shutdown was accepted instead of waiting for the runtime to stop")
    .addHelpText("after", EXIT_CODES_HELP)
    .action(async (opts) => {
      const { shutdownCommand } = await import("./commands/shutdown.ts");
      setExitCode(await shutdownCommand(opts, io));
    });

  return program;
}

/** Runs the CLI and resolves with the process exit code; never throws. */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  let code = 0;
  const program = buildProgram(io, (c) => (code = c));
  try {
    await program.parseAsync(argv, { from: "user" });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are "errors" in commander's exitOverride mode; their code is 0.
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (err instanceof CliError) {
      io.stderr.write(`error: ${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof StingrayError) {
      io.stderr.write(`error: ${err.message} (${err.code})\n`);
      return err.code === "STINGRAY_ERR_INVALID_OPTIONS" ? EXIT_USAGE : EXIT_FAILURE;
    }
    io.stderr.write(`error: ${(err as Error)?.stack ?? String(err)}\n`);
    return EXIT_FAILURE;
  }
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}
