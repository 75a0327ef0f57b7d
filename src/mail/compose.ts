// Building messages to send: a MIME message from parts (`mailroom send`), and the headers a message
// read from a program must have before it is submitted (`mailroom sendmail`).

import { randomUUID } from "node:crypto";
import MailComposer from "nodemailer/lib/mail-composer";
import { splitAddress } from "../delivery/route.js";
import { addressOf, formatMailbox } from "./address-list.js";

export interface ComposeInput {
  /** "alice@example.org" or "Alice <alice@example.org>"; UTF-8 names are encoded (RFC 2047). */
  from: string;
  to: string[];
  cc: string[];
  subject?: string;
  text: string;
  /** Files attached as base64, content type from the file name. */
  attachments: string[];
  date?: Date;
}

/** A complete RFC 5322 message with CRLF line ends, Date and Message-ID set. */
export async function composeMessage(input: ComposeInput): Promise<Buffer> {
  const composer = new MailComposer({
    from: input.from,
    to: input.to,
    cc: input.cc.length > 0 ? input.cc : undefined,
    subject: input.subject,
    text: input.text,
    date: input.date ?? new Date(),
    messageId: newMessageId(addressOf(input.from)),
    attachments: input.attachments.map((path) => ({ path })),
  });
  // The text part keeps the line ends it was given; SMTP needs CRLF everywhere (RFC 5321 §2.3.8).
  return toCrlf(await composer.compile().build());
}

/** RFC 5322 §3.6.4: <unique@domain>; the domain is the sender's so the id says where it came from. */
export function newMessageId(sender: string): string {
  return `<${randomUUID()}@${splitAddress(sender)?.domain ?? "localhost"}>`;
}

/** LF and lone CR line ends become CRLF (RFC 5322 §2.3); existing CRLFs stay as they are. */
export function toCrlf(message: Buffer): Buffer {
  return Buffer.from(message.toString("latin1").replace(/\r\n|\r|\n/g, "\r\n"), "latin1");
}

/** The header block (with its ending blank line) and the body, split at the first empty line. */
export function splitMessage(message: Buffer): { header: string; body: Buffer } {
  const text = message.toString("latin1");
  if (text.startsWith("\r\n")) return { header: "", body: message.subarray(2) };
  const end = text.indexOf("\r\n\r\n");
  if (end === -1) return { header: text.endsWith("\r\n") ? text : `${text}\r\n`, body: Buffer.alloc(0) };
  return { header: text.slice(0, end + 2), body: message.subarray(end + 4) };
}

/** Header fields as [name, unfolded value] pairs, in order. */
export function headerFields(header: string): Array<[string, string]> {
  const fields: Array<[string, string]> = [];
  for (const line of header.split("\r\n")) {
    if (line === "") continue;
    const last = fields[fields.length - 1];
    if (/^[ \t]/.test(line) && last) {
      last[1] += ` ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(":");
    if (colon > 0) fields.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return fields;
}

/** The header block minus every field called `name` (case-insensitive), folded lines included. */
export function removeHeader(header: string, name: string): string {
  const kept: string[] = [];
  let dropping = false;
  for (const line of header.split("\r\n")) {
    if (/^[ \t]/.test(line) && line !== "") {
      if (!dropping) kept.push(line);
      continue;
    }
    const colon = line.indexOf(":");
    dropping = colon > 0 && line.slice(0, colon).trim().toLowerCase() === name.toLowerCase();
    if (!dropping) kept.push(line);
  }
  return kept.join("\r\n");
}

export interface CompleteOptions {
  /** The envelope sender, used for From and the Message-ID's domain. */
  sender: string;
  /** Display name for a From header that is added (sendmail -F). */
  fullName?: string;
  now?: Date;
}

/**
 * Adds the fields RFC 5322 §3.6 requires when a program left them out: From (the sender), Date and
 * Message-ID (RFC 5322 §3.6.4 says SHOULD; submission servers add it otherwise, RFC 6409 §8.3).
 */
export function completeHeaders(message: Buffer, options: CompleteOptions): Buffer {
  const { header, body } = splitMessage(message);
  const present = new Set(headerFields(header).map(([name]) => name.toLowerCase()));
  const added: string[] = [];
  if (!present.has("from")) added.push(`From: ${formatMailbox(options.fullName ?? null, options.sender)}`);
  if (!present.has("date")) added.push(`Date: ${rfc5322Date(options.now ?? new Date())}`);
  if (!present.has("message-id")) added.push(`Message-ID: ${newMessageId(options.sender)}`);
  const fields = added.map((line) => `${line}\r\n`).join("");
  return Buffer.concat([Buffer.from(`${header}${fields}\r\n`, "latin1"), body]);
}

/** RFC 5322 §3.3 date-time in UTC, e.g. "Tue, 24 Nov 2026 17:54:44 +0000". */
export function rfc5322Date(date: Date): string {
  return date.toUTCString().replace(/GMT$/, "+0000");
}
