/**
 * Parses a framed command into a typed command (RFC 9051 §6 and §9, with the extensions mailroom
 * advertises). Syntax errors throw ParseError; meaning (does the mailbox exist?) is the session's job.
 */

import type { SearchKey, SequenceSet } from "../search/types.js";
import { Cursor, ParseError } from "./cursor.js";
import type { CommandFrame } from "./framer.js";
import { parseSearchCriteria, parseSearchProgram } from "./search.js";
import { parseSequenceSet } from "./sequence.js";

/** Same shape as src/imap/mime/section.ts SectionSpec (RFC 9051 §6.4.5 section-spec). */
export interface SectionSpec {
  part: number[];
  text?: "HEADER" | "HEADER.FIELDS" | "HEADER.FIELDS.NOT" | "TEXT" | "MIME";
  fields?: string[];
}

export interface Partial {
  offset: number;
  length: number;
}

export type FetchItem =
  | {
      kind:
        | "FLAGS"
        | "UID"
        | "INTERNALDATE"
        | "RFC822.SIZE"
        | "ENVELOPE"
        | "BODYSTRUCTURE"
        | "BODY"
        | "MODSEQ"
        | "EMAILID"
        | "THREADID"
        | "SAVEDATE"
        | "PREVIEW"
        | "RFC822"
        | "RFC822.HEADER"
        | "RFC822.TEXT";
    }
  /** BODY[section]<partial>; `label` is how the response names it (RFC 9051 §7.5.2). */
  | { kind: "section"; peek: boolean; section: SectionSpec; partial: Partial | null; label: string }
  | { kind: "binary"; peek: boolean; part: number[]; partial: Partial | null; label: string }
  | { kind: "binary.size"; part: number[]; label: string };

export interface StatusItemsRequest {
  items: string[];
}

/** What GETMETADATA (RFC 5464 §4.2) and LIST's METADATA return option (RFC 9590) ask for. */
export interface MetadataQuery {
  entries: string[];
  maxSize: number | null;
  depth: 0 | 1 | "infinity";
}

export interface ListReturn {
  subscribed: boolean;
  children: boolean;
  specialUse: boolean;
  status: string[] | null;
  metadata: MetadataQuery | null;
}

export interface QresyncParams {
  uidValidity: number;
  modseq: number;
  knownUids: SequenceSet | null;
  /** RFC 7162 §3.2.5.2 seq-match-data: message numbers and the UIDs the client knows them by. */
  seqMatch?: { sequences: SequenceSet; uids: SequenceSet };
}

/** RFC 5256 §3 sort keys, with RFC 5957's DISPLAYFROM and DISPLAYTO. */
export const SORT_KEYS = [
  "ARRIVAL",
  "CC",
  "DATE",
  "FROM",
  "SIZE",
  "SUBJECT",
  "TO",
  "DISPLAYFROM",
  "DISPLAYTO",
] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export interface SortCriterion {
  key: SortKey;
  reverse: boolean;
}
export const THREAD_ALGORITHMS = ["ORDEREDSUBJECT", "REFERENCES"] as const;
export type ThreadAlgorithm = (typeof THREAD_ALGORITHMS)[number];

export type Command =
  | {
      name:
        | "CAPABILITY"
        | "NOOP"
        | "LOGOUT"
        | "STARTTLS"
        | "CHECK"
        | "CLOSE"
        | "UNSELECT"
        | "EXPUNGE"
        | "IDLE"
        | "NAMESPACE"
        | "UNAUTHENTICATE";
    }
  | { name: "LOGIN"; user: string; password: string }
  | { name: "AUTHENTICATE"; mechanism: string; initial: string | null }
  | { name: "ENABLE"; capabilities: string[] }
  | { name: "ID"; params: Array<[string, string | null]> | null }
  | { name: "SELECT" | "EXAMINE"; mailbox: string; condstore: boolean; qresync: QresyncParams | null }
  | { name: "CREATE"; mailbox: string; use: string[] }
  | { name: "DELETE" | "SUBSCRIBE" | "UNSUBSCRIBE"; mailbox: string }
  | { name: "RENAME"; from: string; to: string }
  | {
      name: "LIST";
      reference: string;
      patterns: string[];
      selection: { subscribed: boolean; remote: boolean; recursiveMatch: boolean; specialUse: boolean };
      returns: ListReturn;
      extended: boolean;
    }
  | { name: "LSUB"; reference: string; pattern: string }
  | { name: "COMPRESS"; mechanism: string }
  | { name: "GETQUOTAROOT"; mailbox: string }
  | { name: "GETQUOTA" | "SETQUOTA"; root: string }
  | ({ name: "GETMETADATA"; mailbox: string } & MetadataQuery)
  | { name: "SETMETADATA"; mailbox: string; changes: Array<{ entry: string; value: Buffer | null }> }
  | { name: "STATUS"; mailbox: string; items: string[] }
  /** One message per part; several are MULTIAPPEND (RFC 3502), stored all or none. */
  | { name: "APPEND"; mailbox: string; parts: AppendPart[] }
  | {
      name: "FETCH";
      uid: boolean;
      set: SequenceSet;
      items: FetchItem[];
      changedSince: number | null;
      vanished: boolean;
      /** RFC 9394 §3.3 PARTIAL: only this window of the messages the set names, in UID order. */
      partial: PartialRange | null;
    }
  | {
      name: "STORE";
      uid: boolean;
      set: SequenceSet;
      operation: "add" | "remove" | "set";
      silent: boolean;
      flags: string[];
      unchangedSince: number | null;
    }
  | {
      name: "SEARCH";
      uid: boolean;
      /** null: a plain SEARCH; otherwise ESEARCH RETURN options (empty list means ALL). */
      returns: string[] | null;
      /** RETURN (PARTIAL range), RFC 9394; "PARTIAL" is then among `returns` too. */
      partial: PartialRange | null;
      key: SearchKey;
    }
  | {
      name: "SORT";
      uid: boolean;
      /** null: a plain SORT; otherwise ESORT RETURN options (RFC 5267 §3; empty list means ALL). */
      returns: string[] | null;
      partial: PartialRange | null;
      criteria: SortCriterion[];
      key: SearchKey;
    }
  | { name: "THREAD"; uid: boolean; algorithm: ThreadAlgorithm; key: SearchKey }
  | { name: "COPY" | "MOVE"; uid: boolean; set: SequenceSet; mailbox: string }
  | { name: "UID EXPUNGE"; set: SequenceSet }
  /** RFC 5267 §4.3.5: the tags of the updating searches to stop. */
  | { name: "CANCELUPDATE"; tags: string[] }
  /** RFC 5465 §3.1: `groups` null is NOTIFY NONE. */
  | { name: "NOTIFY"; status: boolean; groups: NotifyGroup[] | null }
  /** RFC 4467 §6.1: each rump URL with the mechanism to authorize it by. */
  | { name: "GENURLAUTH"; urls: Array<{ rump: string; mechanism: string }> }
  | { name: "URLFETCH"; urls: string[] }
  /** RFC 4467 §6.2: no mailbox resets every key of the user. */
  | { name: "RESETKEY"; mailbox: string | null; mechanisms: string[] };

/** RFC 5465 §6 filter-mailboxes; names as sent (the session decodes them). */
export type NotifyFilter =
  | { kind: "selected" | "selected-delayed" | "inboxes" | "personal" | "subscribed" }
  | { kind: "subtree" | "mailboxes"; mailboxes: string[] };

/** The events RFC 5465 §5 defines, in their canonical spelling. */
export const NOTIFY_EVENTS = [
  "MessageNew",
  "MessageExpunge",
  "FlagChange",
  "AnnotationChange",
  "MailboxName",
  "SubscriptionChange",
  "MailboxMetadataChange",
  "ServerMetadataChange",
] as const;
const MESSAGE_EVENTS = new Set(["MessageNew", "MessageExpunge", "FlagChange", "AnnotationChange"]);

export interface NotifyGroup {
  filter: NotifyFilter;
  /** The events, canonical where RFC 5465 names them, else upper-cased (event-ext); empty for NONE. */
  events: string[];
  /** MessageNew's fetch-att list (RFC 5465 §5.2), null when none was given. */
  fetch: FetchItem[] | null;
}

export interface ParsedCommand {
  tag: string;
  command: Command;
}

/** Thrown with the tag when the tag was readable, so the BAD can be tagged. */
export class CommandError extends Error {
  constructor(
    readonly tag: string | null,
    message: string,
    /** True when the error is about an unsupported charset (NO [BADCHARSET], RFC 9051 §6.4.4). */
    readonly badCharset = false,
  ) {
    super(message);
    this.name = "CommandError";
  }
}

const NO_ARGS = new Set([
  "CAPABILITY",
  "NOOP",
  "LOGOUT",
  "STARTTLS",
  "CHECK",
  "CLOSE",
  "UNSELECT",
  "EXPUNGE",
  "IDLE",
  "NAMESPACE",
  "UNAUTHENTICATE",
]);

export function parseCommand(frame: CommandFrame): ParsedCommand {
  return parseFrame(frame, parseArguments);
}

/**
 * An APPEND read up to one of its message literals that is about to stream (the frame of a framer
 * "literal-start", with that literal empty): the command so far, which may stop right after a CATENATE
 * TEXT literal, inside its list (RFC 4469 §5), since the rest has not arrived yet.
 */
export function parseAppendPrefix(frame: CommandFrame): ParsedCommand {
  return parseFrame(frame, (name, cursor) => {
    if (name !== "APPEND") throw new ParseError("only APPEND may stream a message");
    return parseAppend(cursor, true);
  });
}

function parseFrame(frame: CommandFrame, parse: (name: string, cursor: Cursor) => Command): ParsedCommand {
  const cursor = new Cursor(frame);
  let tag: string | null = null;
  try {
    tag = cursor.token("a tag", " ");
    if (/[(){%*"\\+\x00-\x1f\x7f]/.test(tag)) {
      throw new ParseError("the tag contains characters a tag may not have");
    }
    cursor.space();
    const name = cursor.atom("a command name").toUpperCase();
    const command = parse(name, cursor);
    cursor.end();
    return { tag, command };
  } catch (error) {
    if (error instanceof ParseError) {
      const badTag = tag !== null && /[(){%*"\\+\x00-\x1f\x7f]/.test(tag) ? null : tag;
      throw new CommandError(badTag, error.message, error.message.startsWith("BADCHARSET"));
    }
    throw error;
  }
}

function parseArguments(name: string, cursor: Cursor): Command {
  if (NO_ARGS.has(name)) return { name } as Command;
  switch (name) {
    case "LOGIN": {
      cursor.space();
      const user = cursor.astring("a user name");
      cursor.space();
      const password = cursor.astring("a password");
      return { name, user, password };
    }
    case "AUTHENTICATE": {
      cursor.space();
      const mechanism = cursor.atom("a SASL mechanism name").toUpperCase();
      let initial: string | null = null;
      if (!cursor.atEnd()) {
        cursor.space();
        // RFC 4959 §3: "=" stands for an empty initial response.
        initial = cursor.accept("=") ? "" : cursor.token("a base64 initial response");
      }
      return { name, mechanism, initial };
    }
    case "ENABLE": {
      const capabilities: string[] = [];
      do {
        cursor.space();
        capabilities.push(cursor.atom("a capability name").toUpperCase());
      } while (!cursor.atEnd());
      return { name, capabilities };
    }
    case "ID": {
      cursor.space();
      if (cursor.lookingAtWord("NIL")) {
        cursor.accept("NIL");
        return { name, params: null };
      }
      const flat = cursor.list(() => cursor.nstring());
      if (flat.length % 2 !== 0 || flat.length > 60)
        throw new ParseError("ID takes up to 30 field-value pairs");
      const params: Array<[string, string | null]> = [];
      for (let i = 0; i < flat.length; i += 2) {
        const key = flat[i];
        if (key === null || key === undefined) throw new ParseError("an ID field name may not be NIL");
        params.push([key, flat[i + 1] ?? null]);
      }
      return { name, params };
    }
    case "SELECT":
    case "EXAMINE":
      return parseSelect(name, cursor);
    case "CREATE": {
      cursor.space();
      const mailbox = cursor.astring("a mailbox name");
      // RFC 4466 §2.1 create-params; the one known is RFC 6154 §3's USE (special-use attributes).
      let use: string[] = [];
      if (cursor.lookingAt(" (")) {
        cursor.space();
        cursor.list(() => {
          const param = cursor.atom("a CREATE parameter").toUpperCase();
          if (param !== "USE")
            throw new ParseError(`unknown CREATE parameter ${param}; USE is the one offered`);
          cursor.space();
          use = cursor.list(() => cursor.flag());
        }, false);
      }
      return { name, mailbox, use };
    }
    case "DELETE":
    case "SUBSCRIBE":
    case "UNSUBSCRIBE": {
      cursor.space();
      return { name, mailbox: cursor.astring("a mailbox name") };
    }
    case "RENAME": {
      cursor.space();
      const from = cursor.astring("the existing mailbox name");
      cursor.space();
      const to = cursor.astring("the new mailbox name");
      return { name, from, to };
    }
    case "LIST":
      return parseList(cursor);
    case "LSUB": {
      cursor.space();
      const reference = cursor.astring("a reference name");
      cursor.space();
      const pattern = cursor.listMailbox();
      return { name, reference, pattern };
    }
    case "STATUS": {
      cursor.space();
      const mailbox = cursor.astring("a mailbox name");
      cursor.space();
      const items = cursor.list(() => cursor.atom("a status item").toUpperCase(), false);
      for (const item of items) {
        if (!STATUS_ITEMS.has(item)) throw new ParseError(`unknown STATUS item ${item}`);
      }
      return { name, mailbox, items };
    }
    case "APPEND":
      return parseAppend(cursor);
    case "CANCELUPDATE": {
      // RFC 5267 §5: "CANCELUPDATE" 1*(SP quoted).
      const tags: string[] = [];
      do {
        cursor.space();
        tags.push(cursor.string("the quoted tag of an updating SEARCH or SORT"));
      } while (cursor.peek() === 0x20);
      return { name, tags };
    }
    case "COMPRESS":
      cursor.space();
      return { name, mechanism: cursor.atom("a compression mechanism").toUpperCase() };
    case "GETQUOTAROOT":
      cursor.space();
      return { name, mailbox: cursor.astring("a mailbox name") };
    case "GETQUOTA":
      cursor.space();
      return { name, root: cursor.astring("a quota root") };
    case "GETMETADATA":
      return parseGetMetadata(cursor);
    case "SETMETADATA": {
      // RFC 5464 §4.3: SETMETADATA mailbox (entry value ...), value = nstring / literal8.
      cursor.space();
      const mailbox = cursor.astring("a mailbox name");
      cursor.space();
      const changes = cursor.list(() => {
        const entry = metadataEntry(cursor);
        cursor.space();
        let value: Buffer | null = null;
        if (cursor.lookingAtWord("NIL")) cursor.expect("NIL");
        else value = cursor.stringBytes("a value, a literal or NIL", true);
        return { entry, value };
      }, false);
      return { name, mailbox, changes };
    }
    case "SETQUOTA": {
      // RFC 9208 §4.1.3: SETQUOTA root (resource limit ...); read whole so the refusal is a NO, not a BAD.
      cursor.space();
      const root = cursor.astring("a quota root");
      cursor.space();
      cursor.list(() => cursor.atom("a resource name or limit"));
      return { name, root };
    }
    case "NOTIFY":
      return parseNotify(cursor);
    case "GENURLAUTH": {
      // RFC 4467 §9: "GENURLAUTH" 1*(SP url-rump SP mechanism), url-rump = astring.
      const urls: Array<{ rump: string; mechanism: string }> = [];
      do {
        cursor.space();
        const rump = cursor.astring("a rump URL");
        cursor.space();
        urls.push({ rump, mechanism: urlauthMechanism(cursor) });
      } while (!cursor.atEnd());
      return { name, urls };
    }
    case "URLFETCH": {
      const urls: string[] = [];
      do {
        cursor.space();
        urls.push(cursor.astring("an authorized URL"));
      } while (!cursor.atEnd());
      return { name, urls };
    }
    case "RESETKEY": {
      // RFC 4467 §9: "RESETKEY" [SP mailbox *(SP mechanism)].
      if (cursor.atEnd()) return { name, mailbox: null, mechanisms: [] };
      cursor.space();
      const mailbox = cursor.astring("a mailbox name");
      const mechanisms: string[] = [];
      while (!cursor.atEnd()) {
        cursor.space();
        mechanisms.push(urlauthMechanism(cursor));
      }
      return { name, mailbox, mechanisms };
    }
    case "FETCH":
    case "STORE":
    case "SEARCH":
    case "SORT":
    case "THREAD":
    case "COPY":
    case "MOVE":
      return parseMessageCommand(name, false, cursor);
    case "UID": {
      cursor.space();
      const sub = cursor
        .atom("FETCH, STORE, SEARCH, SORT, THREAD, COPY, MOVE or EXPUNGE after UID")
        .toUpperCase();
      if (sub === "EXPUNGE") {
        cursor.space();
        return { name: "UID EXPUNGE", set: parseSequenceSet(cursor) };
      }
      if (!["FETCH", "STORE", "SEARCH", "SORT", "THREAD", "COPY", "MOVE"].includes(sub)) {
        throw new ParseError(
          `UID ${sub} is not a command; use UID FETCH, STORE, SEARCH, SORT, THREAD, COPY, MOVE or EXPUNGE`,
        );
      }
      return parseMessageCommand(sub, true, cursor);
    }
    default:
      throw new ParseError(`unknown command ${name}`);
  }
}

export const STATUS_ITEMS = new Set([
  "MESSAGES",
  "UIDNEXT",
  "UIDVALIDITY",
  "UNSEEN",
  "DELETED",
  "SIZE",
  "RECENT",
  "HIGHESTMODSEQ",
  "MAILBOXID",
]);

function parseSelect(name: "SELECT" | "EXAMINE", cursor: Cursor): Command {
  cursor.space();
  const mailbox = cursor.astring("a mailbox name");
  let condstore = false;
  let qresync: QresyncParams | null = null;
  if (!cursor.atEnd()) {
    cursor.space();
    cursor.list(() => {
      const param = cursor.atom("a SELECT parameter").toUpperCase();
      if (param === "CONDSTORE") {
        condstore = true;
      } else if (param === "QRESYNC") {
        cursor.space();
        cursor.expect("(");
        const uidValidity = cursor.nzNumber("a UIDVALIDITY");
        cursor.space();
        const modseq = cursor.nzNumber("a MODSEQ");
        let knownUids: SequenceSet | null = null;
        let seqMatch: QresyncParams["seqMatch"];
        if (cursor.accept(" ")) {
          if (cursor.peek() !== 0x28) knownUids = parseSequenceSet(cursor);
          if (cursor.accept(" ") || cursor.peek() === 0x28) {
            cursor.expect("(");
            const sequences = parseSequenceSet(cursor);
            cursor.space();
            const uids = parseSequenceSet(cursor);
            cursor.expect(")");
            seqMatch = { sequences, uids };
          }
        }
        cursor.expect(")");
        qresync = { uidValidity, modseq, knownUids, ...(seqMatch === undefined ? {} : { seqMatch }) };
      } else {
        throw new ParseError(`unknown SELECT parameter ${param}`);
      }
      return param;
    });
  }
  return { name, mailbox, condstore: condstore || qresync !== null, qresync };
}

function parseList(cursor: Cursor): Command {
  cursor.space();
  const selection = { subscribed: false, remote: false, recursiveMatch: false, specialUse: false };
  let extended = false;
  // RFC 5258 list-select-opts
  if (cursor.peek() === 0x28) {
    extended = true;
    cursor.list(() => {
      const option = cursor.atom("a LIST selection option").toUpperCase();
      if (option === "SUBSCRIBED") selection.subscribed = true;
      else if (option === "REMOTE") selection.remote = true;
      else if (option === "RECURSIVEMATCH") selection.recursiveMatch = true;
      else if (option === "SPECIAL-USE") selection.specialUse = true;
      else throw new ParseError(`unknown LIST selection option ${option}`);
      return option;
    });
    // RFC 5258 §3: RECURSIVEMATCH alone is meaningless and must be rejected.
    if (selection.recursiveMatch && !selection.subscribed && !selection.specialUse) {
      throw new ParseError("RECURSIVEMATCH needs another selection option such as SUBSCRIBED");
    }
    cursor.space();
  }
  const reference = cursor.astring("a reference name");
  cursor.space();
  let patterns: string[];
  if (cursor.peek() === 0x28) {
    extended = true;
    patterns = cursor.list(() => cursor.listMailbox(), false);
  } else {
    patterns = [cursor.listMailbox()];
  }
  const returns: ListReturn = {
    subscribed: false,
    children: false,
    specialUse: false,
    status: null,
    metadata: null,
  };
  if (!cursor.atEnd()) {
    cursor.space();
    cursor.expect("RETURN", "RETURN");
    cursor.space();
    extended = true;
    cursor.list(() => {
      const option = cursor.atom("a LIST return option").toUpperCase();
      if (option === "SUBSCRIBED") returns.subscribed = true;
      else if (option === "CHILDREN") returns.children = true;
      else if (option === "SPECIAL-USE") returns.specialUse = true;
      else if (option === "STATUS") {
        cursor.space();
        returns.status = cursor.list(() => {
          const item = cursor.atom("a status item").toUpperCase();
          if (!STATUS_ITEMS.has(item)) throw new ParseError(`unknown STATUS item ${item}`);
          return item;
        }, false);
      } else if (option === "METADATA") {
        cursor.space();
        returns.metadata = parseListMetadata(cursor);
      } else throw new ParseError(`unknown LIST return option ${option}`);
      return option;
    });
  }
  return { name: "LIST", reference, patterns, selection, returns, extended };
}

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];

/** RFC 9051 §9 date-time: "dd-Mon-yyyy hh:mm:ss +zzzz" (day may be space-padded). */
export function parseDateTime(text: string): Date {
  const match = /^([ \d]?\d)-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)$/.exec(text);
  if (match === null) throw new ParseError('expected a date-time like "17-Jul-1996 02:44:25 -0700"');
  const [, day, mon, year, hh, mm, ss, sign, zh, zm] = match;
  const month = MONTHS.indexOf((mon ?? "").toUpperCase());
  if (month < 0) throw new ParseError(`unknown month ${mon}`);
  const offset = (Number(zh) * 60 + Number(zm)) * (sign === "-" ? -1 : 1);
  const utc =
    Date.UTC(Number(year), month, Number(day), Number(hh), Number(mm), Number(ss)) - offset * 60_000;
  const date = new Date(utc);
  if (
    Number.isNaN(date.getTime()) ||
    Number(day) > 31 ||
    Number(hh) > 23 ||
    Number(mm) > 59 ||
    Number(ss) > 60
  ) {
    throw new ParseError(`invalid date-time ${text}`);
  }
  return date;
}

/** RFC 4469 cat-part: a TEXT literal, or the IMAP URL of a message or part the user has. */
export type CatenatePart = { kind: "text"; text: Buffer } | { kind: "url"; url: string };

export interface AppendPart {
  flags: string[];
  date: Date | null;
  /** The message; empty for a CATENATE one, whose pieces are in `catenate`. */
  message: Buffer;
  /** RFC 4469: the message is these pieces, in order. */
  catenate?: CatenatePart[];
}

/** `prefix`: see parseAppendPrefix. */
function parseAppend(cursor: Cursor, prefix = false): Command {
  cursor.space();
  const mailbox = cursor.astring("a mailbox name");
  const parts: AppendPart[] = [];
  // RFC 3502 §6: append = "APPEND" SP mailbox 1*append-message.
  do {
    cursor.space();
    let flags: string[] = [];
    let date: Date | null = null;
    if (cursor.peek() === 0x28) {
      flags = cursor.list(() => cursor.flag());
      cursor.space();
    }
    if (cursor.peek() === 0x22) {
      date = parseDateTime(cursor.string("a date-time"));
      cursor.space();
    }
    if (cursor.lookingAtWord("CATENATE")) {
      cursor.expect("CATENATE");
      cursor.space();
      const catenate = parseCatenate(cursor, prefix);
      parts.push({ flags, date, message: Buffer.alloc(0), catenate });
      if (prefix && cursor.atEnd()) break;
      continue;
    }
    // RFC 3516 §4.4: literal8 "~{n}" carries binary content.
    const message = cursor.stringBytes("the message as a literal", true);
    parts.push({ flags, date, message });
  } while (cursor.peek() === 0x20);
  return { name: "APPEND", mailbox, parts };
}

/**
 * RFC 4469 §5: "(" cat-part *(SP cat-part) ")", cat-part = "TEXT" SP literal / "URL" SP astring. With
 * `prefix`, the input may end right after a TEXT literal: the list goes on in a part not yet read.
 */
function parseCatenate(cursor: Cursor, prefix: boolean): CatenatePart[] {
  cursor.expect("(", '"(" opening the CATENATE parts');
  const pieces: CatenatePart[] = [];
  for (;;) {
    const word = cursor.atom("TEXT or URL").toUpperCase();
    cursor.space();
    if (word === "TEXT") {
      // A literal only (a quoted string is no text-literal); literal8 as for any APPEND data (RFC 3516).
      const c = cursor.peek();
      if (c !== 0x7b && c !== 0x7e) throw new ParseError("TEXT takes a literal, e.g. TEXT {12}");
      pieces.push({ kind: "text", text: cursor.stringBytes("a literal after TEXT", true) });
      if (prefix && cursor.atEnd()) return pieces;
    } else if (word === "URL") {
      pieces.push({ kind: "url", url: cursor.astring("an IMAP URL") });
    } else {
      throw new ParseError(`unknown CATENATE part ${word}; use TEXT or URL`);
    }
    if (cursor.accept(")")) return pieces;
    cursor.space();
  }
}

function parseMessageCommand(name: string, uid: boolean, cursor: Cursor): Command {
  cursor.space();
  if (name === "SEARCH") return parseSearch(uid, cursor);
  if (name === "SORT") return parseSort(uid, cursor);
  if (name === "THREAD") return parseThread(uid, cursor);
  const set = parseSequenceSet(cursor);
  cursor.space();
  switch (name) {
    case "FETCH":
      return parseFetch(uid, set, cursor);
    case "STORE":
      return parseStore(uid, set, cursor);
    default:
      return { name: name as "COPY" | "MOVE", uid, set, mailbox: cursor.astring("a mailbox name") };
  }
}

/**
 * RFC 9394 partial-range: positions 1-based in the result, counted from its end when negative ("-1:-50"
 * is the last fifty). Stored low position first.
 */
export interface PartialRange {
  first: number;
  last: number;
  fromEnd: boolean;
}

function parsePartialRange(cursor: Cursor): PartialRange {
  const fromEnd = cursor.accept("-");
  const a = cursor.nzNumber("a partial range position");
  cursor.expect(":", '":" in the partial range');
  if (cursor.accept("-") !== fromEnd) {
    throw new ParseError("both ends of a partial range count from the same end, e.g. 1:100 or -1:-100");
  }
  const b = cursor.nzNumber("a partial range position");
  return { first: Math.min(a, b), last: Math.max(a, b), fromEnd };
}

/**
 * RETURN (option …) of SEARCH (RFC 4731) and SORT (RFC 5267), with PARTIAL (RFC 9394) and the context
 * options UPDATE and CONTEXT (RFC 5267 §4.2, §4.3).
 */
function parseReturnOptions(
  cursor: Cursor,
  command: string,
  allowed: readonly string[],
): { returns: string[] | null; partial: PartialRange | null } {
  if (!cursor.accept("RETURN ")) return { returns: null, partial: null };
  let partial: PartialRange | null = null;
  const returns = cursor.list(() => {
    const option = cursor.atom(`a ${command} return option`).toUpperCase();
    if (!allowed.includes(option)) throw new ParseError(`unknown ${command} return option ${option}`);
    if (option === "PARTIAL") {
      cursor.space();
      partial = parsePartialRange(cursor);
    }
    return option;
  });
  // RFC 9394 §3.1: PARTIAL is a window on what ALL would return; asking for both is a mistake.
  if (partial !== null && returns.includes("ALL")) throw new ParseError("PARTIAL and ALL cannot be combined");
  cursor.space();
  return { returns, partial };
}

function parseSearch(uid: boolean, cursor: Cursor): Command {
  const { returns, partial } = parseReturnOptions(cursor, "SEARCH", [
    "MIN",
    "MAX",
    "ALL",
    "COUNT",
    "SAVE",
    "PARTIAL",
    "UPDATE",
    "CONTEXT",
  ]);
  const key = parseSearchProgram(cursor);
  return { name: "SEARCH", uid, returns, partial, key };
}

/**
 * RFC 5256 §4: SORT SP "(" [REVERSE SP] sort-key *(SP [REVERSE SP] sort-key) ")" SP search-criteria, with
 * ESORT's RETURN options before the sort keys (RFC 5267 §3).
 */
function parseSort(uid: boolean, cursor: Cursor): Command {
  const { returns, partial } = parseReturnOptions(cursor, "SORT", [
    "MIN",
    "MAX",
    "ALL",
    "COUNT",
    "PARTIAL",
    "UPDATE",
    "CONTEXT",
  ]);
  const words = cursor.list(() => cursor.atom("a sort key").toUpperCase());
  const criteria: SortCriterion[] = [];
  let reverse = false;
  for (const word of words) {
    if (word === "REVERSE") {
      if (reverse) throw new ParseError("REVERSE must be followed by a sort key");
      reverse = true;
      continue;
    }
    if (!(SORT_KEYS as readonly string[]).includes(word)) {
      throw new ParseError(
        `unknown sort key ${word}; use ${SORT_KEYS.join(", ")}, each perhaps after REVERSE`,
      );
    }
    criteria.push({ key: word as SortKey, reverse });
    reverse = false;
  }
  if (reverse || criteria.length === 0)
    throw new ParseError("SORT needs at least one sort key, and a key after REVERSE");
  cursor.space();
  return { name: "SORT", uid, returns, partial, criteria, key: parseSearchCriteria(cursor) };
}

/** RFC 5256 §4: THREAD SP thread-alg SP search-criteria. */
function parseThread(uid: boolean, cursor: Cursor): Command {
  const algorithm = cursor.atom("a threading algorithm").toUpperCase();
  if (!(THREAD_ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw new ParseError(`unknown threading algorithm ${algorithm}; use ${THREAD_ALGORITHMS.join(" or ")}`);
  }
  cursor.space();
  return { name: "THREAD", uid, algorithm: algorithm as ThreadAlgorithm, key: parseSearchCriteria(cursor) };
}

const FETCH_ATTRIBUTES = new Set([
  "FLAGS",
  "UID",
  "INTERNALDATE",
  "RFC822.SIZE",
  "ENVELOPE",
  "BODYSTRUCTURE",
  "BODY",
  "MODSEQ",
  "EMAILID",
  "THREADID",
  "SAVEDATE",
  "RFC822",
  "RFC822.HEADER",
  "RFC822.TEXT",
]);

const MACROS: Record<string, FetchItem[]> = {
  ALL: [{ kind: "FLAGS" }, { kind: "INTERNALDATE" }, { kind: "RFC822.SIZE" }, { kind: "ENVELOPE" }],
  FAST: [{ kind: "FLAGS" }, { kind: "INTERNALDATE" }, { kind: "RFC822.SIZE" }],
  FULL: [
    { kind: "FLAGS" },
    { kind: "INTERNALDATE" },
    { kind: "RFC822.SIZE" },
    { kind: "ENVELOPE" },
    { kind: "BODY" },
  ],
};

function parseFetch(uid: boolean, set: SequenceSet, cursor: Cursor): Command {
  let items: FetchItem[];
  const macro = Object.keys(MACROS).find((m) => cursor.lookingAtWord(m));
  if (macro !== undefined) {
    cursor.accept(macro);
    items = [...(MACROS[macro] ?? [])];
  } else if (cursor.peek() === 0x28) {
    items = cursor.list(() => parseFetchItem(cursor), false);
  } else {
    items = [parseFetchItem(cursor)];
  }
  let changedSince: number | null = null;
  let vanished = false;
  let partial: PartialRange | null = null;
  if (!cursor.atEnd()) {
    cursor.space();
    cursor.list(() => {
      const modifier = cursor.atom("a FETCH modifier").toUpperCase();
      if (modifier === "CHANGEDSINCE") {
        cursor.space();
        changedSince = cursor.number("a MODSEQ");
      } else if (modifier === "VANISHED") {
        vanished = true;
      } else if (modifier === "PARTIAL") {
        cursor.space();
        partial = parsePartialRange(cursor);
      } else {
        throw new ParseError(`unknown FETCH modifier ${modifier}`);
      }
      return modifier;
    }, false);
    // RFC 7162 §3.2.6: VANISHED only with UID FETCH and CHANGEDSINCE.
    if (vanished && (!uid || changedSince === null)) {
      throw new ParseError("VANISHED needs UID FETCH with CHANGEDSINCE");
    }
  }
  if (uid && !items.some((item) => item.kind === "UID")) items.push({ kind: "UID" });
  if (changedSince !== null && !items.some((item) => item.kind === "MODSEQ")) items.push({ kind: "MODSEQ" });
  return { name: "FETCH", uid, set, items, changedSince, vanished, partial };
}

function parsePartNumbers(cursor: Cursor): number[] {
  const part: number[] = [];
  while (cursor.peek() >= 0x31 && cursor.peek() <= 0x39) {
    part.push(cursor.nzNumber("a part number"));
    if (part.length > 100) throw new ParseError("the section part path is too deep");
    if (!cursor.accept(".")) break;
    if (!(cursor.peek() >= 0x31 && cursor.peek() <= 0x39)) {
      // The dot belongs to a section text after the part numbers: "1.HEADER".
      return part;
    }
  }
  return part;
}

function parsePartial(cursor: Cursor): Partial | null {
  if (!cursor.accept("<")) return null;
  const offset = cursor.number("a partial offset");
  cursor.expect(".", '"." between offset and length');
  const length = cursor.nzNumber("a partial length");
  cursor.expect(">");
  return { offset, length };
}

function parseFetchItem(cursor: Cursor): FetchItem {
  const word = cursor.match(/^[A-Za-z0-9.]+/)?.toUpperCase();
  if (word === undefined) throw new ParseError("expected a FETCH item");
  if (word === "BINARY" || word === "BINARY.PEEK" || word === "BINARY.SIZE") {
    cursor.expect("[", `"[" after ${word}`);
    const part = parsePartNumbers(cursor);
    cursor.expect("]", '"]" closing the part');
    const path = part.join(".");
    if (word === "BINARY.SIZE") return { kind: "binary.size", part, label: `BINARY.SIZE[${path}]` };
    const partial = parsePartial(cursor);
    return { kind: "binary", peek: word === "BINARY.PEEK", part, partial, label: `BINARY[${path}]` };
  }
  if ((word === "BODY" || word === "BODY.PEEK") && cursor.peek() === 0x5b) {
    cursor.expect("[");
    const section = parseSection(cursor);
    cursor.expect("]", '"]" closing the section');
    const partial = parsePartial(cursor);
    const label = `BODY[${sectionLabel(section)}]${partial === null ? "" : `<${partial.offset}>`}`;
    return { kind: "section", peek: word === "BODY.PEEK", section, partial, label };
  }
  if (word === "BODY.PEEK") throw new ParseError("BODY.PEEK needs a section, e.g. BODY.PEEK[]");
  if (word === "PREVIEW") {
    // RFC 8970 §3.1: PREVIEW [SP "(" preview-mod *(SP preview-mod) ")"]; LAZY is the one modifier, and
    // the preview is cheap enough here to be made whether or not the client allows it to be left out.
    if (cursor.lookingAt(" (")) {
      cursor.space();
      cursor.list(() => {
        const modifier = cursor.atom("a PREVIEW modifier").toUpperCase();
        if (modifier !== "LAZY") throw new ParseError(`unknown PREVIEW modifier ${modifier}`);
        return modifier;
      }, false);
    }
    return { kind: "PREVIEW" };
  }
  if (!FETCH_ATTRIBUTES.has(word)) throw new ParseError(`unknown FETCH item ${word}`);
  return { kind: word } as FetchItem;
}

/**
 * A section-spec on its own, as an IMAP URL's ;SECTION= carries it (RFC 5092 §3, percent-decoded): "1.2",
 * "HEADER", "1.MIME", "HEADER.FIELDS (SUBJECT)". Throws ParseError.
 */
export function parseSectionText(text: string): SectionSpec {
  const cursor = new Cursor({ lines: [Buffer.from(text, "utf8")], literals: [] });
  const section = parseSection(cursor);
  cursor.end();
  return section;
}

function parseSection(cursor: Cursor): SectionSpec {
  const part = parsePartNumbers(cursor);
  if (cursor.peek() === 0x5d || cursor.peek() === -1) return { part };
  const text = cursor.atom("a section text (HEADER, HEADER.FIELDS, TEXT or MIME)").toUpperCase();
  if (text === "HEADER" || text === "TEXT") return { part, text };
  if (text === "MIME") {
    if (part.length === 0) throw new ParseError("MIME needs a part number, e.g. BODY[1.MIME]");
    return { part, text };
  }
  if (text === "HEADER.FIELDS" || text === "HEADER.FIELDS.NOT") {
    cursor.space();
    const fields = cursor.list(() => cursor.astring("a header field name"), false);
    return { part, text, fields };
  }
  throw new ParseError(`unknown section ${text}`);
}

function sectionLabel(section: SectionSpec): string {
  const parts = section.part.join(".");
  if (section.text === undefined) return parts;
  const prefix = parts === "" ? "" : `${parts}.`;
  if (section.fields !== undefined) {
    const fields = section.fields.map((f) =>
      /^[\x21-\x7e]+$/.test(f) && !/[(){%*"\\\]]/.test(f) ? f : JSON.stringify(f),
    );
    return `${prefix}${section.text} (${fields.join(" ").toUpperCase()})`;
  }
  return `${prefix}${section.text}`;
}

function parseStore(uid: boolean, set: SequenceSet, cursor: Cursor): Command {
  let unchangedSince: number | null = null;
  if (cursor.peek() === 0x28) {
    cursor.list(() => {
      cursor.expect("UNCHANGEDSINCE", "UNCHANGEDSINCE");
      cursor.space();
      unchangedSince = cursor.number("a MODSEQ");
      return null;
    }, false);
    cursor.space();
  }
  const item = cursor.atom("+FLAGS, -FLAGS or FLAGS", "+").toUpperCase();
  const match = /^([+-]?)FLAGS(\.SILENT)?$/.exec(item);
  if (match === null) throw new ParseError("expected +FLAGS, -FLAGS or FLAGS (optionally .SILENT)");
  const operation = match[1] === "+" ? "add" : match[1] === "-" ? "remove" : "set";
  cursor.space();
  let flags: string[];
  if (cursor.peek() === 0x28) {
    flags = cursor.list(() => cursor.flag());
  } else {
    flags = [cursor.flag()];
    while (cursor.accept(" ")) flags.push(cursor.flag());
  }
  return { name: "STORE", uid, set, operation, silent: match[2] !== undefined, flags, unchangedSince };
}

export { ParseError };

/**
 * An entry name (RFC 5464 §3.2): under /private or /shared, no "*" or "%", no empty component, no control
 * characters; compared without regard to case, so it is lower-cased here. A bad one is BAD (§4.1).
 */
function metadataEntry(cursor: Cursor): string {
  const entry = cursor.astring("an entry name");
  const lower = entry.toLowerCase();
  if (!/^\/(private|shared)(\/|$)/.test(lower)) {
    throw new ParseError(`entry ${entry} is not under /private or /shared`);
  }
  if (/[*%\x00-\x1f\x7f]/.test(entry) || entry.includes("//") || entry.endsWith("/")) {
    throw new ParseError(`entry ${entry} is not a valid entry name (RFC 5464 §3.2)`);
  }
  return lower;
}

/** A GETMETADATA option (RFC 5464 §4.2.1 MAXSIZE, §4.2.2 DEPTH), recorded in `query`. */
function metadataOption(cursor: Cursor, query: MetadataQuery, command: string): void {
  const option = cursor.atom("MAXSIZE or DEPTH").toUpperCase();
  cursor.space();
  if (option === "MAXSIZE") query.maxSize = cursor.number("a size in octets");
  else if (option === "DEPTH") {
    const value = cursor.atom("0, 1 or infinity").toLowerCase();
    if (value !== "0" && value !== "1" && value !== "infinity") {
      throw new ParseError(`DEPTH must be 0, 1 or infinity, not ${value}`);
    }
    query.depth = value === "infinity" ? value : (Number(value) as 0 | 1);
  } else throw new ParseError(`unknown ${command} option ${option}; MAXSIZE and DEPTH are`);
}

function parseGetMetadata(cursor: Cursor): Command {
  // RFC 5464 §4.2: GETMETADATA [(MAXSIZE n DEPTH d)] mailbox (entry / "(" entry *(SP entry) ")").
  const query: MetadataQuery = { entries: [], maxSize: null, depth: 0 };
  cursor.space();
  if (cursor.peek() === 0x28) {
    cursor.list(() => metadataOption(cursor, query, "GETMETADATA"), false);
    cursor.space();
  }
  const mailbox = cursor.astring("a mailbox name");
  cursor.space();
  query.entries =
    cursor.peek() === 0x28 ? cursor.list(() => metadataEntry(cursor), false) : [metadataEntry(cursor)];
  return { name: "GETMETADATA", mailbox, ...query };
}

/**
 * RFC 9590 LIST return option METADATA: the entries to give for each listed mailbox, with GETMETADATA's
 * MAXSIZE and DEPTH. Only the RFC's examples were at hand, not its ABNF, and they show just the plain
 * `METADATA (entry ...)`; so the grammar is accepted liberally: inside the parentheses, entries (astrings)
 * and the options `MAXSIZE n` and `DEPTH d`, in any order, each either bare or in a parenthesised list of
 * its own (as GETMETADATA has them). A bad entry name is BAD, as in GETMETADATA (RFC 5464 §4.1).
 */
function parseListMetadata(cursor: Cursor): MetadataQuery {
  const query: MetadataQuery = { entries: [], maxSize: null, depth: 0 };
  const item = (nested: boolean): void => {
    if (!nested && cursor.peek() === 0x28) cursor.list(() => item(true), false);
    else if (cursor.lookingAtWord("MAXSIZE") || cursor.lookingAtWord("DEPTH")) {
      metadataOption(cursor, query, "METADATA");
    } else query.entries.push(metadataEntry(cursor));
  };
  cursor.list(() => item(false), false);
  if (query.entries.length === 0) throw new ParseError("METADATA names no entries; give at least one");
  return query;
}

/**
 * RFC 5465 §8: NOTIFY NONE, or NOTIFY SET [STATUS] followed by event groups. What the grammar leaves to
 * the prose is checked here too, as a client's mistake (BAD): MessageNew and MessageExpunge only
 * together, FlagChange and AnnotationChange only with both (§5), fetch attributes and only message
 * events for the selected mailbox (§5.2, §6), and one selected group at most (§6).
 */
function parseNotify(cursor: Cursor): Command {
  cursor.space();
  const verb = cursor.atom("SET or NONE").toUpperCase();
  if (verb === "NONE") return { name: "NOTIFY", status: false, groups: null };
  if (verb !== "SET")
    throw new ParseError(`NOTIFY ${verb} is not a NOTIFY form; use NOTIFY SET or NOTIFY NONE`);
  cursor.space();
  let status = false;
  if (cursor.peek() !== 0x28) {
    const word = cursor.atom("STATUS or an event group").toUpperCase();
    if (word !== "STATUS") throw new ParseError(`expected STATUS or an event group, not ${word}`);
    status = true;
    cursor.space();
  }
  const groups: NotifyGroup[] = [];
  for (;;) {
    groups.push(parseNotifyGroup(cursor));
    if (!cursor.accept(" ")) break;
  }
  if (groups.filter((g) => isSelectedFilter(g.filter)).length > 1) {
    throw new ParseError("only one event group may name selected or selected-delayed");
  }
  return { name: "NOTIFY", status, groups };
}

function isSelectedFilter(filter: NotifyFilter): boolean {
  return filter.kind === "selected" || filter.kind === "selected-delayed";
}

function parseNotifyGroup(cursor: Cursor): NotifyGroup {
  cursor.expect("(", '"(" opening an event group');
  const filter = parseNotifyFilter(cursor);
  cursor.space();
  const events: string[] = [];
  let fetch: FetchItem[] | null = null;
  if (cursor.peek() === 0x28) {
    cursor.list(() => {
      const word = cursor.atom("an event name");
      const event = NOTIFY_EVENTS.find((e) => e.toUpperCase() === word.toUpperCase()) ?? word.toUpperCase();
      if (events.includes(event)) throw new ParseError(`the event ${event} is named twice`);
      events.push(event);
      if (event === "MessageNew" && cursor.lookingAt(" (")) {
        cursor.space();
        fetch = cursor.list(() => parseFetchItem(cursor), false);
      }
      return event;
    }, false);
  } else {
    const word = cursor.atom("NONE or a list of events").toUpperCase();
    if (word !== "NONE") throw new ParseError(`expected NONE or a list of events, not ${word}`);
  }
  cursor.expect(")", '")" closing the event group');
  const has = (event: string) => events.includes(event);
  if (has("MessageNew") !== has("MessageExpunge")) {
    throw new ParseError("MessageNew and MessageExpunge go together (RFC 5465 §5)");
  }
  if ((has("FlagChange") || has("AnnotationChange")) && !has("MessageNew")) {
    throw new ParseError("FlagChange and AnnotationChange need MessageNew and MessageExpunge (RFC 5465 §5)");
  }
  if (isSelectedFilter(filter)) {
    const other = events.find((e) => !MESSAGE_EVENTS.has(e));
    if (other !== undefined)
      throw new ParseError(`${other} is not a message event; selected takes only those`);
  } else if (fetch !== null) {
    throw new ParseError("fetch attributes go with MessageNew for the selected mailbox only (RFC 5465 §5.2)");
  }
  return { filter, events, fetch };
}

function parseNotifyFilter(cursor: Cursor): NotifyFilter {
  const word = cursor.atom("a mailbox filter").toLowerCase();
  switch (word) {
    case "selected":
    case "selected-delayed":
    case "inboxes":
    case "personal":
    case "subscribed":
      return { kind: word };
    case "subtree":
    case "mailboxes": {
      cursor.space();
      const mailboxes =
        cursor.peek() === 0x28
          ? cursor.list(() => cursor.astring("a mailbox name"), false)
          : [cursor.astring("a mailbox name")];
      return { kind: word, mailboxes };
    }
    default:
      throw new ParseError(`unknown mailbox filter ${word}; RFC 5465 §6 defines the ones there are`);
  }
}

/** RFC 4467 §9 mechanism: "INTERNAL" / 1*(ALPHA / DIGIT / "-" / "."), compared without case. */
function urlauthMechanism(cursor: Cursor): string {
  const mechanism = cursor.atom("a URLAUTH mechanism");
  if (!/^[A-Za-z0-9.-]+$/.test(mechanism))
    throw new ParseError(`${mechanism} is not a URLAUTH mechanism name`);
  return mechanism.toUpperCase();
}
