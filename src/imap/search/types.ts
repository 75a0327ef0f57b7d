/**
 * The SEARCH key tree (RFC 9051 §6.4.4, plus MODSEQ from RFC 7162 §3.1.5 and OLDER/YOUNGER from
 * RFC 5032) and the sequence-set structure shared by the IMAP parser and the search evaluator.
 */

import type { MatchTexts } from "../../mail/search-match.js";

/** A sequence number or UID; "*" is the largest number in use in the mailbox (RFC 9051 §9 seq-number). */
export type SequenceNumber = number | "*";

/** One element of a sequence set. A single number is a range with start === end. Order is not implied. */
export interface SequenceRange {
  start: SequenceNumber;
  end: SequenceNumber;
}

/**
 * RFC 9051 §9 sequence-set: a comma list of numbers and ranges, or "$" alone (RFC 5182 seq-last-command),
 * which names the result of the last SEARCH with SAVE.
 */
export type SequenceSet = { kind: "ranges"; ranges: SequenceRange[] } | { kind: "saved" };

/** A calendar day as written in a search key (RFC 9051 date: "1-Feb-1994"). month is 1..12. */
export interface SearchDate {
  year: number;
  month: number;
  day: number;
}

export type DateComparison = "before" | "on" | "since";

/**
 * A search key. Strings are already decoded from the command's CHARSET (UTF-8 or US-ASCII) by the parser.
 *
 * Mapping from RFC 9051 keys:
 * - ALL → all
 * - ANSWERED/DELETED/DRAFT/FLAGGED/SEEN → flag {flag: "\\Answered" …, set: true};
 *   UNANSWERED/UNDELETED/UNDRAFT/UNFLAGGED/UNSEEN → same with set: false;
 *   KEYWORD k / UNKEYWORD k → flag {flag: k, set: true/false}
 * - BCC/CC/FROM/TO s → address {field: "bcc" | "cc" | "from" | "to", value: s};
 *   SUBJECT s → header {field: "subject", value: s}; HEADER name s → header {field: name (any case), value: s}
 * - BODY s → body; TEXT s → text
 * - BEFORE/ON/SINCE d → internalDate {op, date}; SENTBEFORE/SENTON/SENTSINCE d → sentDate {op, date};
 *   SAVEDBEFORE/SAVEDON/SAVEDSINCE d (RFC 8514) → savedDate {op, date}; SAVEDATESUPPORTED → all
 * - LARGER n / SMALLER n → size {op: "larger" | "smaller", octets: n}
 * - NOT k → not; OR a b → or; "(" k k … ")" and the top-level list → and
 * - a bare sequence set → sequence; UID set → uid
 * - MODSEQ ["entry" type] n (RFC 7162) → modseq
 * - OLDER n / YOUNGER n (RFC 5032) → age {op, seconds}
 */
export type SearchKey =
  | { type: "all" }
  | { type: "flag"; flag: string; set: boolean }
  | { type: "header"; field: string; value: string }
  /** Matched against the field's parsed addresses, not its text (see evaluate.ts). */
  | { type: "address"; field: "from" | "to" | "cc" | "bcc"; value: string }
  | { type: "body"; value: string }
  | { type: "text"; value: string }
  | { type: "internalDate"; op: DateComparison; date: SearchDate }
  | { type: "sentDate"; op: DateComparison; date: SearchDate }
  | { type: "savedDate"; op: DateComparison; date: SearchDate }
  | { type: "size"; op: "larger" | "smaller"; octets: number }
  | { type: "not"; key: SearchKey }
  | { type: "or"; left: SearchKey; right: SearchKey }
  | { type: "and"; keys: SearchKey[] }
  | { type: "sequence"; set: SequenceSet }
  | { type: "uid"; set: SequenceSet }
  | {
      type: "modseq";
      modseq: bigint;
      /** RFC 7162 entry-name and entry-type-req; the evaluator compares against the message's modseq. */
      entry?: { name: string; kind: "priv" | "shared" | "all" };
    }
  | { type: "age"; op: "older" | "younger"; seconds: number };

/**
 * One message as the evaluator sees it: what is always known, and the bytes when they have been read.
 * `header` is the header section (the message's first octets up to and including the empty line that
 * ends it); `message` is the whole stored message and, when present, is used for header keys too.
 */
export interface SearchData {
  seq: number;
  uid: number;
  flags: ReadonlySet<string> | readonly string[];
  internalDate: Date;
  /** RFC 8514: when the message entered the mailbox. */
  savedDate: Date;
  size: number;
  /** The store's MODSEQ, a safe integer; compared with a MODSEQ key's bigint directly. */
  modseq: number;
  header?: Buffer;
  message?: Buffer;
  /** `message` parsed already by the caller, which then reads the texts the evaluation made. */
  texts?: MatchTexts;
}

/**
 * One message as `matches` sees it. `body()` returns the full stored message bytes; it is called
 * only when a key needs them (see keyNeedsBody in evaluate.ts), so flag-only searches never read bodies.
 */
export interface SearchableMessage {
  seq: number;
  uid: number;
  flags: ReadonlySet<string> | readonly string[];
  internalDate: Date;
  savedDate: Date;
  size: number;
  /** The store's MODSEQ, a safe integer; compared with a MODSEQ key's bigint directly. */
  modseq: number;
  body(): Buffer;
}

export interface SearchContext {
  /** Number of messages in the mailbox: the value of "*" in a sequence-number set. */
  maxSeq: number;
  /** Largest UID in the mailbox: the value of "*" in a UID set. */
  maxUid: number;
  /** UIDs saved by the last SEARCH ... SAVE (RFC 5182); "$" matches none when absent. */
  savedUids?: ReadonlySet<number>;
  /** Clock for OLDER/YOUNGER; defaults to the current time. */
  now?: Date;
}
