// `mailroom export`: users' mailboxes out to a Maildir or mbox files (src/mailio/), in the form
// `mailroom import` and Dovecot read back.

import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { type ExportFormat, type ExportSummary, emptyExportSummary, exportUser } from "../mailio/exporter.js";
import { MAILDIR_LAYOUTS, type MaildirLayout } from "../mailio/maildir.js";
import { expectPositionals, parseCommandArgs, storeOptions, stringOption, usageError } from "./args.js";
import { type CliCommand, CliError, type CliIo, ExitCode } from "./command.js";
import { withStore } from "./context.js";
import { mboxVariantOption, n, TransferProgress, userOrAll } from "./transfer.js";
import { unknownUserError } from "./user.js";

const HELP_COMMAND = "mailroom export --help";

const HELP = `Usage: mailroom export --user EMAIL [options] PATH
       mailroom export --all [options] DIR

Write stored mail out, with its flags, keywords and arrival dates, as a Maildir or as mbox files.
PATH must not exist yet or be an empty directory.

  maildir  PATH is the Maildir: INBOX in cur/, other mailboxes as .Sub.Folder (or, --layout fs,
           Sub/Folder); flags in the file names, keywords in each folder's dovecot-keywords, the arrival
           date as the file's mtime; LF line ends
  mbox     PATH is a directory with a file per mailbox (Work's subfolders in Work.sbd/), or with
           --mailbox the one file; flags in Status:, X-Status: and X-Keywords:
With --all, DIR gets a directory per user, named by address.

Options:
  --user EMAIL          the user to export
  --all                 every user
  --format FORMAT       maildir (default) or mbox
  --mailbox NAME        only this mailbox
  --layout L            maildir++ (default) or fs: how Maildir subfolders are laid out
  --mbox-variant V      mboxrd (default) or mboxo: how "From " lines in messages are quoted
  --config FILE         configuration file
  --data-dir DIR        data directory (overrides the configuration)
  -h, --help            show this help
`;

const exportOptions = {
  ...storeOptions,
  user: { type: "string" },
  all: { type: "boolean" },
  format: { type: "string" },
  mailbox: { type: "string" },
  layout: { type: "string" },
  "mbox-variant": { type: "string" },
} as const;

async function assertFreeTarget(path: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return;
    if (code === "ENOTDIR")
      throw new CliError(
        `${path} is a file; export writes to a new or empty directory (or a new mbox file)`,
        ExitCode.cantCreate,
      );
    throw error;
  }
  if (entries.length > 0) {
    throw new CliError(
      `${path} is not empty; export into a new or empty directory so nothing there is mixed in or overwritten`,
      ExitCode.cantCreate,
    );
  }
}

async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, exportOptions, HELP_COMMAND);
  if (values.help) {
    io.stdout.write(HELP);
    return ExitCode.ok;
  }
  expectPositionals(positionals, ["PATH"], [], HELP_COMMAND);
  const path = positionals[0] ?? "";
  const address = userOrAll(values, HELP_COMMAND);
  const formatName = stringOption(values, "format") ?? "maildir";
  const layout = stringOption(values, "layout") ?? "maildir++";
  const variant = mboxVariantOption(values, HELP_COMMAND);
  if (!MAILDIR_LAYOUTS.includes(layout as MaildirLayout))
    throw usageError(`unknown --layout '${layout}' (maildir++ or fs)`, HELP_COMMAND);
  let format: ExportFormat;
  if (formatName === "maildir") format = { kind: "maildir", layout: layout as MaildirLayout };
  else if (formatName === "mbox") format = { kind: "mbox", variant };
  else throw usageError(`unknown --format '${formatName}' (maildir or mbox)`, HELP_COMMAND);
  const mailboxName = stringOption(values, "mailbox");
  await assertFreeTarget(path);
  return withStore(values, io, async ({ store }) => {
    const users =
      address !== undefined
        ? [
            await store.directory
              .getUser(address)
              .then((found) => found ?? Promise.reject(unknownUserError(address))),
          ]
        : await store.directory.listUsers();
    const progress = new TransferProgress(io.stderr, "exported");
    const summary = emptyExportSummary();
    const onMessage = (s: ExportSummary) => progress.update(s.messages);
    for (const each of users) {
      let mailboxes: Awaited<ReturnType<typeof store.mailboxes.listMailboxes>> | undefined;
      if (mailboxName !== undefined) {
        const mailbox = await store.mailboxes.getMailbox(each.id, mailboxName);
        if (!mailbox) {
          if (address !== undefined)
            throw new CliError(`${each.address} has no mailbox '${mailboxName}'`, ExitCode.dataError);
          continue;
        }
        mailboxes = [mailbox];
      }
      const target = address !== undefined ? path : join(path, each.address);
      await exportUser(
        store,
        each.id,
        target,
        {
          format,
          ...(mailboxes ? { mailboxes } : {}),
          mboxFile: format.kind === "mbox" && mailboxName !== undefined,
          onMessage,
        },
        summary,
      );
    }
    progress.finish();
    io.stdout.write(
      `exported ${n(summary.messages)} messages (${n(summary.bytes)} octets) in ${n(summary.mailboxes)} mailboxes of ${n(users.length)} user${users.length === 1 ? "" : "s"} to ${path} in ${progress.seconds().toFixed(1)} s\n`,
    );
    if (summary.skipped.length > 0) {
      io.stdout.write(`not exported (${n(summary.skipped.length)}):\n`);
      for (const skipped of summary.skipped) io.stdout.write(`  ${skipped.what}: ${skipped.reason}\n`);
      return ExitCode.dataError;
    }
    return ExitCode.ok;
  });
}

export const exportCommand: CliCommand = {
  name: "export",
  help: HELP,
  run,
};
