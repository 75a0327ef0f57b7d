/**
 * METADATA (RFC 5464): GETMETADATA and SETMETADATA over the store's `metadata` part. Mailbox "" is the
 * server. Nothing here is shared between users, so a mailbox's /shared entries are as private as its
 * /private ones; the server's /shared entries would be seen by every user and are the administrator's,
 * so SETMETADATA refuses them.
 */

import { StoreError } from "../../store/types.js";
import type { MetadataQuery } from "../protocol/command.js";
import { encodeValue, type ImapValue } from "../protocol/value.js";
import { CommandFailure, decodeName, encodeName, type ImapContext, requireMailbox } from "./context.js";

const NUL = 0x00;
const CRLF = Buffer.from("\r\n");

/** A GETMETADATA value: NUL can travel only in a literal8 (RFC 5464 §5 value = nstring / literal8). */
function encodeEntryValue(value: Buffer | null): Buffer {
  if (value?.includes(NUL)) {
    return Buffer.concat([Buffer.from(`~{${value.length}}\r\n`), value]);
  }
  // Printable ASCII may go quoted (encodeValue still picks a literal when quoting cannot carry it).
  if (value !== null && /^[\x20-\x7e]*$/.test(value.toString("latin1")))
    return encodeValue(value.toString("latin1"));
  return encodeValue(value);
}

/** Entry names go out as atoms where they can (they are astrings, RFC 5464 §5), else quoted. */
function encodeEntry(entry: string): ImapValue {
  return /^[A-Za-z0-9/._\-+:@!#$&'=?^`|~]+$/.test(entry) ? { atom: entry } : entry;
}

async function target(context: ImapContext, raw: string): Promise<{ id: number | null; name: ImapValue }> {
  if (raw === "") return { id: null, name: "" };
  const mailbox = await requireMailbox(context, decodeName(context, raw));
  return { id: mailbox.id, name: encodeName(context, mailbox.name) };
}

/**
 * The METADATA response (RFC 5464 §4.4.1) giving `query`'s entries of mailbox `id` (null: the server) as
 * `name`, and the length of the longest value MAXSIZE left out (0 when none was).
 */
export async function metadataResponse(
  context: ImapContext,
  id: number | null,
  name: ImapValue,
  query: MetadataQuery,
): Promise<{ response: Buffer | null; longest: number }> {
  const found = await context.store.metadata.getMetadata(context.userId, id, query.entries, query.depth);
  const values = new Map<string, Buffer | null>(query.entries.map((entry) => [entry, null]));
  let longest = 0;
  for (const { entry, value } of found) {
    // §4.2.1: a value over MAXSIZE is left out, and the tagged OK says how long the longest was.
    if (query.maxSize !== null && value.length > query.maxSize) {
      longest = Math.max(longest, value.length);
      values.delete(entry);
    } else values.set(entry, value);
  }
  const parts: Buffer[] = [Buffer.from("* METADATA "), encodeValue(name), Buffer.from(" (")];
  let first = true;
  for (const [entry, value] of [...values].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!first) parts.push(Buffer.from(" "));
    first = false;
    parts.push(encodeValue(encodeEntry(entry)), Buffer.from(" "), encodeEntryValue(value));
  }
  parts.push(Buffer.from(")"), CRLF);
  return { response: values.size > 0 ? Buffer.concat(parts) : null, longest };
}

/** The tagged OK's code after values were left out for MAXSIZE (RFC 5464 §4.2.1), `longest` the longest. */
export function longEntriesCode(longest: number): string | null {
  return longest > 0 ? `METADATA LONGENTRIES ${longest}` : null;
}

export async function getMetadata(
  context: ImapContext,
  command: { mailbox: string } & MetadataQuery,
): Promise<{ output: Buffer[]; code: string | null }> {
  const { id, name } = await target(context, command.mailbox);
  const { response, longest } = await metadataResponse(context, id, name, command);
  return { output: response === null ? [] : [response], code: longEntriesCode(longest) };
}

export async function setMetadata(
  context: ImapContext,
  command: { mailbox: string; changes: Array<{ entry: string; value: Buffer | null }> },
): Promise<void> {
  const { id } = await target(context, command.mailbox);
  const { maxSize, maxEntries } = context.metadataLimits;
  for (const { entry, value } of command.changes) {
    if (entry === "/private" || entry === "/shared") {
      throw new CommandFailure(
        null,
        `${entry} is the root of its entries and holds no value; name one below it`,
      );
    }
    if (id === null && entry.startsWith("/shared/")) {
      throw new CommandFailure(
        "NOPERM",
        "the server's /shared entries are the administrator's; use /private ones",
      );
    }
    if (value !== null && value.length > maxSize) {
      throw new CommandFailure(
        `METADATA MAXSIZE ${maxSize}`,
        `${entry}: a value may have at most ${maxSize} octets`,
      );
    }
  }
  try {
    await context.store.metadata.setMetadata(context.userId, id, command.changes, maxEntries);
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    if (error.code === "full") {
      throw new CommandFailure(
        "METADATA TOOMANY",
        `at most ${maxEntries} entries in all; remove some (set them to NIL) first`,
      );
    }
    if (error.code === "not-found") {
      throw new CommandFailure("NONEXISTENT", `mailbox "${command.mailbox}" no longer exists`);
    }
    throw error;
  }
}
