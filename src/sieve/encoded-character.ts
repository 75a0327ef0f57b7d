/** encoded-character (RFC 5228 §2.4.2.4): "${hex: 41 42}" and "${unicode: 263a}" inside strings. */

const ENCODED = /\$\{(hex|unicode):([\s0-9a-fA-F]*)\}/gi;

/**
 * Replaces the encoded characters of `text`. A sequence that is not well-formed is left as written; a
 * code point outside Unicode's scalar values is the script's error, reported through `error`.
 */
export function decodeEncodedCharacters(text: string, error: (reason: string) => void): string {
  if (!text.includes("${")) return text;
  return text.replace(ENCODED, (whole, kind: string, body: string) => {
    const items = body
      .trim()
      .split(/\s+/)
      .filter((s) => s !== "");
    if (kind.toLowerCase() === "hex") {
      if (!items.every((h) => h.length % 2 === 0)) return whole;
      return Buffer.from(items.join(""), "hex").toString("utf8");
    }
    let out = "";
    for (const item of items) {
      const code = Number.parseInt(item, 16);
      if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
        error(`\${unicode:${item}} is not a Unicode character (RFC 5228 §2.4.2.4)`);
        return whole;
      }
      out += String.fromCodePoint(code);
    }
    return out;
  });
}
