/**
 * SEARCH evaluation (RFC 9051 §6.4.4). Evaluation is synchronous over one message; the message bytes are
 * requested through SearchableMessage.body() only when a key needs them (see keyNeedsBody), at most once.
 */
import { decodeCharset } from "../mime/charset.js";
import { decodeEncodedWords } from "../mime/encoded-words.js";
import { fieldValue, type HeaderField } from "../mime/header.js";
import { parameter } from "../mime/params.js";
import { isEmbeddedMessage, type MessagePart, parseMessageStructure } from "../mime/structure.js";
import { decodeTransfer, transferEncodingOf } from "../mime/transfer-encoding.js";
import type { SearchableMessage, SearchContext, SearchDate, SearchKey, SequenceSet } from "./types.js";

/** True when evaluating `key` may read the message bytes (header, body or text keys, SENT* dates). */
export function keyNeedsBody(key: SearchKey): boolean {
  switch (key.type) {
    case "header":
    case "body":
    case "text":
    case "sentDate":
      return true;
    case "not":
      return keyNeedsBody(key.key);
    case "or":
      return keyNeedsBody(key.left) || keyNeedsBody(key.right);
    case "and":
      return key.keys.some(keyNeedsBody);
    default:
      return false;
  }
}

/** Whether `value` is in `set`, with "*" standing for `largest` (RFC 9051 §9: ranges may be reversed). */
export function sequenceSetContains(
  set: SequenceSet,
  value: number,
  largest: number,
  savedUids: ReadonlySet<number> | undefined,
  uid: number,
): boolean {
  if (set.kind === "saved") return savedUids?.has(uid) ?? false;
  for (const range of set.ranges) {
    const a = range.start === "*" ? largest : range.start;
    const b = range.end === "*" ? largest : range.end;
    if (value >= Math.min(a, b) && value <= Math.max(a, b)) return true;
  }
  return false;
}

/**
 * Case-insensitive comparison form, close to i;unicode-casemap (RFC 5051, which RFC 9051 §6.4.4 names):
 * full upper-then-lower case mapping and compatibility decomposition.
 */
export function foldCase(text: string): string {
  return text.toUpperCase().toLowerCase().normalize("NFKD");
}

interface ParsedMessage {
  bytes: Buffer;
  root: MessagePart;
  headerText?: string;
  bodyText?: string;
  fullText?: string;
}

function decodedHeader(bytes: Buffer, fields: readonly HeaderField[]): string {
  return fields
    .filter((f) => f.key !== "")
    .map((f) => `${f.name}: ${decodeEncodedWords(fieldValue(bytes, f))}`)
    .join("\n");
}

/** The decoded text of a body: text/* leaves in their charsets, and the headers and text of embedded messages. */
function bodyText(bytes: Buffer, part: MessagePart, includeMimeHeaders: boolean, out: string[]): void {
  if (part.children.length > 0) {
    for (const child of part.children) {
      if (includeMimeHeaders) out.push(decodedHeader(bytes, child.fields));
      bodyText(bytes, child, includeMimeHeaders, out);
    }
    return;
  }
  if (isEmbeddedMessage(part) && part.message !== null) {
    out.push(decodedHeader(bytes, part.message.fields));
    bodyText(bytes, part.message, includeMimeHeaders, out);
    return;
  }
  if (part.type !== "text") return;
  const encoding = transferEncodingOf(part.encoding);
  const raw = bytes.subarray(part.bodyStart, part.bodyEnd);
  const decoded = encoding === null ? raw : decodeTransfer(raw, encoding);
  out.push(decodeCharset(decoded, parameter(part.params, "charset") ?? ""));
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

function dayNumber(date: SearchDate): number {
  return date.year * 10000 + date.month * 100 + date.day;
}

/** The calendar day of an RFC 5322 date-time as written, i.e. in the sender's own time zone. */
export function sentDay(dateHeader: string): SearchDate | null {
  const m = /(\d{1,2})\s+([A-Za-z]{3})[a-z]*\s+(\d{2,4})/.exec(dateHeader);
  if (m === null) return null;
  const month = MONTHS.indexOf((m[2] ?? "").toLowerCase()) + 1;
  if (month === 0) return null;
  let year = Number(m[3]);
  // RFC 5322 §4.3: two-digit years below 50 are 20xx, others (and three digits) are 1900 + year.
  if ((m[3] ?? "").length === 2) year += year < 50 ? 2000 : 1900;
  else if ((m[3] ?? "").length === 3) year += 1900;
  return { year, month, day: Number(m[1]) };
}

function utcDay(date: Date): SearchDate {
  return { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate() };
}

function compareDay(actual: SearchDate, op: "before" | "on" | "since", wanted: SearchDate): boolean {
  const a = dayNumber(actual);
  const w = dayNumber(wanted);
  if (op === "before") return a < w;
  if (op === "on") return a === w;
  return a >= w;
}

function hasFlag(flags: ReadonlySet<string> | readonly string[], flag: string): boolean {
  const wanted = flag.toLowerCase();
  for (const f of flags) if (f.toLowerCase() === wanted) return true;
  return false;
}

class Evaluation {
  private parsed: ParsedMessage | null = null;

  constructor(
    private readonly message: SearchableMessage,
    private readonly context: SearchContext,
  ) {}

  private get structure(): ParsedMessage {
    if (this.parsed === null) {
      const bytes = this.message.body();
      this.parsed = { bytes, root: parseMessageStructure(bytes) };
    }
    return this.parsed;
  }

  private headerText(): string {
    const p = this.structure;
    p.headerText ??= foldCase(decodedHeader(p.bytes, p.root.fields));
    return p.headerText;
  }

  /** BODY searches the decoded body; TEXT also the MIME headers of the parts (RFC 9051 §6.4.4). */
  private bodyText(withMimeHeaders: boolean): string {
    const p = this.structure;
    const cached = withMimeHeaders ? p.fullText : p.bodyText;
    if (cached !== undefined) return cached;
    const out: string[] = [];
    bodyText(p.bytes, p.root, withMimeHeaders, out);
    const text = foldCase(out.join("\n"));
    if (withMimeHeaders) p.fullText = text;
    else p.bodyText = text;
    return text;
  }

  private headerMatches(field: string, value: string): boolean {
    const { bytes, root } = this.structure;
    const key = field.toLowerCase();
    // Lines that are not fields carry the empty key; no field name matches them.
    if (key === "") return false;
    const wanted = foldCase(value);
    // RFC 9051 §6.4.4: HEADER with an empty string matches every message that has the field.
    return root.fields.some(
      (f) => f.key === key && foldCase(decodeEncodedWords(fieldValue(bytes, f))).includes(wanted),
    );
  }

  private sentDate(): SearchDate {
    const { bytes, root } = this.structure;
    const field = root.fields.find((f) => f.key === "date");
    const day = field === undefined ? null : sentDay(fieldValue(bytes, field));
    // Without a usable Date: header the internal date stands in, so SENT* keys still order messages.
    return day ?? utcDay(this.message.internalDate);
  }

  test(key: SearchKey): boolean {
    const m = this.message;
    switch (key.type) {
      case "all":
        return true;
      case "flag":
        return hasFlag(m.flags, key.flag) === key.set;
      case "header":
        return this.headerMatches(key.field, key.value);
      case "body":
        return this.bodyText(false).includes(foldCase(key.value));
      case "text": {
        const wanted = foldCase(key.value);
        return this.headerText().includes(wanted) || this.bodyText(true).includes(wanted);
      }
      case "internalDate":
        // RFC 9051 §6.4.4: internal date "disregarding time and timezone"; stored dates are UTC.
        return compareDay(utcDay(m.internalDate), key.op, key.date);
      case "sentDate":
        return compareDay(this.sentDate(), key.op, key.date);
      case "size":
        return key.op === "larger" ? m.size > key.octets : m.size < key.octets;
      case "not":
        return !this.test(key.key);
      case "or":
        return this.test(key.left) || this.test(key.right);
      case "and":
        return key.keys.every((k) => this.test(k));
      case "sequence":
        return sequenceSetContains(key.set, m.seq, this.context.maxSeq, this.context.savedUids, m.uid);
      case "uid":
        return sequenceSetContains(key.set, m.uid, this.context.maxUid, this.context.savedUids, m.uid);
      case "modseq":
        // RFC 7162 §3.1.5: messages whose mod-sequence is greater than or equal to the given value.
        return m.modseq >= key.modseq;
      case "age": {
        const now = this.context.now ?? new Date();
        const ageSeconds = (now.getTime() - m.internalDate.getTime()) / 1000;
        // RFC 5032 §3: OLDER n is "more than n seconds", YOUNGER n is "within n seconds".
        return key.op === "older" ? ageSeconds > key.seconds : ageSeconds <= key.seconds;
      }
    }
  }
}

/** Whether `message` matches `key`. Never throws on any message bytes. */
export function matches(key: SearchKey, message: SearchableMessage, context: SearchContext): boolean {
  return new Evaluation(message, context).test(key);
}
