/**
 * SEARCH evaluation (RFC 9051 §6.4.4). A key is evaluated with whatever is at hand for a message: its
 * flags, size and dates always; its header section or its whole bytes only when given. A key that needs
 * data not at hand evaluates to `undefined` (unknown), and AND/OR/NOT follow three-valued logic, so a
 * caller can test the cheap keys first and fetch headers or bodies only for the messages still undecided.
 */
import { isAscii } from "node:buffer";
import { mailboxAddress, parseAddressList } from "../../mail/address-list.js";
import { decodeEncodedWords } from "../../mail/mime/encoded-words.js";
import { fieldValue, type HeaderField, scanHeader } from "../../mail/mime/header.js";
import { foldCase, MatchTexts } from "../../mail/search-match.js";
import type {
  SearchableMessage,
  SearchContext,
  SearchData,
  SearchDate,
  SearchKey,
  SequenceSet,
} from "./types.js";

/**
 * What evaluating a key may read, cheapest first: Metadata (flags, size, dates, UID, sequence number,
 * MODSEQ: all in the selected mailbox's view), Header (FROM, SUBJECT, HEADER, SENT* dates …), Body
 * (BODY, TEXT: the decoded body).
 */
export const KeyCost = { Metadata: 0, Header: 1, Body: 2 } as const;
export type KeyCost = (typeof KeyCost)[keyof typeof KeyCost];

/** The costliest data any part of `key` may read. */
export function keyCost(key: SearchKey): KeyCost {
  switch (key.type) {
    case "header":
    case "address":
    case "sentDate":
      return KeyCost.Header;
    case "body":
    case "text":
      return KeyCost.Body;
    case "not":
      return keyCost(key.key);
    case "or":
      return Math.max(keyCost(key.left), keyCost(key.right)) as KeyCost;
    case "and":
      return key.keys.reduce<KeyCost>((max, k) => Math.max(max, keyCost(k)) as KeyCost, KeyCost.Metadata);
    default:
      return KeyCost.Metadata;
  }
}

/** Whether some part of `key` reads header fields (and so is worth trying on the header section). */
export function keyReadsHeader(key: SearchKey): boolean {
  switch (key.type) {
    case "header":
    case "address":
    case "sentDate":
      return true;
    case "not":
      return keyReadsHeader(key.key);
    case "or":
      return keyReadsHeader(key.left) || keyReadsHeader(key.right);
    case "and":
      return key.keys.some(keyReadsHeader);
    default:
      return false;
  }
}

/** True when evaluating `key` may read the message bytes (header, body or text keys, SENT* dates). */
export function keyNeedsBody(key: SearchKey): boolean {
  return keyCost(key) !== KeyCost.Metadata;
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

const ASCII = /^[\x00-\x7f]*$/;

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

/** The case-folded "name <address>" (or bare address) of each mailbox in an address-list value. */
function addressForms(value: string): string[] {
  return parseAddressList(value)
    .flatMap((entry) => ("group" in entry ? entry.mailboxes : [entry]))
    .map((mailbox) => {
      const address = mailboxAddress(mailbox);
      return foldCase(mailbox.name === null ? address : `${decodeEncodedWords(mailbox.name)} <${address}>`);
    });
}

/**
 * True when no field of a header block can hold the folded text `wanted`, told without splitting the
 * block into fields: in a block of ASCII octets without encoded words, a field's folded value is its
 * raw text with the line folds removed (RFC 5322 §2.2.3), lower-cased. A fold keeps its white space, so
 * text without white space that the lower-cased block lacks is in no value. Most messages of a SUBJECT
 * or HEADER search are ruled out this way; the rest are decided field by field.
 */
function holdsNowhere(block: Buffer, wanted: string): boolean {
  if (!ASCII.test(wanted) || /\s/.test(wanted)) return false;
  if (!isAscii(block) || block.includes("=?")) return false;
  return !block.toString("latin1").toLowerCase().includes(wanted);
}

// Flags match case-insensitively (RFC 9051 §2.3.2), but a search runs this once per message: only a
// flag of the same length can differ in case alone, so the others are never lowercased.
function hasFlag(flags: ReadonlySet<string> | readonly string[], flag: string): boolean {
  let wanted: string | null = null;
  for (const f of flags) {
    if (f === flag) return true;
    if (f.length !== flag.length) continue;
    wanted ??= flag.toLowerCase();
    if (f.toLowerCase() === wanted) return true;
  }
  return false;
}

class Evaluation {
  private parsed: MatchTexts | null = null;
  private headerFields: { bytes: Buffer; fields: HeaderField[] } | null = null;

  constructor(
    private readonly message: SearchData,
    private readonly context: SearchContext,
  ) {}

  /** The whole message parsed, or null when its bytes are not at hand. */
  private get structure(): MatchTexts | null {
    if (this.parsed === null && this.message.message !== undefined) {
      this.parsed = this.message.texts ?? new MatchTexts(this.message.message);
    }
    return this.parsed;
  }

  /** The top-level header fields, from the whole message or else from the header section alone. */
  private get header(): { bytes: Buffer; fields: HeaderField[] } | null {
    if (this.headerFields === null) {
      const bytes = this.message.message ?? this.message.header;
      if (bytes === undefined) return null;
      // Only field boundaries are found here; values are decoded for the fields a key names.
      this.headerFields = { bytes, fields: scanHeader(bytes, 0, bytes.length).fields };
    }
    return this.headerFields;
  }

  private headerMatches(field: string, value: string): boolean | undefined {
    const key = field.toLowerCase();
    // Lines that are not fields carry the empty key; no field name matches them.
    if (key === "") return false;
    const wanted = foldCase(value);
    const block = this.message.message === undefined ? this.message.header : undefined;
    if (block !== undefined && holdsNowhere(block, wanted)) return false;
    const header = this.header;
    if (header === null) return undefined;
    // RFC 9051 §6.4.4: HEADER with an empty string matches every message that has the field.
    return header.fields.some(
      (f) => f.key === key && foldCase(decodeEncodedWords(fieldValue(header.bytes, f))).includes(wanted),
    );
  }

  /**
   * FROM, TO, CC, BCC: a substring of an address as the ENVELOPE has it, "name <local@domain>" or
   * "local@domain", as Dovecot matches (RFC 9051 §6.4.4 leaves the form open). Comments and the field's
   * raw spelling never match; the name is matched decoded.
   */
  private addressMatches(field: string, value: string): boolean | undefined {
    const header = this.header;
    if (header === null) return undefined;
    const wanted = foldCase(value);
    return header.fields.some(
      (f) =>
        f.key === field &&
        (wanted === "" || addressForms(fieldValue(header.bytes, f)).some((form) => form.includes(wanted))),
    );
  }

  private sentDate(): SearchDate | undefined {
    const header = this.header;
    if (header === null) return undefined;
    const field = header.fields.find((f) => f.key === "date");
    const day = field === undefined ? null : sentDay(fieldValue(header.bytes, field));
    // Without a usable Date: header the internal date stands in, so SENT* keys still order messages.
    return day ?? utcDay(this.message.internalDate);
  }

  /** true or false when decided; undefined when the key needs data that is not at hand. */
  test(key: SearchKey): boolean | undefined {
    const m = this.message;
    switch (key.type) {
      case "all":
        return true;
      case "flag":
        return hasFlag(m.flags, key.flag) === key.set;
      case "header":
        return this.headerMatches(key.field, key.value);
      case "address":
        return this.addressMatches(key.field, key.value);
      case "body": {
        const p = this.structure;
        return p === null ? undefined : p.bodyText.includes(foldCase(key.value));
      }
      case "text": {
        const p = this.structure;
        if (p === null) return undefined;
        const wanted = foldCase(key.value);
        return p.headerText.includes(wanted) || p.fullText.includes(wanted);
      }
      case "internalDate":
        // RFC 9051 §6.4.4: internal date "disregarding time and timezone"; stored dates are UTC.
        return compareDay(utcDay(m.internalDate), key.op, key.date);
      case "savedDate":
        return compareDay(utcDay(m.savedDate), key.op, key.date);
      case "sentDate": {
        const sent = this.sentDate();
        return sent === undefined ? undefined : compareDay(sent, key.op, key.date);
      }
      case "size":
        return key.op === "larger" ? m.size > key.octets : m.size < key.octets;
      case "not": {
        const inner = this.test(key.key);
        return inner === undefined ? undefined : !inner;
      }
      case "or": {
        const left = this.test(key.left);
        if (left === true) return true;
        const right = this.test(key.right);
        if (right === true) return true;
        return left === undefined || right === undefined ? undefined : false;
      }
      case "and": {
        // Unknown parts do not stop the loop: a later part that is false decides the whole.
        let unknown = false;
        for (const k of key.keys) {
          const result = this.test(k);
          if (result === false) return false;
          if (result === undefined) unknown = true;
        }
        return unknown ? undefined : true;
      }
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

/**
 * Whether `message` matches `key` with the data it carries: undefined when that is not enough (a header
 * key without `header` or `message`, a body key without `message`). Never throws on any message bytes.
 */
export function evaluate(key: SearchKey, message: SearchData, context: SearchContext): boolean | undefined {
  return new Evaluation(message, context).test(key);
}

/** Whether `message` matches `key`; reads the bytes through `message.body()` only if the key needs them. */
export function matches(key: SearchKey, message: SearchableMessage, context: SearchContext): boolean {
  const cheap = evaluate(key, message, context);
  if (cheap !== undefined) return cheap;
  return evaluate(key, { ...message, message: message.body() }, context) === true;
}
