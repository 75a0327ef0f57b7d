// Reading just enough of a stored message to describe it: the header block, with From and Subject
// decoded from RFC 2047 encoded words.

import type { Readable } from "node:stream";
import { mailboxAddress, parseAddressList } from "./address-list.js";
import { decodeEncodedWords } from "./mime/encoded-words.js";
import { fieldValue, findField, scanHeader } from "./mime/header.js";

/** Header blocks longer than this are cut: a listing needs a few fields, not a hostile 1 GB header. */
export const MAX_HEADER_BLOCK = 64 * 1024;

export interface HeaderSummary {
  /** "Name <address>", the bare address, or "" when there is no From. */
  from: string;
  subject: string;
  /** The Date header, when present and parseable. */
  date: Date | null;
}

/**
 * Reads a message stream up to and including the empty line that ends its header block (RFC 5322
 * §2.1), at most `limit` bytes, and stops reading there.
 */
export async function readHeaderBlock(stream: Readable, limit = MAX_HEADER_BLOCK): Promise<Buffer> {
  let sofar = Buffer.alloc(0);
  try {
    for await (const chunk of stream) {
      sofar = Buffer.concat([sofar, Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string)]);
      const end = headerEnd(sofar);
      if (end !== -1) return sofar.subarray(0, Math.min(end, limit));
      if (sofar.length >= limit) return sofar.subarray(0, limit);
    }
    return sofar;
  } finally {
    stream.destroy();
  }
}

/** Index just past the blank line ending the header block, or -1. Bare LF is tolerated. */
function headerEnd(bytes: Buffer): number {
  if (bytes[0] === 0x0a) return 1;
  if (bytes[0] === 0x0d && bytes[1] === 0x0a) return 2;
  const crlf = bytes.indexOf("\r\n\r\n");
  const lf = bytes.indexOf("\n\n");
  if (crlf === -1) return lf === -1 ? -1 : lf + 2;
  if (lf === -1 || crlf < lf) return crlf + 4;
  return lf + 2;
}

export function summarizeHeaders(block: Buffer): HeaderSummary {
  const { fields } = scanHeader(block, 0, block.length);
  const value = (key: string): string => {
    const field = findField(fields, key);
    return field === undefined ? "" : fieldValue(block, field);
  };
  const date = new Date(value("date"));
  return {
    from: describeFrom(value("from")),
    subject: decodeEncodedWords(value("subject")),
    date: Number.isNaN(date.getTime()) ? null : date,
  };
}

/** The first entry of a From value: its decoded name and address, or a group's name. */
function describeFrom(value: string): string {
  const first = parseAddressList(value)[0];
  if (first === undefined) return "";
  if ("group" in first) return decodeEncodedWords(first.group);
  const name = first.name === null ? "" : decodeEncodedWords(first.name);
  const address = mailboxAddress(first);
  return name && address ? `${name} <${address}>` : name || address;
}

/**
 * The chunks of `source` without its first `octets` octets (the trace fields this server wrote before a
 * message). Throws when the source is shorter than that.
 */
export async function* skipOctets(source: Readable, octets: number): AsyncGenerator<Buffer> {
  let left = octets;
  for await (const data of source) {
    let chunk = data as Buffer;
    if (left > 0) {
      const dropped = Math.min(left, chunk.length);
      left -= dropped;
      chunk = chunk.subarray(dropped);
    }
    if (chunk.length > 0) yield chunk;
  }
  if (left > 0) throw new Error(`message body is shorter than its ${octets} octets of trace fields`);
}
