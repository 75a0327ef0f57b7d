// Email/query's filter, sort and thread collapsing (RFC 8621 §4.4) over the account's emails, without
// the store: the method hands in the rows and a source of parsed facts, fetched only for conditions and
// comparators that need them (most queries — a mailbox sorted by receivedAt — read none).

import { searchWords } from "../mail/search-text.js";
import type { SearchField } from "../store/types.js";
import { headerFilterProperty } from "./email/header-forms.js";
import { invalidArguments, MethodError } from "./errors.js";
import { isValidKeyword } from "./keywords.js";
import type { Json, JsonObject } from "./types.js";

export interface QueryEmail {
  id: string;
  threadId: string;
  mailboxId: string;
  /** Milliseconds since the epoch. */
  receivedAt: number;
  size: number;
  /** Lower-case keywords. */
  keywords: ReadonlySet<string>;
}

export interface FactAddress {
  name: string | null;
  email: string | null;
}

/** What the headers and structure say, decoded; a source computes and caches them per email. */
export interface EmailFacts {
  from: FactAddress[];
  to: FactAddress[];
  cc: FactAddress[];
  bcc: FactAddress[];
  subject: string;
  /** The Date header in milliseconds; null when absent or unparseable. */
  sentAt: number | null;
  /** Every field of that name (case-insensitive), values unfolded and decoded. */
  header(name: string): string[];
}

export interface QuerySource {
  facts(email: QueryEmail): Promise<EmailFacts>;
  /** RFC 8621 §4.1.4's hasAttachment, which needs the whole body structure. */
  hasAttachment(email: QueryEmail): Promise<boolean>;
  /** The decoded text of the email's text parts (RFC 8621 §4.4.1 "body"). */
  bodyText(email: QueryEmail): Promise<string>;
  /**
   * Whether the full-text index finds the words of `text` in one of the email's `fields` (search-index.ts:
   * a phrase, the last word a prefix). A source without one (unit tests) leaves it out, and the text
   * conditions read facts and bodies instead, as substrings; so does a text without any word.
   */
  search?(email: QueryEmail, fields: readonly SearchField[], text: string): Promise<boolean>;
}

type Test = (email: QueryEmail, source: QuerySource) => Promise<boolean> | boolean;

/** RFC 8621's default collation, i;unicode-casemap: compare case-folded. */
const fold = (text: string) => text.normalize("NFKC").toLowerCase();
const contains = (haystack: string, needle: string) => fold(haystack).includes(fold(needle));

function addressesContain(addresses: FactAddress[], text: string): boolean {
  return addresses.some((address) => contains(`${address.name ?? ""} <${address.email ?? ""}>`, text));
}

function requireString(key: string, value: Json): string {
  if (typeof value !== "string") throw new MethodError("unsupportedFilter", `${key} must be a string`);
  return value;
}

function requireKeyword(key: string, value: Json): string {
  const keyword = requireString(key, value);
  if (!isValidKeyword(keyword)) {
    throw new MethodError("unsupportedFilter", `${key}: ${JSON.stringify(keyword)} is not a keyword`);
  }
  return keyword.toLowerCase();
}

function requireDate(key: string, value: Json): number {
  const text = requireString(key, value);
  const time = Date.parse(text);
  // RFC 8620 §1.4 UTCDate: "Z" only.
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(text) || Number.isNaN(time)) {
    throw new MethodError("unsupportedFilter", `${key} must be a UTCDate such as 2026-01-31T09:00:00Z`);
  }
  return time;
}

function requireSize(key: string, value: Json): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw new MethodError("unsupportedFilter", `${key} must be a non-negative integer`);
  }
  return value;
}

/** The emails of each thread, for the thread-keyword conditions and comparators. */
export type Threads = ReadonlyMap<string, readonly QueryEmail[]>;

export function threadsOf(emails: readonly QueryEmail[]): Threads {
  const threads = new Map<string, QueryEmail[]>();
  for (const email of emails) {
    const members = threads.get(email.threadId);
    if (members) members.push(email);
    else threads.set(email.threadId, [email]);
  }
  return threads;
}

/** A text condition answered by the source's full-text index where it has one and the text has words. */
function indexed(fields: readonly SearchField[], text: string, unindexed: Test): Test {
  if (searchWords(text).length === 0) return unindexed;
  return (email, source) => (source.search ? source.search(email, fields, text) : unindexed(email, source));
}

/** RFC 8621 §4.4.1 "text": From, To, Cc, Bcc, Subject, or any text part (attached messages are parts). */
const TEXT_FIELDS: readonly SearchField[] = ["subject", "from", "to", "cc", "bcc", "body"];

function conditionTest(key: string, value: Json, threads: Threads): Test {
  switch (key) {
    case "inMailbox": {
      const id = requireString(key, value);
      return (email) => email.mailboxId === id;
    }
    case "inMailboxOtherThan": {
      if (!Array.isArray(value) || value.some((id) => typeof id !== "string")) {
        throw new MethodError("unsupportedFilter", "inMailboxOtherThan must be an array of mailbox ids");
      }
      const ids = new Set(value as string[]);
      return (email) => !ids.has(email.mailboxId);
    }
    case "before": {
      const time = requireDate(key, value);
      return (email) => email.receivedAt < time;
    }
    case "after": {
      const time = requireDate(key, value);
      return (email) => email.receivedAt >= time;
    }
    case "minSize": {
      const size = requireSize(key, value);
      return (email) => email.size >= size;
    }
    case "maxSize": {
      const size = requireSize(key, value);
      return (email) => email.size < size;
    }
    case "hasKeyword": {
      const keyword = requireKeyword(key, value);
      return (email) => email.keywords.has(keyword);
    }
    case "notKeyword": {
      const keyword = requireKeyword(key, value);
      return (email) => !email.keywords.has(keyword);
    }
    case "allInThreadHaveKeyword":
    case "someInThreadHaveKeyword":
    case "noneInThreadHaveKeyword": {
      const keyword = requireKeyword(key, value);
      const has = (email: QueryEmail) => email.keywords.has(keyword);
      return (email) => {
        const members = threads.get(email.threadId) ?? [email];
        if (key === "allInThreadHaveKeyword") return members.every(has);
        if (key === "someInThreadHaveKeyword") return members.some(has);
        return !members.some(has);
      };
    }
    case "hasAttachment": {
      if (typeof value !== "boolean")
        throw new MethodError("unsupportedFilter", "hasAttachment must be true or false");
      return async (email, source) => (await source.hasAttachment(email)) === value;
    }
    case "from":
    case "to":
    case "cc":
    case "bcc": {
      const text = requireString(key, value);
      return indexed([key], text, async (email, source) =>
        addressesContain((await source.facts(email))[key], text),
      );
    }
    case "subject": {
      const text = requireString(key, value);
      return indexed([key], text, async (email, source) =>
        contains((await source.facts(email)).subject, text),
      );
    }
    case "body": {
      const text = requireString(key, value);
      return indexed([key], text, async (email, source) => contains(await source.bodyText(email), text));
    }
    case "text": {
      // RFC 8621 §4.4.1: From, To, Cc, Bcc, Subject, or any text part.
      const text = requireString(key, value);
      return indexed(TEXT_FIELDS, text, async (email, source) => {
        const facts = await source.facts(email);
        if ([facts.from, facts.to, facts.cc, facts.bcc].some((list) => addressesContain(list, text)))
          return true;
        if (contains(facts.subject, text)) return true;
        return contains(await source.bodyText(email), text);
      });
    }
    case "header": {
      if (
        !Array.isArray(value) ||
        value.length < 1 ||
        value.length > 2 ||
        value.some((part) => typeof part !== "string")
      ) {
        throw new MethodError("unsupportedFilter", "header must be [name] or [name, text]");
      }
      const [name, text] = value as [string, string | undefined];
      if (headerFilterProperty(name) === null) {
        throw new MethodError(
          "unsupportedFilter",
          `header: ${JSON.stringify(name)} is not a header field name`,
        );
      }
      return async (email, source) => {
        const values = (await source.facts(email)).header(name);
        return text === undefined ? values.length > 0 : values.some((field) => contains(field, text));
      };
    }
    default:
      throw new MethodError("unsupportedFilter", `Email/query cannot filter on ${JSON.stringify(key)}`);
  }
}

/** Compiles a FilterOperator / FilterCondition tree (RFC 8620 §5.5) into one test. */
export function compileFilter(filter: Json | undefined, threads: Threads): Test {
  if (filter === undefined || filter === null) return () => true;
  if (typeof filter !== "object" || Array.isArray(filter)) {
    throw invalidArguments('"filter" must be a FilterOperator or FilterCondition object, or null');
  }
  if ("operator" in filter) {
    const { operator, conditions } = filter;
    if (!Array.isArray(conditions)) throw invalidArguments("a FilterOperator needs a conditions array");
    const parts = conditions.map((condition) => compileFilter(condition, threads));
    switch (operator) {
      case "AND":
        return async (email, source) => {
          for (const part of parts) if (!(await part(email, source))) return false;
          return true;
        };
      case "OR":
        return async (email, source) => {
          for (const part of parts) if (await part(email, source)) return true;
          return false;
        };
      case "NOT":
        return async (email, source) => {
          for (const part of parts) if (await part(email, source)) return false;
          return true;
        };
      default:
        throw new MethodError(
          "unsupportedFilter",
          `unknown filter operator ${JSON.stringify(operator)}; use AND, OR or NOT`,
        );
    }
  }
  const tests = Object.entries(filter).map(([key, value]) => conditionTest(key, value, threads));
  return async (email, source) => {
    for (const test of tests) if (!(await test(email, source))) return false;
    return true;
  };
}

/** RFC 5256 §2.1's base subject, as RFC 8621 §4.4.2 sorts by it: reply and forward markers removed. */
export function baseSubject(subject: string): string {
  let text = subject.replace(/\s+/g, " ").trim();
  for (;;) {
    const before = text;
    text = text
      .replace(/\s*\(fwd\)$/i, "")
      .replace(/^(\[[^\]]*\]\s*)*(re|fwd?)\s*(\[[^\]]*\])?\s*:\s*/i, "")
      .replace(/^\[fwd:\s*(.*)\]$/i, "$1")
      .trim();
    if (text === before) return text;
  }
}

interface SortKey {
  needsFacts: boolean;
  compare(a: QueryEmail, b: QueryEmail, facts: (email: QueryEmail) => EmailFacts | undefined): number;
}

const firstName = (addresses: FactAddress[]) => {
  const first = addresses[0];
  return fold(first?.name || first?.email || "");
};

function sortKey(comparator: JsonObject, threads: Threads): SortKey {
  const direction = comparator.isAscending === false ? -1 : 1;
  if (comparator.collation !== undefined && comparator.collation !== "i;unicode-casemap") {
    throw new MethodError(
      "unsupportedSort",
      `collation ${JSON.stringify(comparator.collation)} is not supported; use i;unicode-casemap`,
    );
  }
  const byNumber = (value: (email: QueryEmail) => number): SortKey => ({
    needsFacts: false,
    compare: (a, b) => direction * (value(a) - value(b)),
  });
  const byFacts = (value: (facts: EmailFacts) => string | number): SortKey => ({
    needsFacts: true,
    compare: (a, b, facts) => {
      const left = facts(a);
      const right = facts(b);
      const x = left ? value(left) : "";
      const y = right ? value(right) : "";
      if (typeof x === "number" && typeof y === "number") return direction * (x - y);
      return direction * String(x).localeCompare(String(y));
    },
  });
  const keyword = () => {
    const value = comparator.keyword;
    if (typeof value !== "string" || !isValidKeyword(value)) {
      throw invalidArguments(`sorting by ${comparator.property} needs a "keyword"`);
    }
    return value.toLowerCase();
  };
  switch (comparator.property) {
    case "receivedAt":
      return byNumber((email) => email.receivedAt);
    case "size":
      return byNumber((email) => email.size);
    case "from":
      return byFacts((facts) => firstName(facts.from));
    case "to":
      return byFacts((facts) => firstName(facts.to));
    case "subject":
      return byFacts((facts) => fold(baseSubject(facts.subject)));
    case "sentAt":
      return byFacts((facts) => facts.sentAt ?? 0);
    case "hasKeyword": {
      const name = keyword();
      return byNumber((email) => (email.keywords.has(name) ? 1 : 0));
    }
    case "allInThreadHaveKeyword":
    case "someInThreadHaveKeyword": {
      const name = keyword();
      const all = comparator.property === "allInThreadHaveKeyword";
      return byNumber((email) => {
        const members = threads.get(email.threadId) ?? [email];
        const has = (member: QueryEmail) => member.keywords.has(name);
        return (all ? members.every(has) : members.some(has)) ? 1 : 0;
      });
    }
    default:
      throw new MethodError(
        "unsupportedSort",
        `Email/query cannot sort by ${JSON.stringify(comparator.property)}`,
      );
  }
}

export const SORT_PROPERTIES = [
  "receivedAt",
  "size",
  "from",
  "to",
  "subject",
  "sentAt",
  "hasKeyword",
  "allInThreadHaveKeyword",
  "someInThreadHaveKeyword",
];

const THREAD_KEYWORD = /^(all|some|none)InThreadHaveKeyword$/;

/**
 * Whether a query looks at other emails of a thread (the thread-keyword conditions and sorts); only then
 * must the caller hand in the emails outside the ones queried.
 */
export function readsThreadMates(query: EmailQuery): boolean {
  const inFilter = (node: Json | undefined): boolean => {
    if (node === null || typeof node !== "object" || Array.isArray(node)) return false;
    if (Array.isArray(node.conditions)) return node.conditions.some(inFilter);
    return Object.keys(node).some((key) => THREAD_KEYWORD.test(key));
  };
  const sorts = Array.isArray(query.sort) ? query.sort : [];
  return (
    inFilter(query.filter) ||
    sorts.some(
      (comparator) =>
        comparator !== null &&
        typeof comparator === "object" &&
        !Array.isArray(comparator) &&
        typeof comparator.property === "string" &&
        THREAD_KEYWORD.test(comparator.property),
    )
  );
}

export interface EmailQuery {
  filter?: Json;
  sort?: Json;
  collapseThreads?: boolean;
}

/** Ties go to the older email id, the order the store's pageMailbox uses too. */
const emailNumber = (id: string) => Number(id.slice(1));

/**
 * The ids of the matching emails in order. Without a sort the newest come first, as mail clients show
 * them; ties are broken by receivedAt (newest first) and then email id, so the order is stable (RFC 8620 §5.5).
 */
export async function runEmailQuery(
  emails: readonly QueryEmail[],
  query: EmailQuery,
  source: QuerySource,
  /** Every email of the account, when `emails` are only some (threads reach across mailboxes). */
  threadMates: readonly QueryEmail[] = emails,
): Promise<string[]> {
  const threads = threadsOf(threadMates);
  const test = compileFilter(query.filter, threads);
  const comparators = query.sort === undefined || query.sort === null ? [] : query.sort;
  if (!Array.isArray(comparators)) throw invalidArguments('"sort" must be an array of comparators or null');
  const keys = comparators.map((comparator) => {
    if (comparator === null || typeof comparator !== "object" || Array.isArray(comparator)) {
      throw invalidArguments("each comparator must be an object");
    }
    return sortKey(comparator, threads);
  });
  const matching: QueryEmail[] = [];
  for (const email of emails) if (await test(email, source)) matching.push(email);
  const facts = new Map<QueryEmail, EmailFacts>();
  if (keys.some((key) => key.needsFacts)) {
    for (const email of matching) facts.set(email, await source.facts(email));
  }
  const lookup = (email: QueryEmail) => facts.get(email);
  matching.sort((a, b) => {
    for (const key of keys) {
      const order = key.compare(a, b, lookup);
      if (order !== 0) return order;
    }
    return b.receivedAt - a.receivedAt || emailNumber(a.id) - emailNumber(b.id);
  });
  if (query.collapseThreads !== true) return matching.map((email) => email.id);
  const seen = new Set<string>();
  const ids: string[] = [];
  for (const email of matching) {
    if (seen.has(email.threadId)) continue;
    seen.add(email.threadId);
    ids.push(email.id);
  }
  return ids;
}
