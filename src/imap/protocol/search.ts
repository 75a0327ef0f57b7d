/**
 * SEARCH program parser (RFC 9051 §6.4.4 search-key, RFC 7162 MODSEQ, RFC 5032 OLDER/YOUNGER) into
 * the SearchKey tree that src/imap/search/evaluate.ts evaluates.
 */

import type { DateComparison, SearchDate, SearchKey } from "../search/types.js";
import { type Cursor, ParseError } from "./cursor.js";
import { parseSequenceSet } from "./sequence.js";

/** Nesting of parentheses, NOT and OR, so a hostile command cannot exhaust the stack. */
const MAX_DEPTH = 64;
const MAX_KEYS = 1000;

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];

const FLAG_KEYS: Record<string, [string, boolean]> = {
  ANSWERED: ["\\Answered", true],
  DELETED: ["\\Deleted", true],
  DRAFT: ["\\Draft", true],
  FLAGGED: ["\\Flagged", true],
  SEEN: ["\\Seen", true],
  UNANSWERED: ["\\Answered", false],
  UNDELETED: ["\\Deleted", false],
  UNDRAFT: ["\\Draft", false],
  UNFLAGGED: ["\\Flagged", false],
  UNSEEN: ["\\Seen", false],
};

const ADDRESS_KEYS = new Set(["BCC", "CC", "FROM", "TO"]);
const DATE_KEYS: Record<string, ["internalDate" | "sentDate" | "savedDate", DateComparison]> = {
  BEFORE: ["internalDate", "before"],
  ON: ["internalDate", "on"],
  SINCE: ["internalDate", "since"],
  SENTBEFORE: ["sentDate", "before"],
  SENTON: ["sentDate", "on"],
  SENTSINCE: ["sentDate", "since"],
  SAVEDBEFORE: ["savedDate", "before"],
  SAVEDON: ["savedDate", "on"],
  SAVEDSINCE: ["savedDate", "since"],
};

/** [CHARSET charset SP] search-key *(SP search-key); the keys are ANDed. */
export function parseSearchProgram(cursor: Cursor): SearchKey {
  if (cursor.lookingAtWord("CHARSET")) {
    cursor.accept("CHARSET");
    cursor.space();
    return parseSearchCriteria(cursor);
  }
  return parseSearchKeys(cursor);
}

/** SORT's and THREAD's search-criteria (RFC 5256 §4): charset SP search-key *(SP search-key), charset required. */
export function parseSearchCriteria(cursor: Cursor): SearchKey {
  const charset = cursor.astring("a charset name").toUpperCase();
  // RFC 9051 §6.4.4: UTF-8 must be supported; US-ASCII is its subset. Others get [BADCHARSET].
  if (charset !== "UTF-8" && charset !== "US-ASCII") {
    throw new ParseError(`BADCHARSET: charset ${charset} is not supported; use UTF-8`);
  }
  cursor.space();
  return parseSearchKeys(cursor);
}

function parseSearchKeys(cursor: Cursor): SearchKey {
  const state = { count: 0 };
  const keys: SearchKey[] = [parseKey(cursor, 0, state)];
  while (!cursor.atEnd()) {
    cursor.space();
    keys.push(parseKey(cursor, 0, state));
  }
  return keys.length === 1 ? (keys[0] as SearchKey) : { type: "and", keys };
}

function parseDate(cursor: Cursor): SearchDate {
  const quoted = cursor.peek() === 0x22;
  const text = quoted ? cursor.string("a date") : cursor.atom("a date like 1-Feb-2024");
  const match = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(text);
  if (match === null) throw new ParseError(`expected a date like 1-Feb-2024, got ${text}`);
  const month = MONTHS.indexOf((match[2] ?? "").toUpperCase()) + 1;
  const day = Number(match[1]);
  if (month === 0 || day < 1 || day > 31) throw new ParseError(`invalid date ${text}`);
  return { year: Number(match[3]), month, day };
}

function parseKey(cursor: Cursor, depth: number, state: { count: number }): SearchKey {
  if (depth > MAX_DEPTH) throw new ParseError("the search is nested too deeply");
  if (++state.count > MAX_KEYS) throw new ParseError("the search has too many keys");
  const c = cursor.peek();
  if (c === 0x28) {
    const keys = cursor.list(() => parseKey(cursor, depth + 1, state), false);
    return keys.length === 1 ? (keys[0] as SearchKey) : { type: "and", keys };
  }
  if ((c >= 0x30 && c <= 0x39) || c === 0x2a || c === 0x24) {
    return { type: "sequence", set: parseSequenceSet(cursor) };
  }
  const word = cursor.atom("a search key").toUpperCase();
  const flag = FLAG_KEYS[word];
  if (flag !== undefined) return { type: "flag", flag: flag[0], set: flag[1] };
  const date = DATE_KEYS[word];
  if (date !== undefined) {
    cursor.space();
    return { type: date[0], op: date[1], date: parseDate(cursor) };
  }
  if (ADDRESS_KEYS.has(word)) {
    cursor.space();
    const field = word.toLowerCase() as "from" | "to" | "cc" | "bcc";
    return { type: "address", field, value: cursor.astring("a search string") };
  }
  switch (word) {
    case "ALL":
    // RFC 8514 §4.3: every mailbox here keeps save dates, so this matches every message.
    case "SAVEDATESUPPORTED":
      return { type: "all" };
    case "SUBJECT":
      cursor.space();
      return { type: "header", field: "subject", value: cursor.astring("a search string") };
    // RFC 3501 keys that IMAP4rev2 dropped with \Recent; to such a session no message is recent.
    case "RECENT":
      return { type: "flag", flag: "\\Recent", set: true };
    case "NEW":
      return {
        type: "and",
        keys: [
          { type: "flag", flag: "\\Recent", set: true },
          { type: "flag", flag: "\\Seen", set: false },
        ],
      };
    case "OLD":
      return { type: "flag", flag: "\\Recent", set: false };
    case "KEYWORD":
    case "UNKEYWORD": {
      cursor.space();
      return { type: "flag", flag: cursor.atom("a keyword"), set: word === "KEYWORD" };
    }
    case "HEADER": {
      cursor.space();
      const field = cursor.astring("a header field name");
      cursor.space();
      return { type: "header", field, value: cursor.astring("a search string") };
    }
    case "BODY":
    case "TEXT": {
      cursor.space();
      return { type: word === "BODY" ? "body" : "text", value: cursor.astring("a search string") };
    }
    case "LARGER":
    case "SMALLER": {
      cursor.space();
      return { type: "size", op: word === "LARGER" ? "larger" : "smaller", octets: cursor.number("a size") };
    }
    case "OLDER":
    case "YOUNGER": {
      cursor.space();
      return { type: "age", op: word === "OLDER" ? "older" : "younger", seconds: cursor.nzNumber("seconds") };
    }
    case "NOT": {
      cursor.space();
      return { type: "not", key: parseKey(cursor, depth + 1, state) };
    }
    case "OR": {
      cursor.space();
      const left = parseKey(cursor, depth + 1, state);
      cursor.space();
      const right = parseKey(cursor, depth + 1, state);
      return { type: "or", left, right };
    }
    case "UID": {
      cursor.space();
      return { type: "uid", set: parseSequenceSet(cursor) };
    }
    case "MODSEQ": {
      cursor.space();
      // RFC 7162 §3.1.5: MODSEQ [entry-name SP entry-type-req SP] mod-sequence-valzer
      if (cursor.peek() === 0x22) {
        const name = cursor.string("an entry name");
        cursor.space();
        const kind = cursor.atom("priv, shared or all").toLowerCase();
        if (kind !== "priv" && kind !== "shared" && kind !== "all") {
          throw new ParseError("the MODSEQ entry type must be priv, shared or all");
        }
        cursor.space();
        return { type: "modseq", modseq: BigInt(cursor.number("a MODSEQ")), entry: { name, kind } };
      }
      return { type: "modseq", modseq: BigInt(cursor.number("a MODSEQ")) };
    }
    default:
      throw new ParseError(`unknown search key ${word}`);
  }
}
