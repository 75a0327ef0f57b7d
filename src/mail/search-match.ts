// What IMAP SEARCH BODY and TEXT match a message against (RFC 9051 §6.4.4), and the words of it the
// full-text index keeps, so a search can skip the bodies that cannot match without reading them.
//
// The index cannot answer an IMAP search itself: SEARCH matches a substring of the folded text, and a
// word index cannot prove that a substring is present. It can prove one absent. Each word of the text
// is a maximal run of letters, digits and marks; a substring that holds a whole such run holds a word of
// the text, one that begins (ends) inside a run holds a word's end (start). So the folded words of the
// message, kept once each between spaces, must contain every pattern `requiredPatterns` makes of the
// search text, or the message cannot match. Both sides are made here from the very texts the evaluator
// matches, which is what makes the skip exact: the evaluator itself (imap/search/evaluate.ts) uses
// them too.

import { decodeCharset } from "./mime/charset.js";
import { decodeEncodedWords } from "./mime/encoded-words.js";
import { fieldValue, type HeaderField } from "./mime/header.js";
import { parameter } from "./mime/params.js";
import { isEmbeddedMessage, type MessagePart, parseMessageStructure } from "./mime/structure.js";
import { decodeTransfer, transferEncodingOf } from "./mime/transfer-encoding.js";
import { eachWord } from "./words.js";

const ASCII = /^[\x00-\x7f]*$/;
/**
 * Characters of the kept words of one message. Past it nothing is kept, and the message is read by
 * every search, as it is without an index.
 */
export const MAX_MATCH_WORDS_CHARS = 256 * 1024;

/**
 * Case-insensitive comparison form, close to i;unicode-casemap (RFC 5051, which RFC 9051 §6.4.4 names):
 * full upper-then-lower case mapping and compatibility decomposition.
 */
export function foldCase(text: string): string {
  // ASCII text maps to itself under NFKD and through upper case, so lower case alone is the same answer.
  if (ASCII.test(text)) return text.toLowerCase();
  return text.toUpperCase().toLowerCase().normalize("NFKD");
}

function decodedHeader(bytes: Buffer, fields: readonly HeaderField[]): string {
  return fields
    .filter((f) => f.key !== "")
    .map((f) => `${f.name}: ${decodeEncodedWords(fieldValue(bytes, f))}`)
    .join("\n");
}

function collectBody(bytes: Buffer, part: MessagePart, includeMimeHeaders: boolean, out: string[]): void {
  if (part.children.length > 0) {
    for (const child of part.children) {
      if (includeMimeHeaders) out.push(decodedHeader(bytes, child.fields));
      collectBody(bytes, child, includeMimeHeaders, out);
    }
    return;
  }
  if (isEmbeddedMessage(part) && part.message !== null) {
    out.push(decodedHeader(bytes, part.message.fields));
    collectBody(bytes, part.message, includeMimeHeaders, out);
    return;
  }
  if (part.type !== "text") return;
  const encoding = transferEncodingOf(part.encoding);
  const raw = bytes.subarray(part.bodyStart, part.bodyEnd);
  const decoded = encoding === null ? raw : decodeTransfer(raw, encoding);
  out.push(decodeCharset(decoded, parameter(part.params, "charset") ?? ""));
}

/** The folded top-level header fields, "Name: value" a line each, values decoded: what TEXT also searches. */
export function headerMatchText(bytes: Buffer, root: MessagePart): string {
  return foldCase(decodedHeader(bytes, root.fields));
}

/**
 * The folded decoded body: text/* leaves in their charsets, and the headers and text of embedded
 * messages; with `withMimeHeaders` (TEXT) also the MIME headers of the parts.
 */
export function bodyMatchText(bytes: Buffer, root: MessagePart, withMimeHeaders: boolean): string {
  const out: string[] = [];
  collectBody(bytes, root, withMimeHeaders, out);
  return foldCase(out.join("\n"));
}

/**
 * One message's structure and the folded texts BODY and TEXT match, each made at its first use: a
 * search that evaluates a message and keeps its words (matchWords) parses and decodes it once.
 */
export class MatchTexts {
  private header: string | undefined;
  private body: string | undefined;
  private full: string | undefined;

  constructor(
    readonly bytes: Buffer,
    readonly root: MessagePart = parseMessageStructure(bytes),
  ) {}

  /** The folded decoded top-level header section: what TEXT matches besides the body. */
  get headerText(): string {
    this.header ??= headerMatchText(this.bytes, this.root);
    return this.header;
  }

  /** What BODY matches. */
  get bodyText(): string {
    this.body ??= bodyMatchText(this.bytes, this.root, false);
    return this.body;
  }

  /** The body as TEXT matches it: with the MIME headers of the parts. */
  get fullText(): string {
    this.full ??= bodyMatchText(this.bytes, this.root, true);
    return this.full;
  }
}

/**
 * The distinct words of everything BODY and TEXT match, each between spaces (" a b c "); null when they
 * pass MAX_MATCH_WORDS_CHARS. BODY's text holds no word TEXT's lacks: its leaves are TEXT's, each
 * between the same line breaks.
 */
export function matchWords(texts: MatchTexts): string | null {
  const words = new Set<string>();
  let length = 1;
  for (const text of [texts.headerText, texts.fullText]) {
    eachWord(text, (start, end) => {
      const word = text.slice(start, end);
      if (words.has(word)) return;
      words.add(word);
      length += word.length + 1;
    });
    if (length > MAX_MATCH_WORDS_CHARS) return null;
  }
  return words.size === 0 ? " " : ` ${[...words].join(" ")} `;
}

/**
 * What the kept words of a message matching BODY or TEXT `value` must each contain: " w " for a word
 * of the folded value with a non-word character on both sides, "w " for its first word when the value
 * begins inside it (a word of the message ends with it), " w" for its last when the value ends inside
 * it, and the word alone when the value is a single word with nothing around it. Empty when the value
 * has no word, which every message may then match.
 */
export function requiredPatterns(value: string): string[] {
  const folded = foldCase(value);
  const patterns: string[] = [];
  eachWord(folded, (start, end) => {
    const openBefore = start === 0;
    const openAfter = end === folded.length;
    patterns.push(`${openBefore ? "" : " "}${folded.slice(start, end)}${openAfter ? "" : " "}`);
  });
  return patterns;
}
