#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=4194304 node --max-semi-space-size=8
// The `mailroom` program: finds the subcommand, runs it, and turns every failure into one line on
// stderr and a sysexits(3)-style exit code.
//
// How the program runs (issue 19, peak memory): V8's default young generation of 2 × 16 MiB stays
// resident once a busy server has filled it; 8 MiB halves cost no CPU we could measure. glibc raises
// its mmap threshold after the first large block is freed, so each thread-pool thread then keeps the
// 16 MiB scrypt buffer of a login in its arena for good; a fixed 4 MiB threshold hands such blocks back
// at once and leaves smaller ones (response buffers) on the heap, where reuse costs no page faults.
// Serving the IMAP bench's 10,000-message sessions twice: peak RSS 246–268 MiB before, 185–189 after,
// server CPU time alike. Benchmarks start the server with this line's settings (bench/lib/launch.ts),
// and `npm start` runs this file as it is, so it gets them too.

import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../config/load.js";
import { version } from "../server/version.js";
import { StoreError } from "../store/types.js";
import { type CliCommandEntry, CliError, type CliIo, ExitCode } from "./command.js";

/**
 * The commands, each module loaded only when its command runs: `mailroom serve` does not carry the
 * importer's IMAP client or the PostgreSQL migration, and a one-line command starts without the server.
 */
export const commands: readonly CliCommandEntry[] = [
  {
    name: "serve",
    summary: "run the mail server until stopped",
    load: async () => (await import("./serve.js")).serveCommand,
  },
  {
    name: "dev",
    summary: "catch all mail for development (any address, nothing sent; Mailpit API)",
    load: async () => (await import("./dev.js")).devCommand,
  },
  {
    name: "init",
    summary: "create an empty store (data directory or PostgreSQL schema)",
    load: async () => (await import("./init.js")).initCommand,
  },
  {
    name: "status",
    summary: "show the running server's status: listeners, uptime, queue, recent errors",
    load: async () => (await import("./status.js")).statusCommand,
  },
  {
    name: "domain",
    summary: "add, list and remove the domains served here",
    load: async () => (await import("./domain.js")).domainCommand,
  },
  {
    name: "user",
    summary: "add, list and remove users, and set their passwords and quotas",
    load: async () => (await import("./user.js")).userCommand,
  },
  {
    name: "token",
    summary: "create, list and revoke a user's app tokens (HTTP and JMAP logins)",
    load: async () => (await import("./token.js")).tokenCommand,
  },
  {
    name: "alias",
    summary: "add, list and remove aliases and catch-all addresses",
    load: async () => (await import("./alias.js")).aliasCommand,
  },
  {
    name: "sieve",
    summary: "check Sieve scripts and manage each user's (put, activate, list, get, delete)",
    load: async () => (await import("./sieve.js")).sieveCommand,
  },
  {
    name: "vacation",
    summary: "show or set a user's vacation auto-reply",
    load: async () => (await import("./vacation.js")).vacationCommand,
  },
  {
    name: "mail",
    summary: "list the messages of a mailbox and print one as stored",
    load: async () => (await import("./mail.js")).mailCommand,
  },
  {
    name: "queue",
    summary: "list, inspect, retry and delete outbound queue entries",
    load: async () => (await import("./queue.js")).queueCommand,
  },
  {
    name: "trace",
    summary: "why a message did or didn't arrive: its delivery trace by id, or by recipient",
    load: async () => (await import("./trace.js")).traceCommand,
  },
  {
    name: "dkim",
    summary: "show and rotate the DKIM keys that sign outgoing mail",
    load: async () => (await import("./dkim.js")).dkimCommand,
  },
  {
    name: "doctor",
    summary: "check DNS records, hostname, TLS certificate and outbound port 25",
    load: async () => (await import("./doctor.js")).doctorCommand,
  },
  {
    name: "send",
    summary: "compose a message and send it (to a server, or straight to the recipients' MX hosts)",
    load: async () => (await import("./send.js")).sendCommand,
  },
  {
    name: "sendmail",
    summary: "read a message from stdin and submit it, like sendmail(8), for cron, git and mail(1)",
    load: async () => (await import("./sendmail.js")).sendmailCommand,
  },
  {
    name: "migrate",
    summary: "copy a SQLite installation into PostgreSQL (re-runnable mirror)",
    load: async () => (await import("./migrate.js")).migrateCommand,
  },
  {
    name: "import",
    summary: "copy mail in from a Maildir or mbox files",
    load: async () => (await import("./import.js")).importCommand,
  },
  {
    name: "export",
    summary: "write mail out as a Maildir or mbox files",
    load: async () => (await import("./export.js")).exportCommand,
  },
];

export function usage(available: readonly CliCommandEntry[] = commands): string {
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
  available: readonly CliCommandEntry[] = commands,
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
    if (name === "help") return await showHelp(rest[0], io, available);
    const entry = available.find((each) => each.name === name);
    if (!entry) {
      const what = name.startsWith("-") ? "option" : "command";
      throw new CliError(`unknown ${what} '${name}'; see 'mailroom --help'`, ExitCode.usage);
    }
    const command = await entry.load();
    if (isHelp(rest[0])) {
      io.stdout.write(command.help);
      return ExitCode.ok;
    }
    return await command.run(rest, io);
  } catch (err) {
    return reportError(err, io);
  }
}

async function showHelp(
  name: string | undefined,
  io: CliIo,
  available: readonly CliCommandEntry[],
): Promise<number> {
  if (name === undefined) {
    io.stdout.write(usage(available));
    return ExitCode.ok;
  }
  const entry = available.find((each) => each.name === name);
  if (!entry) throw new CliError(`unknown command '${name}'; see 'mailroom --help'`, ExitCode.usage);
  io.stdout.write((await entry.load()).help);
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
