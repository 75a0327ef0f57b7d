// The full-text index (issue 14): the words of each stored body's subject, addresses, text parts and
// attached messages (src/mail/search-text.ts makes them), written in the transaction that stores the body's first mailbox
// entry and removed with the body's row. A body is indexed once, whatever mailboxes and users hold it;
// a search answers only for the user's own entries.
//
// Bodies stored before the index existed (or by `mailroom migrate`'s import, which keeps ids and copies
// rows in bulk) are indexed by the first search of a user who holds them, in batches: only users who
// search pay for it, and a search never answers from a partial index.

import type { Readable } from "node:stream";
import {
  EMPTY_DOCUMENT,
  SEARCH_FIELDS,
  type SearchDocument,
  type SearchField,
  searchDocument,
} from "../mail/search-text.js";
import { StoreError } from "./errors.js";

export type { SearchDocument, SearchField } from "../mail/search-text.js";

export interface SearchIndex {
  /**
   * The message ids (bodies) of the user's entries, in `mailboxId` only when given, where one of
   * `fields` holds the words of `text` in order, the last one as a prefix (so "quarterly rep" finds
   * "Quarterly report"). Words are folded and split by searchWords; a text without any word finds
   * nothing. Each id once, in no particular order.
   */
  search(
    userId: number,
    fields: readonly SearchField[],
    text: string,
    options?: { mailboxId?: number },
  ): Promise<string[]>;

  /**
   * What the full-text index tells an IMAP BODY or TEXT search in `mailboxId` that requires `patterns`
   * (mail/search-match.ts): `ruledOut`, the bodies of the user's entries there whose kept match words
   * lack one of them, which the search cannot match; `unkept`, the bodies whose words are not kept
   * yet, which the search reads anyway and may keep with keepMatchWords. Bodies not yet indexed are
   * indexed first, as for `search`. Each id once, in no particular order.
   */
  cannotMatch(userId: number, mailboxId: number, patterns: readonly string[]): Promise<MatchFilter>;

  /**
   * Keeps each body's match words, as mail/search-match.ts's matchWords made them from the body's
   * stored bytes (null: too many to keep), where none are kept yet. Only a caller that read the body
   * may give them: wrong words would make searches miss messages.
   */
  keepMatchWords(words: ReadonlyMap<string, string | null>): Promise<void>;
}

export interface MatchFilter {
  ruledOut: string[];
  unkept: string[];
}

/** Patterns one cannotMatch query tests at most: any of them is enough to rule a body out. */
export const MAX_MATCH_PATTERNS = 16;

export function checkPatterns(mailboxId: number, patterns: readonly string[]): string[] {
  if (!Number.isSafeInteger(mailboxId)) throw new StoreError("invalid", "the mailbox id must be an integer");
  if (!Array.isArray(patterns) || patterns.some((pattern) => typeof pattern !== "string" || pattern === "")) {
    throw new StoreError("invalid", "match patterns must be non-empty strings");
  }
  // The longest are kept: they are the likeliest to be missing.
  return [...new Set(patterns)].sort((a, b) => b.length - a.length).slice(0, MAX_MATCH_PATTERNS);
}

/** The rows keepMatchWords writes: "" stands for null (nothing kept, never ruled out). */
export function checkMatchWords(words: ReadonlyMap<string, string | null>): Array<[string, string]> {
  if (!(words instanceof Map)) throw new StoreError("invalid", "match words must be a Map");
  const rows: Array<[string, string]> = [];
  for (const [messageId, kept] of words) {
    if (typeof messageId !== "string" || (kept !== null && typeof kept !== "string")) {
      throw new StoreError("invalid", "match words map message ids to strings or null");
    }
    if (kept !== null && !(kept.startsWith(" ") && kept.endsWith(" "))) {
      throw new StoreError("invalid", "kept match words begin and end with a space");
    }
    rows.push([messageId, kept ?? ""]);
  }
  return rows;
}

/** Bodies indexed per transaction when a search catches up on bodies stored before the index. */
export const CATCH_UP_BATCH = 200;

/**
 * Octets of a body the index reads: the words of what follows are not found. A field keeps at most
 * MAX_FIELD_CHARS of words anyway, and reading, decoding and splitting a whole body of a gigabyte would
 * hold several times that in memory.
 */
export const MAX_INDEXED_OCTETS = 4 * 1024 * 1024;

/** The document of a stored body; an unreadable one (gone meanwhile) is marked indexed, empty. */
export async function documentOf(
  blobs: { readBlobBytes(messageId: string): Promise<Buffer>; readBlob(messageId: string): Readable },
  messageId: string,
  /** The body's size, when the caller has it: a small body is read in one piece. */
  size?: number,
): Promise<SearchDocument> {
  try {
    const bytes =
      size !== undefined && size <= MAX_INDEXED_OCTETS
        ? await blobs.readBlobBytes(messageId)
        : await leadingOctets(blobs.readBlob(messageId), MAX_INDEXED_OCTETS);
    return searchDocument(bytes);
  } catch (error) {
    if (error instanceof StoreError && error.code === "not-found") return EMPTY_DOCUMENT;
    throw error;
  }
}

/** The first `limit` octets of a stream (all of a shorter one); the rest is never read. */
async function leadingOctets(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      total += (chunk as Buffer).length;
      if (total >= limit) break;
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).subarray(0, limit);
}

export function checkSearch(
  fields: readonly SearchField[],
  text: string,
  options?: { mailboxId?: number },
): void {
  if (
    !Array.isArray(fields) ||
    fields.length === 0 ||
    fields.some((field) => !(SEARCH_FIELDS as readonly string[]).includes(field))
  ) {
    throw new StoreError("invalid", `search fields must be some of ${SEARCH_FIELDS.join(", ")}`);
  }
  if (typeof text !== "string") throw new StoreError("invalid", "the search text must be a string");
  const mailboxId = options?.mailboxId;
  if (mailboxId !== undefined && !Number.isSafeInteger(mailboxId)) {
    throw new StoreError("invalid", "the mailbox id must be an integer");
  }
}
