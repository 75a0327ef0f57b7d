#!/usr/bin/env node
// The `mailroom` program: finds the subcommand, runs it, and turns every failure into one line on
// stderr and a sysexits(3)-style exit code.

import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../config/load.js";
import { version } from "../server/version.js";
import { StoreError } from "../store/types.js";
import { aliasCommand } from "./alias.js";
import { type CliCommand, CliError, type CliIo, ExitCode } from "./command.js";
import { devCommand } from "./dev.js";
import { dkimCommand } from "./dkim.js";
import { doctorCommand } from "./doctor.js";
import { domainCommand } from "./domain.js";
import { exportCommand } from "./export.js";
import { importCommand } from "./import.js";
import { initCommand } from "./init.js";
import { mailCommand } from "./mail.js";
import { migrateCommand } from "./migrate.js";
import { queueCommand } from "./queue.js";
import { sendCommand } from "./send.js";
import { sendmailCommand } from "./sendmail.js";
import { serveCommand } from "./serve.js";
import { sieveCommand } from "./sieve.js";
import { statusCommand } from "./status.js";
import { tokenCommand } from "./token.js";
import { traceCommand } from "./trace.js";
import { userCommand } from "./user.js";
import { vacationCommand } from "./vacation.js";

export const commands: readonly CliCommand[] = [
  serveCommand,
  devCommand,
  initCommand,
  statusCommand,
  domainCommand,
  userCommand,
  tokenCommand,
  aliasCommand,
  sieveCommand,
  vacationCommand,
  mailCommand,
  queueCommand,
  traceCommand,
  dkimCommand,
  doctorCommand,
  sendCommand,
  sendmailCommand,
  migrateCommand,
  importCommand,
  exportCommand,
];

export function usage(available: readonly CliCommand[] = commands): string {
  const width = Math.max(...available.map((command) => command.name.length));
  const lines = available.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`);
  return `Usage: mailroom <command> [options]

A self-hostable mail system: SMTP, POP3 and IMAP in one program.

Commands:
${lines.join("\n")}

Run 'mailroom <command> --help' for a command's options.
Other options: -h, --help (this text), -V, --version.
`;
}

const isHelp = (arg: string | undefined): boolean => arg === "--help" || arg === "-h";

/**
 * Runs `mailroom <argv…>` and resolves to the exit code; writes only to the given streams.
 * `available` is the command table (tests may pass their own).
 */
export async function main(
  argv: string[],
  io: CliIo,
  available: readonly CliCommand[] = commands,
): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === undefined) {
      io.stderr.write(usage(available));
      return ExitCode.usage;
    }
    if (isHelp(name)) {
      io.stdout.write(usage(available));
      return ExitCode.ok;
    }
    if (name === "--version" || name === "-V") {
      io.stdout.write(`mailroom ${version()}\n`);
      return ExitCode.ok;
    }
    if (name === "help") return showHelp(rest[0], io, available);
    const command = available.find((each) => each.name === name);
    if (!command) {
      const what = name.startsWith("-") ? "option" : "command";
      throw new CliError(`unknown ${what} '${name}'; see 'mailroom --help'`, ExitCode.usage);
    }
    if (isHelp(rest[0])) {
      io.stdout.write(command.help);
      return ExitCode.ok;
    }
    return await command.run(rest, io);
  } catch (err) {
    return reportError(err, io);
  }
}

function showHelp(name: string | undefined, io: CliIo, available: readonly CliCommand[]): number {
  if (name === undefined) {
    io.stdout.write(usage(available));
    return ExitCode.ok;
  }
  const command = available.find((each) => each.name === name);
  if (!command) throw new CliError(`unknown command '${name}'; see 'mailroom --help'`, ExitCode.usage);
  io.stdout.write(command.help);
  return ExitCode.ok;
}

/** The exit code for a store failure: the request was wrong (1), or the store could not do it now (75). */
export function storeExitCode(error: StoreError): number {
  switch (error.code) {
    case "unavailable":
    case "full":
    case "in-use":
    case "locked":
      return ExitCode.tempFail;
    default:
      return ExitCode.failure;
  }
}

function reportError(err: unknown, io: CliIo): number {
  if (err instanceof CliError) {
    io.stderr.write(`mailroom: ${err.message}\n`);
    return err.exitCode;
  }
  if (err instanceof ConfigError) {
    io.stderr.write(`mailroom: ${err.message}\n`);
    return ExitCode.config;
  }
  if (err instanceof StoreError) {
    io.stderr.write(`mailroom: ${err.message}\n`);
    return storeExitCode(err);
  }
  io.stderr.write(
    `mailroom: internal error; please report it with the text below\n${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  return ExitCode.software;
}

function invokedAsScript(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    // npm installs the binary as a symlink: compare real paths.
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedAsScript()) {
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    // EPIPE: the reader went away (`mailroom mail cat … | head`), which is not a failure of ours.
    if (err.code === "EPIPE") process.exit(ExitCode.ok);
    process.stderr.write(`mailroom: cannot write to stdout: ${err.message}\n`);
    process.exit(ExitCode.ioError);
  });
  process.exitCode = await main(process.argv.slice(2), {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  });
}
