// mbox, sans-IO: a reader fed chunks of a file of any size that hands back one message at a time, and
// the pure pieces of writing one. A message starts at each line beginning "From " (the From_ line,
// with the envelope sender and an asctime(3) date); lines of a message that begin like that are
// quoted with ">" when written. The two variants differ in how far the quoting goes:
//   mboxrd: "From " and ">From ", ">>From "… all get one more ">", and reading takes one away, so any
//           message survives a round trip;
//   mboxo:  only "From " is quoted, and reading unquotes only ">From ", so a message that had a line
//           ">From " comes back as "From " (the variant's known loss).
// Status:, X-Status: and X-Keywords: carry flags (see flags.ts); the reader takes them out of the
// message, the writer puts them in, as Dovecot and UW-IMAP do.

import { fieldValue, scanHeader } from "../mail/mime/header.js";
import { mboxFlags } from "./flags.js";

export type MboxVariant = "mboxrd" | "mboxo";

export const MBOX_VARIANTS: readonly MboxVariant[] = ["mboxrd", "mboxo"];

const LF = 0x0a;
const CR = 0x0d;
const FROM_ = Buffer.from("From ");

/**
 * A line longer than this is passed on in pieces: only its start decides whether it is a From_ line or
 * quoted, so a file with no line ends at all cannot make the reader hold more than this of it.
 */
const LINE_PIECE = 64 * 1024;

/** A From_ line is kept for its sender and date; nothing sensible is longer. */
const FROM_LINE_KEPT = 1000;

export interface MboxEntry {
  /** The From_ line without its line end. */
  fromLine: string;
  /** Line number of the From_ line (from 1), for reports. */
  line: number;
  /** The message as in the file, unquoted; null when it was larger than the reader's limit. */
  bytes: Buffer | null;
  /** Octets of the message in the file (with the separating empty line when it is too large). */
  size: number;
}

export class MboxFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MboxFormatError";
  }
}

export class MboxReader {
  private pending: Buffer[] = [];
  private pendingSize = 0;
  /** Inside a line whose start was already handled (a long line passed on in pieces). */
  private midLine = false;
  /** Inside the rest of an overlong From_ line, which is dropped: it is the separator. */
  private inFromLine = false;
  private lineNumber = 0;
  private current: {
    fromLine: string;
    line: number;
    parts: Buffer[];
    size: number;
    tooLarge: boolean;
  } | null = null;

  constructor(
    private readonly variant: MboxVariant,
    private readonly maxMessageSize: number,
  ) {}

  /** Feeds the next chunk; returns the messages it completed. */
  push(chunk: Buffer): MboxEntry[] {
    const done: MboxEntry[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      const lf = chunk.indexOf(LF, pos);
      if (lf < 0) {
        this.pending.push(chunk.subarray(pos));
        this.pendingSize += chunk.length - pos;
        if (this.pendingSize >= LINE_PIECE) this.line(this.takePending(), false, done);
        break;
      }
      const piece = chunk.subarray(pos, lf + 1);
      pos = lf + 1;
      if (this.pendingSize > 0) {
        this.pending.push(piece);
        this.pendingSize += piece.length;
        this.line(this.takePending(), true, done);
      } else {
        this.line(piece, true, done);
      }
    }
    return done;
  }

  /** The end of the file: returns the last message. */
  end(): MboxEntry[] {
    const done: MboxEntry[] = [];
    if (this.pendingSize > 0) this.line(this.takePending(), true, done);
    if (this.current) done.push(this.finish(this.current));
    this.current = null;
    return done;
  }

  private takePending(): Buffer {
    const joined = Buffer.concat(this.pending, this.pendingSize);
    this.pending = [];
    this.pendingSize = 0;
    return joined;
  }

  /** One line, or a piece of one (`complete` false: its end is still to come). */
  private line(piece: Buffer, complete: boolean, done: MboxEntry[]): void {
    const startsLine = !this.midLine;
    this.midLine = !complete;
    if (startsLine) this.lineNumber++;
    if (!startsLine && this.inFromLine) {
      this.inFromLine = !complete;
      return;
    }
    if (startsLine && startsWith(piece, FROM_)) {
      if (this.current) done.push(this.finish(this.current));
      const text = piece.toString("latin1", 0, Math.min(piece.length, FROM_LINE_KEPT));
      this.current = {
        fromLine: text.replace(/\r?\n$/, ""),
        line: this.lineNumber,
        parts: [],
        size: 0,
        tooLarge: false,
      };
      this.inFromLine = !complete;
      return;
    }
    const current = this.current;
    if (current === null) {
      if (startsLine && isBlankLine(piece)) return;
      if (!startsLine) return;
      throw new MboxFormatError(
        `line ${this.lineNumber} is not a "From " line, so this is not an mbox file (each message starts with one)`,
      );
    }
    const unquoted = startsLine ? this.unquote(piece) : piece;
    current.size += unquoted.length;
    if (current.size > this.maxMessageSize) {
      current.tooLarge = true;
      current.parts = [];
    }
    if (!current.tooLarge) current.parts.push(Buffer.from(unquoted));
  }

  private unquote(line: Buffer): Buffer {
    let arrows = 0;
    while (line[arrows] === 0x3e) arrows++;
    if (arrows === 0 || !startsWith(line.subarray(arrows), FROM_)) return line;
    if (this.variant === "mboxo" && arrows !== 1) return line;
    return line.subarray(1);
  }

  private finish(current: NonNullable<MboxReader["current"]>): MboxEntry {
    let bytes: Buffer | null = current.tooLarge ? null : Buffer.concat(current.parts);
    let size = current.size;
    // The empty line before the next From_ (or at the end) separates; it is no part of the message.
    const separator = bytes === null ? 0 : trailingBlankLine(bytes);
    if (bytes !== null && separator > 0) bytes = bytes.subarray(0, bytes.length - separator);
    size -= separator;
    return { fromLine: current.fromLine, line: current.line, bytes, size };
  }
}

function startsWith(bytes: Buffer, prefix: Buffer): boolean {
  return bytes.length >= prefix.length && bytes.subarray(0, prefix.length).equals(prefix);
}

function isBlankLine(line: Buffer): boolean {
  return (line.length === 1 && line[0] === LF) || (line.length === 2 && line[0] === CR && line[1] === LF);
}

/** Octets of the empty line ending `bytes` (after another line end, or all of it), else 0. */
function trailingBlankLine(bytes: Buffer): number {
  const n = bytes.length;
  if (n >= 1 && bytes[n - 1] === LF) {
    if (n === 1 || bytes[n - 2] === LF) return 1;
    if (bytes[n - 2] === CR && (n === 2 || bytes[n - 3] === LF)) return 2;
  }
  return 0;
}

/** A message's lines quoted for the file: each line the variant quotes gets one more ">". */
export function quoteMbox(message: Buffer, variant: MboxVariant): Buffer {
  const out: Buffer[] = [];
  const arrow = Buffer.from(">");
  let start = 0;
  let pos = 0;
  while (pos < message.length) {
    let arrows = 0;
    while (message[pos + arrows] === 0x3e) arrows++;
    if (startsWith(message.subarray(pos + arrows), FROM_) && (variant === "mboxrd" || arrows === 0)) {
      out.push(message.subarray(start, pos), arrow);
      start = pos;
    }
    const lf = message.indexOf(LF, pos);
    if (lf < 0) break;
    pos = lf + 1;
  }
  out.push(message.subarray(start));
  return Buffer.concat(out);
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/** "From sender Thu Dec  4 06:12:15 2026": the date in UTC, asctime(3) style. */
export function formatFromLine(sender: string, date: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  const time = `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())}`;
  const day = String(date.getUTCDate()).padStart(2, " ");
  const safeSender = /^[^\s\x00-\x1f\x7f]+$/.test(sender) ? sender : "MAILER-DAEMON";
  return `From ${safeSender} ${DAYS[date.getUTCDay()]} ${MONTHS[date.getUTCMonth()]} ${day} ${time} ${date.getUTCFullYear()}`;
}

/**
 * The date of a From_ line, or null. asctime form, with the variations found in the wild: a zone name
 * or numeric offset after the time or after the year, seconds left out. Without an offset it is UTC
 * (the local time of a machine long gone cannot be known).
 */
export function parseFromLineDate(fromLine: string): Date | null {
  const match =
    /\b([A-Z][a-z]{2}) +([A-Z][a-z]{2}) +([0-9]{1,2}) +([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?(?: +([A-Z]{1,5}|[+-][0-9]{4}))? +([0-9]{4})(?: +([+-][0-9]{4}))?\s*$/.exec(
      fromLine,
    );
  if (!match) return null;
  const month = MONTHS.indexOf(match[2] ?? "");
  if (month < 0 || !DAYS.includes(match[1] ?? "")) return null;
  const offset = [match[7], match[9]].find((each) => each !== undefined && /^[+-]/.test(each));
  let minutes = 0;
  if (offset !== undefined) {
    minutes = (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(3, 5))) * (offset[0] === "-" ? -1 : 1);
  }
  const utc = Date.UTC(
    Number(match[8]),
    month,
    Number(match[3]),
    Number(match[4]),
    Number(match[5]),
    Number(match[6] ?? 0),
  );
  const date = new Date(utc - minutes * 60_000);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** The fields an mbox keeps its own data in (flags, UW-IMAP/Dovecot UIDs): not part of a message. */
const METADATA_FIELDS = new Set(["status", "x-status", "x-keywords", "x-uid", "x-imap", "x-imapbase"]);

export interface MboxMessageParts {
  /** The message without the metadata fields. */
  message: Buffer;
  flags: string[];
  /** UW-IMAP's first "FOLDER INTERNAL DATA" message, which holds the folder's UIDs and no mail. */
  folderData: boolean;
}

/** Takes the metadata fields out of an mbox message and reads its flags from them. */
export function splitMboxMetadata(message: Buffer): MboxMessageParts {
  const { fields } = scanHeader(message, 0, message.length);
  const values: Record<string, string> = {};
  const kept: Buffer[] = [];
  let pos = 0;
  for (const field of fields) {
    if (!METADATA_FIELDS.has(field.key)) continue;
    const value = fieldValue(message, field);
    values[field.key] = values[field.key] === undefined ? value : `${values[field.key]} ${value}`;
    kept.push(message.subarray(pos, field.start));
    pos = field.end;
  }
  kept.push(message.subarray(pos));
  const flags = mboxFlags({
    ...(values.status !== undefined ? { status: values.status } : {}),
    ...(values["x-status"] !== undefined ? { xStatus: values["x-status"] } : {}),
    ...(values["x-keywords"] !== undefined ? { xKeywords: values["x-keywords"] } : {}),
  });
  return { message: Buffer.concat(kept), flags, folderData: values["x-imap"] !== undefined };
}

/** The metadata fields to put at the top of a message, as LF lines. */
export function mboxMetadata(fields: { status: string; xStatus?: string; xKeywords?: string }): Buffer {
  let text = `Status: ${fields.status}\n`;
  if (fields.xStatus !== undefined) text += `X-Status: ${fields.xStatus}\n`;
  if (fields.xKeywords !== undefined) text += `X-Keywords: ${fields.xKeywords}\n`;
  return Buffer.from(text);
}
