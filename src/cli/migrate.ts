// `mailroom migrate`: mirrors a SQLite installation into PostgreSQL. Each run makes the target match the
// source, copying only what differs, so an operator runs it once while the old node serves (long), then
// stops the node and runs it again (only the delta), then starts nodes on PostgreSQL.

import { stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import pino from "pino";
import {
  type MigrationSummary,
  MirrorConflict,
  type MirrorProgress,
  mirrorStore,
} from "../store/migrate/mirror.js";
import { openStore } from "../store/open.js";
import { openSqliteStore } from "../store/sqlite/index.js";
import { type Store, StoreError } from "../store/types.js";
import { parseCommandArgs, stringOption, usageError } from "./args.js";
import { type CliCommand, CliError, type CliIo, ExitCode } from "./command.js";

const HELP_COMMAND = "mailroom migrate --help";

const HELP = `Usage: mailroom migrate --from sqlite:DIR --to postgres://USER:PASSWORD@HOST/DB [--dry-run]

Copy a single-node installation (SQLite) into PostgreSQL: domains, DKIM keys, users (password hashes
as they are), aliases, mailboxes, subscriptions (names without a mailbox too), vacation settings,
quotas, Sieve scripts (and which is active), IMAP METADATA entries, messages (bytes, UIDs, UIDVALIDITY, flags, MODSEQ kept) and the outbound queue. The source is only read, and may keep
serving while this runs.

Each run makes the target match the source and copies only what differs, so:
  1. run it while the old node serves (copies everything; may take long),
  2. stop the old node (mailroom serve) and run it again (copies the last changes; seconds),
  3. set store = "postgres://…" in the configuration and start the nodes.
Messages, subscriptions and queue entries gone from the source are removed from the target. A target
mailbox that holds messages under another UIDVALIDITY stops the run before anything is written.

Options:
  --from SOURCE   the data directory of the SQLite installation: sqlite:DIR or just DIR
  --to URL        the PostgreSQL database (default: the MAILROOM_STORE environment variable);
                  its schema is created or upgraded first
  --dry-run       show what would be copied, and write nothing but the schema
  -h, --help      show this help

Progress goes to stderr, the summary to stdout. Exit codes: 0 done, 1 failed (conflict), 64 usage,
66 no source, 69 PostgreSQL unreachable, 75 a store was busy or full (run again).
`;

const migrateOptions = {
  from: { type: "string" },
  to: { type: "string" },
  "dry-run": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

const PROGRESS_INTERVAL_MS = 5000;
const TTY_REDRAW_MS = 100;

const count = new Intl.NumberFormat("en-US");

export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** Progress on stderr: one rewritten line on a terminal, else a line every 5 s or every 10 %. */
export class MigrationProgress implements MirrorProgress {
  private done = 0;
  private bytes = 0;
  private lastWrite: number;
  private lastDecile = 0;
  private drawn = false;

  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean },
    private total = 0,
    private readonly now: () => number = Date.now,
  ) {
    this.lastWrite = now();
  }

  start(totalMessages: number): void {
    this.total = totalMessages;
    this.lastWrite = this.now();
  }

  line(): string {
    // The source keeps changing while it is read: a mailbox may hold more than when it was counted.
    const total = Math.max(this.total, this.done);
    const percent = total === 0 ? 100 : Math.floor((this.done * 100) / total);
    return `messages ${count.format(this.done)}/${count.format(total)} (${percent}%) ${formatBytes(this.bytes)}`;
  }

  advance(messages: number, bytes: number): void {
    this.done += messages;
    this.bytes += bytes;
    const now = this.now();
    if (this.out.isTTY) {
      if (this.drawn && now - this.lastWrite < TTY_REDRAW_MS && this.done < this.total) return;
      this.out.write(`\r${this.line()}\x1b[K`);
      this.drawn = true;
      this.lastWrite = now;
      return;
    }
    const decile = this.total === 0 ? 10 : Math.floor((this.done * 10) / this.total);
    if (decile > this.lastDecile || now - this.lastWrite >= PROGRESS_INTERVAL_MS) {
      this.out.write(`${this.line()}\n`);
      this.lastDecile = decile;
      this.lastWrite = now;
    }
  }

  finish(): void {
    if (this.drawn) this.out.write("\n");
  }
}

export function formatSummary(summary: MigrationSummary, seconds: number, dryRun: boolean): string {
  const s = summary;
  const n = (value: number) => count.format(value);
  const lines = [
    dryRun
      ? "dry run: nothing was copied; a run would make these changes:"
      : `done in ${seconds.toFixed(1)} s`,
    `  domains    ${n(s.domains.added)} added, ${n(s.domains.unchanged)} unchanged`,
    `  dkim keys  ${n(s.dkimKeys.copied)} copied, ${n(s.dkimKeys.unchanged)} unchanged`,
    `  users      ${n(s.users.added)} added, ${n(s.users.updated)} updated, ${n(s.users.unchanged)} unchanged`,
    `  aliases    ${n(s.aliases.added)} added, ${n(s.aliases.removed)} removed, ${n(s.aliases.unchanged)} unchanged`,
    `  mailboxes  ${n(s.mailboxes.created)} created, ${n(s.mailboxes.updated)} updated, ${n(s.mailboxes.removed)} removed`,
    `  subscriptions ${n(s.subscriptions.added)} added, ${n(s.subscriptions.removed)} removed, ${n(s.subscriptions.unchanged)} unchanged`,
    `  messages   ${n(s.messages.new)} new, ${n(s.messages.updated)} updated, ${n(s.messages.unchanged)} unchanged, ${n(s.messages.expunged)} expunged`,
    `  bodies     ${n(s.bodies.copied)} copied (${formatBytes(s.bodies.bytes)})`,
    `  queue      ${n(s.queue.added)} added, ${n(s.queue.updated)} updated, ${n(s.queue.unchanged)} unchanged, ${n(s.queue.removed)} removed`,
    `  vacation   ${n(s.vacation.copied)} copied, ${n(s.vacation.unchanged)} unchanged`,
    `  quotas     ${n(s.quotas.copied)} copied, ${n(s.quotas.unchanged)} unchanged`,
    `  identities ${n(s.identities.added)} added, ${n(s.identities.unchanged)} unchanged`,
    `  submissions ${n(s.submissions.added)} added, ${n(s.submissions.unchanged)} unchanged`,
    `  sieve      ${n(s.sieveScripts.copied)} copied, ${n(s.sieveScripts.removed)} removed, ${n(s.sieveScripts.unchanged)} unchanged`,
    `  metadata   ${n(s.metadata.copied)} copied, ${n(s.metadata.removed)} removed, ${n(s.metadata.unchanged)} unchanged`,
    `  url keys   ${n(s.urlAuthKeys.copied)} copied, ${n(s.urlAuthKeys.removed)} removed, ${n(s.urlAuthKeys.unchanged)} unchanged`,
  ];
  if (s.messages.vanished > 0) {
    lines.push(
      `  ${n(s.messages.vanished)} message(s) went from the source while copying; run again to settle`,
    );
  }
  if (s.extraUsers.length > 0) {
    lines.push(`  left alone: users only the target has: ${s.extraUsers.join(", ")}`);
  }
  return `${lines.join("\n")}\n`;
}

/** The data directory named by --from: "sqlite:DIR" or a bare directory. */
export function sourceDirectory(from: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(from)) {
    throw usageError(
      `--from must name a SQLite data directory (sqlite:DIR), not ${from.split(":")[0]}://…`,
      HELP_COMMAND,
    );
  }
  const dir = from.startsWith("sqlite:") ? from.slice("sqlite:".length) : from;
  if (dir.length === 0)
    throw usageError("--from sqlite: needs a directory, e.g. sqlite:/var/lib/mailroom", HELP_COMMAND);
  return resolve(dir);
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "the --to URL";
  }
}

async function openSource(dir: string): Promise<Store> {
  const database = join(dir, "mailroom.db");
  try {
    await stat(database);
  } catch {
    throw new CliError(
      `no mailroom database at ${database}; point --from at the data directory of the installation (data_dir in its configuration)`,
      ExitCode.noInput,
    );
  }
  try {
    return await openSqliteStore({ dataDir: dir, logger: pino({ level: "silent" }) });
  } catch (error) {
    if (error instanceof StoreError) {
      throw new CliError(`cannot open the source ${dir}: ${error.message}`, ExitCode.noInput);
    }
    throw error;
  }
}

async function openTarget(url: string): Promise<Store> {
  try {
    return await openStore({ store: url, dataDir: "", logger: pino({ level: "silent" }) });
  } catch (error) {
    if (error instanceof StoreError) {
      throw new CliError(
        `cannot open the target ${redact(url)}: ${error.message.replace("store in the config", "the --to URL")}`,
        error.code === "invalid" ? ExitCode.usage : ExitCode.unavailable,
      );
    }
    throw error;
  }
}

function conflictError(error: MirrorConflict): CliError {
  const lines = error.conflicts.map(
    (c) =>
      `  ${c.address} mailbox "${c.mailbox}": UIDVALIDITY ${c.target} in the target, ${c.source} in the source`,
  );
  return new CliError(
    `the target already holds other messages in ${lines.length === 1 ? "a mailbox" : "mailboxes"} of the source:\n${lines.join("\n")}\n` +
      "nothing was copied; migrate into an empty database, or remove these users from the target first " +
      "(mailroom user remove, with MAILROOM_STORE set to the target)",
    ExitCode.failure,
  );
}

async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, migrateOptions, HELP_COMMAND);
  if (values.help) {
    io.stdout.write(HELP);
    return ExitCode.ok;
  }
  if (positionals.length > 0) throw usageError(`unexpected argument '${positionals[0]}'`, HELP_COMMAND);
  const from = stringOption(values, "from");
  if (from === undefined) throw usageError("missing --from sqlite:DIR", HELP_COMMAND);
  const to = stringOption(values, "to") ?? io.env.MAILROOM_STORE;
  if (to === undefined || to === "") {
    throw usageError("missing --to postgres://… (or set MAILROOM_STORE)", HELP_COMMAND);
  }
  if (!/^postgres(ql)?:\/\//i.test(to)) {
    throw usageError(`--to must be a PostgreSQL URL like postgres://user:password@host/db`, HELP_COMMAND);
  }
  const dryRun = values["dry-run"] === true;
  const dir = sourceDirectory(from);
  const started = Date.now();
  const source = await openSource(dir);
  try {
    const target = await openTarget(to);
    try {
      io.stderr.write(`${dryRun ? "checking" : "copying"} sqlite:${dir} → ${redact(to)}\n`);
      const summary = await mirrorStore(source, target, {
        dryRun,
        progress: new MigrationProgress(io.stderr),
      });
      io.stdout.write(formatSummary(summary, (Date.now() - started) / 1000, dryRun));
      return ExitCode.ok;
    } catch (error) {
      if (error instanceof MirrorConflict) throw conflictError(error);
      if (error instanceof StoreError && (error.code === "unavailable" || error.code === "full")) {
        throw new CliError(
          `${error.message}\nwhat was copied so far stays; run mailroom migrate again to continue`,
          error.code === "full" ? ExitCode.tempFail : ExitCode.unavailable,
        );
      }
      throw error;
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

export const migrateCommand: CliCommand = {
  name: "migrate",
  help: HELP,
  run,
};
