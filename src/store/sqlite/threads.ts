// Thread ids on SQLite (the rule is in ../threading.ts): the user's known keys live in thread_keys.
// Each runs in the caller's transaction, before the entry it is for is inserted.

import type { ChangeSet } from "../change-log.js";
import { chooseThread, type KnownKey, type ThreadHeaders, threadHeaders } from "../threading.js";
import { threadHasEntries } from "./changes.js";
import type { SqliteDatabase } from "./database.js";

/** The header block threading reads: the one just captured, else the one stored with the body. */
export function storedThreadHeaders(
  database: SqliteDatabase,
  messageId: string,
  captured: Buffer | null,
): ThreadHeaders {
  if (captured !== null) return threadHeaders(captured);
  const stored = database.stmt("SELECT header FROM messages WHERE id = ?").pluck(true).get(messageId) as
    | Buffer
    | null
    | undefined;
  return threadHeaders(stored ?? null);
}

/**
 * The thread of a new entry of the message for the user, with the Email and Thread changes recorded:
 * a message the user already has keeps its thread; otherwise its keys decide, and are remembered.
 */
export function placeEntry(
  database: SqliteDatabase,
  changes: ChangeSet,
  userId: number,
  messageId: string,
  headers: () => ThreadHeaders,
): string {
  const existing = existingThread(database, userId, messageId);
  if (existing !== undefined) {
    changes.record(userId, "Email", messageId, "u");
    return existing;
  }
  const threadId = assignThread(database, userId, messageId, headers());
  changes.record(userId, "Email", messageId, "c");
  const joined = threadId !== messageId && threadHasEntries(database, userId, threadId);
  changes.record(userId, "Thread", threadId, joined ? "u" : "c");
  return threadId;
}

/**
 * The thread of an imported entry: the one given, else the one the user's copy of the message has, else
 * as for a new message. The message's keys lead later messages into it.
 */
export function importThread(
  database: SqliteDatabase,
  userId: number,
  messageId: string,
  headers: ThreadHeaders,
  given: string | undefined,
): string {
  if (given === undefined) {
    const existing = existingThread(database, userId, messageId);
    if (existing !== undefined) return existing;
    return assignThread(database, userId, messageId, headers);
  }
  rememberKeys(database, userId, given, headers);
  return given;
}

function existingThread(database: SqliteDatabase, userId: number, messageId: string): string | undefined {
  return database
    .stmt(
      `SELECT e.thread_id FROM mailbox_messages e JOIN mailboxes b ON b.id = e.mailbox_id
       WHERE e.message_id = ? AND b.user_id = ? LIMIT 1`,
    )
    .pluck(true)
    .get(messageId, userId) as string | undefined;
}

function rememberKeys(
  database: SqliteDatabase,
  userId: number,
  threadId: string,
  headers: ThreadHeaders,
): void {
  database.insertRows(
    "INSERT INTO thread_keys (user_id, key, thread_id, subject)",
    "ON CONFLICT DO NOTHING",
    4,
    headers.keys.map((key) => [userId, key, threadId, headers.subject]),
  );
}

function assignThread(
  database: SqliteDatabase,
  userId: number,
  messageId: string,
  headers: ThreadHeaders,
): string {
  if (headers.keys.length === 0) return messageId;
  // threadHeaders keeps at most 20 keys, so the statements for every count fit the statement cache.
  const known = new Map(
    database
      .all<{ key: string; thread_id: string; subject: string }>(
        `SELECT key, thread_id, subject FROM thread_keys
         WHERE user_id = ? AND key IN (${headers.keys.map(() => "?").join(", ")})`,
        userId,
        ...headers.keys,
      )
      .map((row): [string, KnownKey] => [row.key, { threadId: row.thread_id, subject: row.subject }]),
  );
  const threadId = chooseThread(headers, known) ?? messageId;
  if (known.size < headers.keys.length) rememberKeys(database, userId, threadId, headers);
  return threadId;
}
