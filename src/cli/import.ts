// `mailroom import`: old mail into users' mailboxes, from a Maildir or mbox files (src/mailio/).

import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { MAX_PASSWORD_LENGTH } from "../auth/new-password.js";
import { type ImapLocation, ImapSourceError, imapSource, parseImapLocation } from "../mailio/imap-source.js";
import { emptyImportSummary, ImportStopped, type ImportSummary, UserImport } from "../mailio/importer.js";
import { isMaildir, NotMaildirError } from "../mailio/maildir.js";
import { MboxFormatError, type MboxVariant } from "../mailio/mbox.js";
import { listMboxFiles, type MessageSource, maildirSource, mboxSource } from "../mailio/sources.js";
import type { Store } from "../store/types.js";
import { expectPositionals, parseCommandArgs, storeOptions, stringOption, usageError } from "./args.js";
import { type CliCommand, CliError, type CliIo, ExitCode } from "./command.js";
import { withStore } from "./context.js";
import { promptHidden } from "./prompt.js";
import { mboxVariantOption, n, TransferProgress, userEntries, userOrAll } from "./transfer.js";
import { unknownUserError } from "./user.js";

const HELP_COMMAND = "mailroom import --help";

const HELP = `Usage: mailroom import --user EMAIL [options] PATH
       mailroom import --all [options] DIR
       mailroom import --user EMAIL --from imaps://USER@HOST[:PORT] [--password-file FILE] [--ca FILE]

Copy mail into mailroom from a Maildir (Dovecot, Courier) or mbox files. Running the same import again
adds only what is missing: a message whose Message-ID, Date and size are already in the mailbox is left.

PATH is a Maildir (cur/ new/ tmp/, with subfolders as .Sub.Folder or, Dovecot's LAYOUT=fs, Sub/Folder),
an mbox file (into INBOX, or --mailbox), or with --format mbox a directory of mbox files (one mailbox
each; Work.sbd/ or Work/ holds Work's subfolders). With --all, DIR holds one entry per user, named by
address (alice@example.org) or as domain/local-part (example.org/alice); a user entry may hold Maildir/.

With --from, the mail comes from another IMAP server: every mailbox of the account USER there (a USER
with "@" may be written as is or as %40), with its flags and arrival dates; that server's mail and flags
are only read. imaps:// is TLS from the start (port 993); imap:// must offer STARTTLS (port 143), except
on a loopback address. The certificate is verified; --ca FILE adds a CA (PEM) to trust. The password is
the first line of --password-file, or MAILROOM_IMPORT_PASSWORD, or asked for on a terminal.

Options:
  --user EMAIL          the user whose mailboxes receive the mail
  --all                 every user with an entry in DIR
  --format FORMAT       maildir or mbox (default: maildir for a directory, mbox for a file)
  --mailbox NAME        the mailbox an mbox file goes to (default INBOX)
  --mbox-variant V      mboxrd (default) or mboxo: how ">From " lines were quoted
  --from URL            import from an IMAP server instead of files (see above)
  --password-file FILE  with --from: the password, on the file's first line
  --ca FILE             with --from: a CA certificate (PEM) to trust for the server
  --config FILE         configuration file
  --data-dir DIR        data directory (overrides the configuration)
  -h, --help            show this help

Flags come along: Maildir's file name letters (S F R T D P → \\Seen \\Flagged \\Answered \\Deleted
\\Draft $Forwarded) and dovecot-keywords; mbox's Status:, X-Status: and X-Keywords:. The date a message
arrived is the file's mtime (Maildir) or the From_ line's date (mbox). Exits 65 when anything was
skipped (each is listed), 66 when PATH is missing.
`;

const importOptions = {
  ...storeOptions,
  user: { type: "string" },
  all: { type: "boolean" },
  format: { type: "string" },
  mailbox: { type: "string" },
  "mbox-variant": { type: "string" },
  from: { type: "string" },
  "password-file": { type: "string" },
  ca: { type: "string" },
} as const;

/** Environment variable holding the password of an --from import when no file is given. */
const PASSWORD_ENV = "MAILROOM_IMPORT_PASSWORD";

type Format = "maildir" | "mbox";

interface Plan {
  format: Format | undefined;
  mailbox: string | undefined;
  variant: MboxVariant;
  maxMessageSize: number;
}

async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, importOptions, HELP_COMMAND);
  if (values.help) {
    io.stdout.write(HELP);
    return ExitCode.ok;
  }
  const from = stringOption(values, "from");
  if (from !== undefined) return runFromImap(from, values, positionals, io);
  for (const option of ["password-file", "ca"]) {
    if (values[option] !== undefined) throw usageError(`--${option} goes with --from`, HELP_COMMAND);
  }
  expectPositionals(positionals, ["PATH"], [], HELP_COMMAND);
  const path = positionals[0] ?? "";
  const address = userOrAll(values, HELP_COMMAND);
  const format = stringOption(values, "format");
  if (format !== undefined && format !== "maildir" && format !== "mbox") {
    throw usageError(`unknown --format '${format}' (maildir or mbox)`, HELP_COMMAND);
  }
  const variant = mboxVariantOption(values, HELP_COMMAND);
  const mailbox = stringOption(values, "mailbox");
  try {
    await stat(path);
  } catch {
    throw new CliError(
      `${path} does not exist (or cannot be read); give the Maildir or mbox to import`,
      ExitCode.noInput,
    );
  }
  return withStore(values, io, async ({ store, config }) => {
    const plan: Plan = {
      format,
      mailbox,
      variant,
      maxMessageSize: config.smtp.maxMessageSize,
    };
    const progress = new TransferProgress(io.stderr, "imported");
    const summary = emptyImportSummary();
    const onMessage = (s: ImportSummary) => progress.update(s.imported + s.duplicates);
    let users = 0;
    try {
      if (address !== undefined) {
        const found = await store.directory.getUser(address);
        if (!found) throw unknownUserError(address);
        await importUser(store, found.id, path, plan, summary, onMessage, false);
        users = 1;
      } else {
        for (const entry of await userEntries(path)) {
          const found = await store.directory.getUser(entry.address);
          if (!found) {
            summary.skipped.push({
              origin: entry.path,
              reason: `there is no user ${entry.address}; add it with 'mailroom user add' and run again`,
            });
            continue;
          }
          await importUser(store, found.id, entry.path, plan, summary, onMessage, true);
          users++;
        }
      }
    } catch (error) {
      progress.finish();
      if (error instanceof ImportStopped) {
        io.stdout.write(formatImportSummary(summary, users, progress.seconds()));
        throw new CliError(error.message, ExitCode.tempFail);
      }
      throw error;
    }
    progress.finish();
    io.stdout.write(formatImportSummary(summary, users, progress.seconds()));
    if (summary.skipped.length > 0) {
      io.stderr.write(
        `mailroom: ${n(summary.skipped.length)} skipped (listed above); fix what they say and run the import again: what is imported stays, once\n`,
      );
      return ExitCode.dataError;
    }
    return ExitCode.ok;
  });
}

/** `import --user EMAIL --from URL`: one user's mail from another IMAP server. */
async function runFromImap(
  from: string,
  values: Record<string, string | boolean | undefined>,
  positionals: string[],
  io: CliIo,
): Promise<number> {
  if (values.all === true)
    throw usageError("--from imports one user: give --user EMAIL, not --all", HELP_COMMAND);
  for (const option of ["format", "mailbox", "mbox-variant"]) {
    if (values[option] !== undefined) throw usageError(`--${option} is for files, not --from`, HELP_COMMAND);
  }
  expectPositionals(positionals, [], [], HELP_COMMAND);
  const address = userOrAll(values, HELP_COMMAND) as string;
  let location: ImapLocation;
  try {
    location = parseImapLocation(from);
  } catch (error) {
    if (error instanceof ImapSourceError) throw usageError(error.message, HELP_COMMAND);
    throw error;
  }
  const caFile = stringOption(values, "ca");
  const ca = caFile === undefined ? undefined : await readInput(caFile, "the CA file");
  const password = await importPassword(stringOption(values, "password-file"), location, io);
  return withStore(values, io, async ({ store, config }) => {
    const found = await store.directory.getUser(address);
    if (!found) throw unknownUserError(address);
    const maxMessageSize = config.smtp.maxMessageSize;
    const progress = new TransferProgress(io.stderr, "imported");
    const summary = emptyImportSummary();
    const engine = new UserImport(
      store,
      found.id,
      { maxMessageSize, onMessage: (s) => progress.update(s.imported + s.duplicates) },
      summary,
    );
    try {
      await engine.run(imapSource({ location, password, maxMessageSize, ...(ca ? { ca } : {}) }));
    } catch (error) {
      progress.finish();
      if (error instanceof ImapSourceError || error instanceof ImportStopped) {
        io.stdout.write(formatImportSummary(summary, 1, progress.seconds()));
        const stopped = error instanceof ImportStopped;
        throw new CliError(
          stopped || summary.imported === 0
            ? error.message
            : `${error.message}; what was imported stays, and running the same import again continues`,
          stopped ? ExitCode.tempFail : ExitCode.unavailable,
        );
      }
      throw error;
    }
    progress.finish();
    io.stdout.write(formatImportSummary(summary, 1, progress.seconds()));
    if (summary.skipped.length > 0) {
      io.stderr.write(
        `mailroom: ${n(summary.skipped.length)} skipped (listed above); fix what they say and run the import again: what is imported stays, once\n`,
      );
      return ExitCode.dataError;
    }
    return ExitCode.ok;
  });
}

async function readInput(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch {
    throw new CliError(`${path} (${what}) cannot be read; check the path`, ExitCode.noInput);
  }
}

/** The --from server's password: --password-file's first line, the environment, or a prompt. */
async function importPassword(file: string | undefined, location: ImapLocation, io: CliIo): Promise<string> {
  let password: string | undefined;
  if (file !== undefined) {
    password = (await readInput(file, "the password file")).split(/\r?\n/)[0];
  } else if (io.env[PASSWORD_ENV] !== undefined) {
    password = io.env[PASSWORD_ENV];
  } else if (io.stdin.isTTY && typeof io.stdin.setRawMode === "function") {
    [password] = await promptHidden(io, [`Password of ${location.user} at ${location.host}: `]);
  } else {
    throw new CliError(
      `no password for ${location.label}: give --password-file FILE or set ${PASSWORD_ENV}`,
      ExitCode.usage,
    );
  }
  if (!password) throw new CliError(`the password for ${location.label} is empty`, ExitCode.usage);
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw new CliError(`the password for ${location.label} is longer than ${MAX_PASSWORD_LENGTH} characters`);
  }
  return password;
}

/**
 * One user's import from `path`. In an --all run a source that cannot be read is listed as skipped and
 * the next user goes on; for a single user it stops the command.
 */
async function importUser(
  store: Store,
  userId: number,
  path: string,
  plan: Plan,
  summary: ImportSummary,
  onMessage: (summary: ImportSummary) => void,
  many: boolean,
): Promise<void> {
  const sources = await planSources(path, plan);
  const engine = new UserImport(store, userId, { maxMessageSize: plan.maxMessageSize, onMessage }, summary);
  for (const source of sources) {
    try {
      await engine.run(source);
    } catch (error) {
      if (!(error instanceof MboxFormatError || error instanceof NotMaildirError)) throw error;
      if (!many && sources.length === 1)
        throw new CliError(`${source.label}: ${error.message}`, ExitCode.dataError);
      summary.skipped.push({ origin: source.label, reason: error.message });
    }
  }
}

async function planSources(path: string, plan: Plan): Promise<MessageSource[]> {
  const info = await stat(path);
  if (!info.isDirectory()) {
    if (plan.format === "maildir") {
      throw new CliError(
        `${path} is a file, not a Maildir directory; for an mbox file use --format mbox`,
        ExitCode.dataError,
      );
    }
    return [mboxSource(path, plan.mailbox ?? "INBOX", plan.variant, plan.maxMessageSize)];
  }
  if (plan.format === "mbox") {
    const files = await listMboxFiles(path);
    return files.map((file) => mboxSource(file.path, file.mailbox, plan.variant, plan.maxMessageSize));
  }
  if (plan.mailbox !== undefined) {
    throw new CliError(
      "--mailbox is for an mbox file; a Maildir's folders name their own mailboxes",
      ExitCode.usage,
    );
  }
  // A user's home directory often holds the Maildir under this name.
  const nested = join(path, "Maildir");
  const root = !(await isMaildir(path)) && (await isMaildir(nested)) ? nested : path;
  if (!(await isMaildir(root))) {
    throw new CliError(
      `${path} is not a Maildir: it has neither cur/ nor new/; for a directory of mbox files add --format mbox`,
      ExitCode.dataError,
    );
  }
  return [maildirSource(root, plan.maxMessageSize)];
}

const LISTED = 50;

export function formatImportSummary(summary: ImportSummary, users: number, seconds: number): string {
  const lines = [
    `imported ${n(summary.imported)} messages (${n(summary.bytes)} octets) for ${n(users)} user${users === 1 ? "" : "s"} in ${seconds.toFixed(1)} s; ${n(summary.duplicates)} already there, left alone`,
  ];
  if (summary.mailboxesCreated.length > 0)
    lines.push(`created mailboxes: ${summary.mailboxesCreated.join(", ")}`);
  const list = (title: string, items: string[]) => {
    if (items.length === 0) return;
    lines.push(`${title} (${n(items.length)}):`);
    for (const item of items.slice(0, LISTED)) lines.push(`  ${item}`);
    if (items.length > LISTED) lines.push(`  … and ${n(items.length - LISTED)} more`);
  };
  list(
    "skipped",
    summary.skipped.map((s) => `${s.origin}: ${s.reason}`),
  );
  list(
    "imported with notes",
    summary.notes.map((s) => `${s.origin}: ${s.note}`),
  );
  return `${lines.join("\n")}\n`;
}

export const importCommand: CliCommand = {
  name: "import",
  help: HELP,
  run,
};
