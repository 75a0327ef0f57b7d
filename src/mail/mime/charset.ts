/** Charset decoding with Node's TextDecoder (WHATWG encodings), never failing. */
import { TextDecoder } from "node:util";
import { bytesToText } from "./header.js";

const decoders = new Map<string, { lenient: TextDecoder; fatal: TextDecoder } | null>();

function decodersFor(label: string): { lenient: TextDecoder; fatal: TextDecoder } | null {
  let found = decoders.get(label);
  if (found === undefined) {
    try {
      found = { lenient: new TextDecoder(label), fatal: new TextDecoder(label, { fatal: true }) };
    } catch {
      found = null;
    }
    // The label set is small and fixed (WHATWG), but guard the cache against hostile input anyway.
    if (decoders.size < 256) decoders.set(label, found);
  }
  return found;
}

export interface DecodedText {
  text: string;
  /** The charset is unknown, or the bytes are not valid in it (RFC 8621 §4.1.4 isEncodingProblem). */
  problem: boolean;
}

function hasHighBytes(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b >= 0x80) return true;
  return false;
}

// Node 20's TextDecoder reads windows-1252 (the WHATWG encoding of the "iso-8859-1" and "latin1" labels
// too) as ISO-8859-1, so 0x80-0x9F come out as C1 controls; the WHATWG index maps them to these.
const WINDOWS_1252_80_9F =
  "\u20ac\x81\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\x8d\u017d\x8f" +
  "\x90\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\x9d\u017e\u0178";

function decodeWindows1252(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    .toString("latin1")
    .replace(/[\x80-\x9f]/g, (c) => WINDOWS_1252_80_9F[c.charCodeAt(0) - 0x80] ?? c);
}

/**
 * Decodes `bytes` in `charset` and says whether that needed a guess. An unknown or empty charset falls
 * back to UTF-8-or-Latin-1, so text in a mislabelled part is still readable and searchable; bytes that
 * are invalid in a known charset become U+FFFD.
 */
export function decodeCharsetChecked(bytes: Uint8Array, charset: string): DecodedText {
  const label = charset.trim().toLowerCase();
  if (label === "" || label === "us-ascii" || label === "ascii" || label === "unknown-8bit") {
    return { text: bytesToText(bytes), problem: hasHighBytes(bytes) };
  }
  const decoder = decodersFor(label);
  if (decoder === null) return { text: bytesToText(bytes), problem: true };
  // Every byte has a meaning in windows-1252 (WHATWG maps the five unassigned ones to C1 controls).
  if (decoder.fatal.encoding === "windows-1252") return { text: decodeWindows1252(bytes), problem: false };
  try {
    return { text: decoder.fatal.decode(bytes), problem: false };
  } catch {
    return { text: decoder.lenient.decode(bytes), problem: true };
  }
}

/** Decodes `bytes` in `charset`, never failing (see decodeCharsetChecked). */
export function decodeCharset(bytes: Uint8Array, charset: string): string {
  return decodeCharsetChecked(bytes, charset).text;
}
