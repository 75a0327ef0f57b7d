// `mailroom serve`: runs the server until SIGTERM or SIGINT, then shuts down gracefully.

import { constants as osConstants } from "node:os";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../config/load.js";
import { createLogger } from "../log/logger.js";
import { createRecentEvents } from "../log/recent.js";
import { ListenError } from "../net/listener.js";
import { InstanceLockError } from "../server/instance-lock.js";
import { protocols } from "../server/protocols.js";
import { DataDirError, runServer } from "../server/server.js";
import { StoreError } from "../store/types.js";
import { type CliCommand, CliError, ExitCode } from "./command.js";

const HELP = `Usage: mailroom serve [--config FILE] [--data-dir DIR] [--capture]

Runs the mail server: SMTP, submission, POP3 and IMAP listeners on one store. Stops gracefully on
SIGTERM or SIGINT (Ctrl-C): listeners close, open sessions get shutdown_timeout to finish. A second
signal stops at once.

Options:
  --config FILE    read settings from this TOML file (also: MAILROOM_CONFIG=FILE)
  --data-dir DIR   keep the database, messages and generated TLS certificate here (default ./data);
                   beats data_dir in the file and MAILROOM_DATA_DIR
  --capture        developer capture mode, as 'mailroom dev' (see 'mailroom dev --help')
  -h, --help       show this text

Every setting can also come from the environment: MAILROOM_<SECTION>_<KEY>, e.g.
MAILROOM_LOG_LEVEL=debug or MAILROOM_LISTENERS_SMTP_PORT=25. The environment beats the file.
`;

/** Startup failures become one line for the operator and an exit code scripts can act on. */
function startupError(error: unknown): unknown {
  if (error instanceof ConfigError) return new CliError(error.message, ExitCode.config);
  if (error instanceof DataDirError) return new CliError(error.message, ExitCode.cantCreate);
  if (error instanceof InstanceLockError) return new CliError(error.message, ExitCode.unavailable);
  if (error instanceof ListenError) return new CliError(error.message, ExitCode.unavailable);
  if (error instanceof StoreError) {
    const code =
      error.code === "full"
        ? ExitCode.cantCreate
        : error.code === "invalid"
          ? ExitCode.config
          : ExitCode.unavailable;
    return new CliError(error.message, code);
  }
  return error;
}

/** Resolves on the first SIGTERM/SIGINT; a second one ends the process at once. */
function watchSignals() {
  let received: NodeJS.Signals | null = null;
  let notify: (signal: NodeJS.Signals) => void = () => undefined;
  const first = new Promise<NodeJS.Signals>((resolve) => {
    notify = resolve;
  });
  const onSignal = (signal: NodeJS.Signals) => {
    if (received !== null) {
      // The shell convention for "killed by signal N".
      process.exit(128 + (osConstants.signals[signal] ?? 0));
    }
    received = signal;
    notify(signal);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  return {
    first,
    dispose() {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
    },
  };
}

/** Parses serve's (and dev's) options, runs the server and waits for a signal to stop it. */
export async function runServe(
  argv: string[],
  io: Parameters<CliCommand["run"]>[1],
  command: { name: string; help: string; capture: boolean },
): Promise<number> {
  let values: { config?: string; "data-dir"?: string; capture?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: "string" },
        "data-dir": { type: "string" },
        capture: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    const detail = error instanceof Error ? (error.message.split("\n")[0] ?? "") : String(error);
    throw new CliError(`${detail}; see 'mailroom ${command.name} --help'`, ExitCode.usage);
  }
  if (values.help) {
    io.stdout.write(command.help);
    return ExitCode.ok;
  }

  // Watched from the start, so a signal during startup still ends in an orderly stop.
  const signals = watchSignals();
  try {
    const warnings: string[] = [];
    const config = await loadConfig({
      file: values.config,
      env: io.env,
      dataDir: values["data-dir"],
      onWarning: (message) => warnings.push(message),
      capture: command.capture || values.capture === true,
    }).catch((error: unknown) => {
      throw startupError(error);
    });
    const recentErrors = createRecentEvents(config.log.recentErrors);
    const logger = createLogger(config.log, io.stdout, recentErrors);
    for (const warning of warnings) logger.warn(warning);
    const server = await runServer(config, logger, protocols, { recentErrors }).catch((error: unknown) => {
      throw startupError(error);
    });
    const signal = await signals.first;
    logger.info({ signal }, "shutting down");
    try {
      await server.stop();
    } catch (error) {
      logger.error({ err: error }, "shutdown failed");
      return ExitCode.software;
    }
    return ExitCode.ok;
  } finally {
    signals.dispose();
  }
}

export const serveCommand: CliCommand = {
  name: "serve",
  help: HELP,
  run: (argv, io) => runServe(argv, io, { name: "serve", help: HELP, capture: false }),
};
