// Where imported messages come from: each source is an async sequence of messages read one at a time,
// so neither a large Maildir nor a multi-gigabyte mbox is ever held in memory (one message is).

import { createReadStream } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { dateTime } from "../mail/date-time.js";
import { fieldValue, findField, scanHeader } from "../mail/mime/header.js";
import { maildirNameFlags } from "./flags.js";
import { listMaildirFiles, listMaildirFolders, readFolderKeywords } from "./maildir.js";
import { MboxReader, type MboxVariant, parseFromLineDate, splitMboxMetadata } from "./mbox.js";

export interface SourceMessage {
  /** Target mailbox name ("/"-separated). */
  mailbox: string;
  /** Where it came from, for reports: a file, or an mbox file and line. */
  origin: string;
  /** The message as in the file (line ends not yet converted); null when over the size limit. */
  bytes: Buffer | null;
  size: number;
  flags: string[];
  internalDate: Date;
  /** What was noticed and worked around (an unknown flag letter, a date taken from elsewhere). */
  notes: string[];
}

export interface MessageSource {
  /** The file or directory, for reports. */
  label: string;
  messages(): AsyncIterable<SourceMessage>;
}

/** Every message of a Maildir and its folders. */
export function maildirSource(root: string, maxMessageSize: number): MessageSource {
  return {
    label: root,
    async *messages() {
      for (const folder of await listMaildirFolders(root)) {
        const keywords = await readFolderKeywords(folder.path);
        for (const file of await listMaildirFiles(folder.path)) {
          const origin = join(folder.path, file.relative);
          const { flags, unknown } = maildirNameFlags(file.fileName, keywords);
          const notes =
            unknown.length > 0 ? [`flag letters ${unknown.join("")} mean nothing here; dropped`] : [];
          const tooLarge = file.size > maxMessageSize;
          yield {
            mailbox: folder.name,
            origin,
            bytes: tooLarge ? null : await readFile(file.path),
            size: file.size,
            flags,
            internalDate: file.mtime,
            notes,
          };
        }
      }
    },
  };
}

/** The messages of one mbox file, into one mailbox. */
export function mboxSource(
  path: string,
  mailbox: string,
  variant: MboxVariant,
  maxMessageSize: number,
): MessageSource {
  return {
    label: path,
    async *messages() {
      const reader = new MboxReader(variant, maxMessageSize);
      const stream = createReadStream(path, { highWaterMark: 1024 * 1024 });
      const entries = async function* () {
        for await (const chunk of stream) yield* reader.push(chunk as Buffer);
        yield* reader.end();
      };
      for await (const entry of entries()) {
        const origin = `${path}, line ${entry.line}`;
        const notes: string[] = [];
        if (entry.bytes === null) {
          yield {
            mailbox,
            origin,
            bytes: null,
            size: entry.size,
            flags: [],
            internalDate: new Date(),
            notes,
          };
          continue;
        }
        const parts = splitMboxMetadata(entry.bytes);
        if (parts.folderData) continue;
        let internalDate = parseFromLineDate(entry.fromLine);
        if (internalDate === null) {
          internalDate = headerDate(parts.message) ?? new Date();
          notes.push(
            `the From_ line has no date I can read ("${entry.fromLine.slice(0, 80)}"); used ${internalDate.toISOString()}`,
          );
        }
        yield {
          mailbox,
          origin,
          bytes: parts.message,
          size: parts.message.length,
          flags: parts.flags,
          internalDate,
          notes,
        };
      }
    },
  };
}

function headerDate(message: Buffer): Date | null {
  const { fields } = scanHeader(message, 0, message.length);
  const field = findField(fields, "date");
  const text = field ? dateTime(fieldValue(message, field)) : null;
  return text === null ? null : new Date(text);
}

/**
 * The mbox files of a directory and the mailboxes they go to: "Work" → Work, and the folders below
 * "Work.sbd/" (Thunderbird) or "Work/" (mutt, Pine) → Work/…; "Inbox" in any case is INBOX. Hidden
 * files and Thunderbird's .msf indexes are no mail.
 */
export async function listMboxFiles(
  dir: string,
  prefix: string[] = [],
): Promise<Array<{ path: string; mailbox: string }>> {
  const out: Array<{ path: string; mailbox: string }> = [];
  const entries = await readdir(dir, { withFileTypes: true });
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith(".") || entry.name.endsWith(".msf")) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const name = entry.name.endsWith(".sbd") ? entry.name.slice(0, -4) : entry.name;
      out.push(...(await listMboxFiles(path, [...prefix, name])));
    } else if (entry.isFile()) {
      const names = [...prefix, entry.name];
      const mailbox = names.length === 1 && entry.name.toUpperCase() === "INBOX" ? "INBOX" : names.join("/");
      out.push({ path, mailbox });
    }
  }
  return out;
}

/** Whether the path exists and is a directory (false for a file; throws ENOENT when missing). */
export async function isDirectoryPath(path: string): Promise<boolean> {
  return (await stat(path)).isDirectory();
}
