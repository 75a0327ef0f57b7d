// What the full-text index keeps of a message (issue 14), and how a search text becomes words. Both
// backends are handed the same words, already folded and split here, so SQLite FTS5 and PostgreSQL's
// tsvector index the same tokens whatever their own tokenizers would have made of the raw text (the
// 'simple' parser alone would keep "alice@example.com" as one token where FTS5 makes three).

import { htmlToText } from "./html-text.js";
import { decodeCharset } from "./mime/charset.js";
import { decodeEncodedWords } from "./mime/encoded-words.js";
import { fieldValue } from "./mime/header.js";
import { parameter } from "./mime/params.js";
import { isEmbeddedMessage, isMultipart, type MessagePart, parseMessageStructure } from "./mime/structure.js";
import { decodeTransfer, transferEncodingOf } from "./mime/transfer-encoding.js";

/**
 * body: the text parts of the message itself (JMAP's "body"); attached: the header fields and text
 * parts of attached messages (message/rfc822), which IMAP's BODY and TEXT search too.
 */
export const SEARCH_FIELDS = ["subject", "from", "to", "cc", "bcc", "body", "attached"] as const;
export type SearchField = (typeof SEARCH_FIELDS)[number];
/** Each field's words, folded, separated by one space. */
export type SearchDocument = Record<SearchField, string>;

/**
 * Characters of words kept per field: PostgreSQL refuses a tsvector over 1 MiB, and this bound keeps
 * the worst case (every word distinct) under it. Words past it are not found.
 */
export const MAX_FIELD_CHARS = 256 * 1024;
/** Longer words (base64 runs, hashes) are cut to this many characters, in documents and queries alike. */
export const MAX_WORD_CHARS = 100;

const WORD = /[\p{L}\p{N}\p{M}]+/gu;

/**
 * The words of a text: RFC 8621's i;unicode-casemap fold (NFKC, lower case), split at everything that
 * is not a letter, digit or mark.
 */
export function searchWords(text: string): string[] {
  const words = text.normalize("NFKC").toLowerCase().match(WORD) ?? [];
  return words.map((word) => (word.length > MAX_WORD_CHARS ? cutWord(word) : word));
}

function cutWord(word: string): string {
  // By code points, so no surrogate pair is split.
  return Array.from(word).slice(0, MAX_WORD_CHARS).join("");
}

/** Per ASCII code: the folded letter or digit (A-Z lower-cased), 0 for what separates words. */
const ASCII_FOLD = new Uint8Array(128);
for (let code = 0; code < 128; code++) {
  const char = String.fromCharCode(code);
  if (/[a-z0-9]/.test(char)) ASCII_FOLD[code] = code;
  else if (/[A-Z]/.test(char)) ASCII_FOLD[code] = code + 32;
}

/**
 * The words of an ASCII text joined by single spaces, as joinWords makes them: NFKC leaves ASCII alone,
 * and its only letters and digits are A-Z, a-z and 0-9. One pass over the code units, about a quarter of
 * the time of matching each word with the Unicode expression. Null for any other text, and for one with
 * a word longer than MAX_WORD_CHARS (to be cut): those take the general path.
 */
function asciiWords(text: string): string | null {
  const length = text.length;
  const out = Buffer.allocUnsafe(length);
  let used = 0;
  let word = 0;
  for (let at = 0; at < length; at++) {
    const code = text.charCodeAt(at);
    if (code >= 128) return null;
    const folded = ASCII_FOLD[code] as number;
    if (folded !== 0) {
      if (++word > MAX_WORD_CHARS) return null;
      out[used++] = folded;
    } else if (word > 0) {
      out[used++] = 0x20;
      word = 0;
    }
  }
  if (used > 0 && word === 0) used--;
  return out.toString("latin1", 0, used);
}

/** The words of the texts, folded and cut as searchWords makes them, joined by single spaces up to MAX_FIELD_CHARS. */
export function joinWords(texts: readonly string[]): string {
  // Kept words, or runs of them already joined by single spaces.
  const kept: string[] = [];
  // The length of the kept words joined by single spaces.
  let length = 0;
  for (const text of texts) {
    // Most mail is ASCII: its run is taken whole when it fits the field, where the word-by-word loop
    // below would have kept each of its words too, so the result is the same, exactly.
    const run = asciiWords(text);
    if (run === "") continue;
    if (run !== null) {
      const after = length + (kept.length === 0 ? 0 : 1) + run.length;
      if (after <= MAX_FIELD_CHARS) {
        kept.push(run);
        length = after;
        continue;
      }
    }
    // Word by word, so a long text is split only as far as the field holds.
    for (const [found] of text.normalize("NFKC").toLowerCase().matchAll(WORD)) {
      const word = found.length > MAX_WORD_CHARS ? cutWord(found) : found;
      if (length + word.length + 1 > MAX_FIELD_CHARS) return kept.join(" ");
      length += (kept.length === 0 ? 0 : 1) + word.length;
      kept.push(word);
    }
  }
  return kept.join(" ");
}

/** The decoded header fields of a part, names and values, for an attached message's words. */
function headerTexts(message: Buffer, part: MessagePart): string[] {
  return part.fields
    .filter((field) => field.key !== "")
    .map((field) => `${field.name} ${decodeEncodedWords(fieldValue(message, field))}`);
}

/**
 * The decoded text of the text/* parts, HTML as its readable text, into `body`; what attached
 * messages hold (their header fields too) into `attached`.
 */
function collectTexts(message: Buffer, part: MessagePart, body: string[], attached: string[]): void {
  if (isMultipart(part)) {
    for (const child of part.children) collectTexts(message, child, body, attached);
    return;
  }
  if (isEmbeddedMessage(part) && part.message !== null) {
    attached.push(...headerTexts(message, part.message));
    collectTexts(message, part.message, attached, attached);
    return;
  }
  if (part.type !== "text") return;
  const raw = message.subarray(part.bodyStart, part.bodyEnd);
  const encoding = transferEncodingOf(part.encoding);
  const bytes = encoding === null ? raw : decodeTransfer(raw, encoding);
  const text = decodeCharset(bytes, parameter(part.params, "charset") ?? "us-ascii");
  body.push(part.subtype === "html" ? htmlToText(text) : text);
}

/** The index document of a stored message: its decoded headers and text parts as words. */
export function searchDocument(message: Buffer): SearchDocument {
  const root = parseMessageStructure(message);
  const body: string[] = [];
  const attached: string[] = [];
  collectTexts(message, root, body, attached);
  const header = (name: string) =>
    joinWords(
      root.fields
        .filter((field) => field.key === name)
        .map((field) => decodeEncodedWords(fieldValue(message, field))),
    );
  return {
    subject: header("subject"),
    from: header("from"),
    to: header("to"),
    cc: header("cc"),
    bcc: header("bcc"),
    body: joinWords(body),
    attached: joinWords(attached),
  };
}

/** The document of a body that cannot be read: it is marked indexed, and nothing finds it. */
export const EMPTY_DOCUMENT: SearchDocument = {
  subject: "",
  from: "",
  to: "",
  cc: "",
  bcc: "",
  body: "",
  attached: "",
};
