// `mailroom mail …`: looking at what a user received, without an IMAP client.

import { pipeline } from "node:stream/promises";
import { readHeaderBlock, summarizeHeaders } from "../mail/headers.js";
import type { Mailbox, MailboxMessage, Store, User } from "../store/types.js";
import { addressArgument, expectPositionals, parseCommandArgs, storeOptions, usageError } from "./args.js";
import { type CliCommand, CliError, type CliIo, ExitCode } from "./command.js";
import { withStore } from "./context.js";
import { unknownUserError } from "./user.js";

const HELP_COMMAND = "mailroom mail --help";

const HELP = `Usage: mailroom mail <action> [options]

Look at stored mail.

Actions:
  list EMAIL [MAILBOX]      list the messages of a mailbox (default INBOX)
  cat EMAIL MAILBOX UID     write one message, exactly as stored, to stdout

Options:
  --json          list: print JSON (one array) instead of a table
  --config FILE   configuration file
  --data-dir DIR  data directory (overrides the configuration)
  -h, --help      show this help
`;

const mailOptions = { ...storeOptions, json: { type: "boolean" } } as const;

export interface MessageListing {
  uid: number;
  /** When the message arrived (ISO 8601). */
  internalDate: string;
  size: number;
  flags: string[];
  from: string;
  subject: string;
  /** The Date header (ISO 8601), or null. */
  date: string | null;
  messageId: string;
}

async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, mailOptions, HELP_COMMAND);
  if (values.help) {
    io.stdout.write(HELP);
    return ExitCode.ok;
  }
  const [action, ...args] = positionals;
  switch (action) {
    case "list": {
      expectPositionals(args, ["EMAIL"], ["MAILBOX"], HELP_COMMAND);
      const address = addressArgument(args[0] ?? "", HELP_COMMAND);
      const mailboxName = args[1] ?? "INBOX";
      return withStore(values, io, async ({ store }) => {
        const { mailbox } = await openMailbox(store, address, mailboxName);
        const messages = await store.messages.listMessages(mailbox.id);
        const listing: MessageListing[] = [];
        for (const message of messages) listing.push(await describe(store, message, io));
        if (values.json) {
          io.stdout.write(`${JSON.stringify(listing, null, 2)}\n`);
        } else if (listing.length === 0) {
          io.stderr.write(`${mailbox.name} of ${address} is empty\n`);
        } else {
          io.stdout.write(formatTable(listing));
        }
        return ExitCode.ok;
      });
    }
    case "cat": {
      expectPositionals(args, ["EMAIL", "MAILBOX", "UID"], [], HELP_COMMAND);
      const address = addressArgument(args[0] ?? "", HELP_COMMAND);
      const uidText = args[2] ?? "";
      const uid = /^[0-9]{1,15}$/.test(uidText) ? Number(uidText) : 0;
      if (uid < 1) throw usageError(`'${uidText}' is not a UID (a positive whole number)`, HELP_COMMAND);
      return withStore(values, io, async ({ store }) => {
        const { mailbox } = await openMailbox(store, address, args[1] ?? "");
        const message = await store.messages.getMessage(mailbox.id, uid);
        if (!message) {
          throw new CliError(
            `there is no message with UID ${uid} in ${mailbox.name} of ${address}; see 'mailroom mail list ${address} ${mailbox.name}'`,
          );
        }
        // The stdout stream stays open: it is the process's, not this command's, to end.
        await pipeline(store.blobs.readBlob(message.messageId), io.stdout, { end: false });
        return ExitCode.ok;
      });
    }
    case undefined:
      throw usageError("missing action (list or cat)", HELP_COMMAND);
    default:
      throw usageError(`unknown action '${action}'`, HELP_COMMAND);
  }
}

async function openMailbox(
  store: Store,
  address: string,
  name: string,
): Promise<{ user: User; mailbox: Mailbox }> {
  const user = await store.directory.getUser(address);
  if (!user) throw unknownUserError(address);
  const mailbox = await store.mailboxes.getMailbox(user.id, name);
  if (!mailbox) {
    const names = (await store.mailboxes.listMailboxes(user.id)).map((each) => each.name);
    throw new CliError(`${address} has no mailbox '${name}'; its mailboxes are: ${names.join(", ")}`);
  }
  return { user, mailbox };
}

async function describe(store: Store, message: MailboxMessage, io: CliIo): Promise<MessageListing> {
  const listing: MessageListing = {
    uid: message.uid,
    internalDate: message.internalDate.toISOString(),
    size: message.size,
    flags: message.flags,
    from: "",
    subject: "",
    date: null,
    messageId: message.messageId,
  };
  try {
    const summary = await summarizeHeaders(await readHeaderBlock(store.blobs.readBlob(message.messageId)));
    listing.from = summary.from;
    listing.subject = summary.subject;
    listing.date = summary.date ? summary.date.toISOString() : null;
  } catch (err) {
    // One unreadable body should not hide the rest of the mailbox.
    const reason = err instanceof Error ? err.message : String(err);
    io.stderr.write(`warning: cannot read the headers of UID ${message.uid}: ${reason}\n`);
  }
  return listing;
}

/** Control characters from a header could drive the terminal (escape sequences); show them inert. */
function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, "\uFFFD");
}

function truncate(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text : `${chars.slice(0, width - 1).join("")}\u2026`;
}

/** The internal date in the machine's time zone, to the minute: "2025-07-01 12:00". */
export function localDate(iso: string): string {
  const date = new Date(iso);
  const two = (n: number): string => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ${two(date.getHours())}:${two(date.getMinutes())}`;
}

const FROM_WIDTH = 32;

export function formatTable(listing: MessageListing[]): string {
  const rows = listing.map((entry) => ({
    uid: String(entry.uid),
    date: localDate(entry.internalDate),
    size: String(entry.size),
    from: truncate(printable(entry.from), FROM_WIDTH),
    subject: printable(entry.subject),
  }));
  const header = { uid: "UID", date: "DATE", size: "SIZE", from: "FROM", subject: "SUBJECT" };
  const uidWidth = Math.max(header.uid.length, ...rows.map((row) => row.uid.length));
  const sizeWidth = Math.max(header.size.length, ...rows.map((row) => row.size.length));
  const fromWidth = Math.max(header.from.length, ...rows.map((row) => [...row.from].length));
  const line = (row: typeof header): string =>
    `${row.uid.padStart(uidWidth)}  ${row.date.padEnd(16)}  ${row.size.padStart(sizeWidth)}  ${padChars(row.from, fromWidth)}  ${row.subject}`.trimEnd();
  return `${[header, ...rows].map(line).join("\n")}\n`;
}

function padChars(text: string, width: number): string {
  return text + " ".repeat(Math.max(0, width - [...text].length));
}

export const mailCommand: CliCommand = {
  name: "mail",
  help: HELP,
  run,
};
