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
