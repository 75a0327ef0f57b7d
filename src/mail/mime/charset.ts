/** Charset decoding with Node's TextDecoder (WHATWG encodings), never failing. */
import { TextDecoder } from "node:util";
import { bytesToText } from "./header.js";

const decoders = new Map<string, TextDecoder | null>();

function decoderFor(charset: string): TextDecoder | null {
  const label = charset.trim().toLowerCase();
  let decoder = decoders.get(label);
  if (decoder === undefined) {
    try {
      decoder = new TextDecoder(label);
    } catch {
      decoder = null;
    }
    // The label set is small and fixed (WHATWG), but guard the cache against hostile input anyway.
    if (decoders.size < 256) decoders.set(label, decoder);
  }
  return decoder;
}

/**
 * Decodes `bytes` in `charset`. An unknown or empty charset falls back to UTF-8-or-Latin-1, so text in a
 * mislabelled part is still searchable.
 */
export function decodeCharset(bytes: Uint8Array, charset: string): string {
  const label = charset.trim().toLowerCase();
  if (label === "" || label === "us-ascii" || label === "ascii" || label === "unknown-8bit") {
    return bytesToText(bytes);
  }
  const decoder = decoderFor(label);
  return decoder === null ? bytesToText(bytes) : decoder.decode(bytes);
}
