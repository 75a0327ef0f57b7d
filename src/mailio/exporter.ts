// The export engine: one user's mailboxes to a Maildir (cur/ files with their flags in the name,
// dovecot-keywords per folder, the INTERNALDATE as mtime) or to mbox files (From_ line with the
// INTERNALDATE, flags in Status:/X-Status:/X-Keywords:). What `mailroom import` reads back is the same
// bytes and flags: the line-end rule of line-ends.ts and the metadata the import removes again.

import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdir, rename, utimes, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fieldValue, findField, scanHeader } from "../mail/mime/header.js";
import type { Mailbox, MailboxMessage, Store } from "../store/types.js";
import { formatDovecotKeywords, MAILDIR_KEYWORD_SLOTS, maildirInfo, mboxFields } from "./flags.js";
import { toFileLineEnds } from "./line-ends.js";
import { folderPath, KEYWORDS_FILE, type MaildirLayout, MaildirNames } from "./maildir.js";
import { formatFromLine, type MboxVariant, mboxMetadata, quoteMbox } from "./mbox.js";

export type ExportFormat =
  | { kind: "maildir"; layout: MaildirLayout }
  | { kind: "mbox"; variant: MboxVariant };

export interface ExportSummary {
  messages: number;
  bytes: number;
  mailboxes: number;
  /** Mailboxes or flags the format could not hold, and why. */
  skipped: Array<{ what: string; reason: string }>;
}

export function emptyExportSummary(): ExportSummary {
  return { messages: 0, bytes: 0, mailboxes: 0, skipped: [] };
}

export interface ExportOptions {
  format: ExportFormat;
  /** Only these mailboxes (names as the store has them); all when absent. */
  mailboxes?: readonly Mailbox[];
  onMessage?: (summary: ExportSummary) => void;
}

/**
 * Writes the user's mailboxes below `target`: the Maildir root, or for mbox a directory with one file
 * per mailbox (or, for a single mailbox asked for by name, that file itself when `mboxFile` is set).
 */
export async function exportUser(
  store: Store,
  userId: number,
  target: string,
  options: ExportOptions & { mboxFile?: boolean },
  summary: ExportSummary = emptyExportSummary(),
): Promise<ExportSummary> {
  const mailboxes = options.mailboxes ?? (await store.mailboxes.listMailboxes(userId));
  const names = new MaildirNames();
  for (const mailbox of mailboxes) {
    const messages = await store.messages.listMessages(mailbox.id);
    if (options.format.kind === "maildir") {
      const dir = folderPath(target, mailbox.name, options.format.layout);
      if (dir === null) {
        summary.skipped.push({
          what: `mailbox "${mailbox.name}"`,
          reason: `the ${options.format.layout} layout cannot name it (a level with "." needs --layout fs)`,
        });
        continue;
      }
      await writeMaildirFolder(
        store,
        dir,
        dir !== target && options.format.layout === "maildir++",
        messages,
        names,
        summary,
        options,
      );
    } else {
      const file = options.mboxFile ? target : join(target, mboxFileName(mailbox.name));
      await writeMboxFile(store, file, messages, options.format.variant, summary, options);
    }
    summary.mailboxes++;
  }
  return summary;
}

/** "Work/2024" → "Work.sbd/2024", the layout Thunderbird reads and `mailroom import` maps back. */
export function mboxFileName(name: string): string {
  const segments = name.split("/");
  return segments.map((segment, i) => (i < segments.length - 1 ? `${segment}.sbd` : segment)).join("/");
}

async function writeMaildirFolder(
  store: Store,
  dir: string,
  subfolder: boolean,
  messages: MailboxMessage[],
  names: MaildirNames,
  summary: ExportSummary,
  options: ExportOptions,
): Promise<void> {
  for (const sub of ["cur", "new", "tmp"]) await mkdir(join(dir, sub), { recursive: true });
  // Maildir++: a folder says it is one (Courier and Dovecot write this empty file).
  if (subfolder) await writeFile(join(dir, "maildirfolder"), "");
  const keywords: string[] = [];
  const dropped = new Set<string>();
  const letterOf = (keyword: string): string | null => {
    let slot = keywords.findIndex((each) => each.toLowerCase() === keyword.toLowerCase());
    if (slot < 0) {
      if (keywords.length >= MAILDIR_KEYWORD_SLOTS) {
        dropped.add(keyword);
        return null;
      }
      slot = keywords.push(keyword) - 1;
    }
    return String.fromCharCode(0x61 + slot);
  };
  for (const message of messages) {
    const file = toFileLineEnds(await store.blobs.readBlobBytes(message.messageId));
    const name = names.next(message.internalDate, file.length, message.size);
    const info = maildirInfo(message.flags, letterOf);
    // The Maildir delivery rule: written under tmp/, moved into place whole.
    const temporary = join(dir, "tmp", name);
    await writeFile(temporary, file, { flag: "wx" });
    await utimes(temporary, message.internalDate, message.internalDate);
    await rename(temporary, join(dir, "cur", `${name}${info}`));
    summary.messages++;
    summary.bytes += message.size;
    options.onMessage?.(summary);
  }
  if (keywords.length > 0) await writeFile(join(dir, KEYWORDS_FILE), formatDovecotKeywords(keywords));
  if (dropped.size > 0) {
    summary.skipped.push({
      what: `keywords ${[...dropped].join(" ")} in ${dir}`,
      reason: `a Maildir folder holds at most ${MAILDIR_KEYWORD_SLOTS} keywords (dovecot-keywords letters a–z)`,
    });
  }
}

async function writeMboxFile(
  store: Store,
  file: string,
  messages: MailboxMessage[],
  variant: MboxVariant,
  summary: ExportSummary,
  options: ExportOptions,
): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const out = createWriteStream(file, { flags: "wx" });
  const failed = once(out, "error").then(([error]) => {
    throw error;
  });
  failed.catch(() => undefined);
  const write = async (chunk: Buffer): Promise<void> => {
    if (!out.write(chunk)) await Promise.race([once(out, "drain"), failed]);
  };
  for (const message of messages) {
    const stored = await store.blobs.readBlobBytes(message.messageId);
    const body = quoteMbox(
      Buffer.concat([mboxMetadata(mboxFields(message.flags)), toFileLineEnds(stored)]),
      variant,
    );
    await write(Buffer.from(`${formatFromLine(envelopeSender(stored), message.internalDate)}\n`));
    await write(body);
    // The empty line that separates messages; a message not ending in a line end gets one first
    // (the one change an mbox cannot avoid).
    await write(Buffer.from(body[body.length - 1] === 0x0a ? "\n" : "\n\n"));
    summary.messages++;
    summary.bytes += message.size;
    options.onMessage?.(summary);
  }
  out.end();
  await Promise.race([once(out, "close"), failed]);
}

/** The From_ line's sender: the Return-Path the message was delivered with, else MAILER-DAEMON. */
function envelopeSender(message: Buffer): string {
  const { fields } = scanHeader(message, 0, Math.min(message.length, 256 * 1024));
  const field = findField(fields, "return-path");
  const path = field ? /<([^<>\s]*)>/.exec(fieldValue(message, field))?.[1] : undefined;
  return path ? path : "MAILER-DAEMON";
}
