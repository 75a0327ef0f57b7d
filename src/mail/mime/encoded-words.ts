/** RFC 2047 encoded-word decoding for header text (used by SEARCH, never for ENVELOPE output). */
import { decodeCharset } from "./charset.js";
import { decodeBase64 } from "./transfer-encoding.js";

// RFC 2047 §2 (with the RFC 2231 §5 "*language" suffix on the charset).
const ENCODED_WORD = /=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)\?=/g;

function decodeQ(text: string): Buffer {
  // RFC 2047 §4.2: "_" is always 0x20; "=XX" is an octet.
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "_") bytes.push(0x20);
    else if (c === "=" && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(text.charCodeAt(i) & 0xff);
  }
  return Buffer.from(bytes);
}

/**
 * Decodes every encoded word in `text`. Whitespace between two adjacent encoded words is dropped
 * (RFC 2047 §6.2), so a word split over several encoded words joins up again.
 */
export function decodeEncodedWords(text: string): string {
  // Most header values hold no encoded word; they need no regular expression pass.
  if (!text.includes("=?")) return text;
  let out = "";
  let last = 0;
  let previousWasEncoded = false;
  for (const m of text.matchAll(ENCODED_WORD)) {
    const start = m.index ?? 0;
    const between = text.slice(last, start);
    if (!(previousWasEncoded && /^[ \t\r\n]*$/.test(between))) out += between;
    const [, charset = "", kind = "", payload = ""] = m;
    const bytes =
      kind.toLowerCase() === "b" ? decodeBase64(Buffer.from(payload, "latin1")) : decodeQ(payload);
    out += decodeCharset(bytes, charset);
    last = start + m[0].length;
    previousWasEncoded = true;
  }
  return out + text.slice(last);
}
