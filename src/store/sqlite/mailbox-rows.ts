// Mailbox rows as more than one part writes and checks them: the directory creates a new user's default
// mailboxes, messages and mailboxes look mailboxes up by id. Each runs in the caller's transaction.

import { SPECIAL_USES } from "../input-checks.js";
import { type SpecialUse, StoreError } from "../types.js";
import type { SqliteDatabase } from "./database.js";
import type { MailboxRow } from "./rows.js";

/** RFC 9051 §2.3.1.1: a re-created name must get a new UIDVALIDITY, so it is strictly increasing. */
function nextUidValidity(database: SqliteDatabase): number {
  return database.get<{ value: number }>(
    "UPDATE meta SET value = max(value + 1, ?) WHERE key = 'last_uid_validity' RETURNING value",
    Math.floor(Date.now() / 1000),
  )!.value;
}

/**
 * The id a new mailbox gets: above every mailbox id a tombstone still names, since SQLite would hand out
 * the highest deleted rowid again, and JMAP ids must not come back (RFC 8620 §1.2).
 */
export const NEW_MAILBOX_ID = `(SELECT max(coalesce((SELECT max(id) FROM mailboxes), 0),
  coalesce((SELECT max(mailbox_id) FROM mailbox_tombstones), 0)) + 1)`;

/** `modseq`: the account MODSEQ the mailbox is created at, its first HIGHESTMODSEQ. */
export function insertMailbox(
  database: SqliteDatabase,
  userId: number,
  name: string,
  specialUse: SpecialUse | null,
  modseq: number,
): MailboxRow {
  if (specialUse !== null && !SPECIAL_USES.has(specialUse)) {
    throw new StoreError("invalid", `"${String(specialUse)}" is not a special-use attribute of RFC 6154`);
  }
  if (database.get("SELECT 1 FROM mailboxes WHERE user_id = ? AND name = ?", userId, name)) {
    throw new StoreError("exists", `mailbox "${name}" already exists`);
  }
  // A new mailbox starts subscribed. The subscribed column is not read since schema 3 (MAILBOX_SELECT in
  // mailboxes.ts).
  subscribe(database, userId, name);
  return database.get<MailboxRow>(
    `INSERT INTO mailboxes (id, user_id, name, special_use, subscribed, uid_validity, uid_next,
                            highest_modseq, created_modseq)
     VALUES (${NEW_MAILBOX_ID}, ?, ?, ?, 1, ?, 1, ?, ?) RETURNING *`,
    userId,
    name,
    specialUse,
    nextUidValidity(database),
    modseq,
    modseq,
  )!;
}

export function subscribe(database: SqliteDatabase, userId: number, name: string): void {
  database.run(
    "INSERT INTO subscriptions (user_id, name) VALUES (?, ?) ON CONFLICT DO NOTHING",
    userId,
    name,
  );
}

export function requireMailbox(database: SqliteDatabase, mailboxId: number): MailboxRow {
  const row = database.get<MailboxRow>("SELECT * FROM mailboxes WHERE id = ?", mailboxId);
  if (!row) throw new StoreError("not-found", `mailbox ${mailboxId} does not exist (deleted meanwhile?)`);
  return row;
}
