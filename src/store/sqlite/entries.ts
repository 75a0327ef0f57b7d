// Mailbox entries as more than one part writes them: deliveries and appends insert them, copy, move and
// renaming INBOX carry them from one mailbox to another. Each runs in the caller's transaction.
//
// Every change takes the next value of the owner's account-wide MODSEQ (users.modseq) with one
// statement, which also hands out email ids; the changed mailbox's HIGHESTMODSEQ becomes that value.

import { nearestThread, type ThreadKeys } from "../threading.js";
import { type CopyResult, StoreError } from "../types.js";
import type { Effects, SqliteDatabase } from "./database.js";
import type { MailboxRow, MessageRow } from "./rows.js";

export function entryRow(database: SqliteDatabase, mailboxId: number, uid: number): MessageRow | undefined {
  return database.get<MessageRow>(
    "SELECT * FROM mailbox_messages WHERE mailbox_id = ? AND uid = ?",
    mailboxId,
    uid,
  );
}

export interface Allocation {
  userId: number;
  modseq: number;
  firstUid: number;
  firstEmailId: number;
}

/** The user's next MODSEQ, for changes to mailboxes themselves. */
export function nextUserModseq(database: SqliteDatabase, userId: number): number {
  const row = database.get<{ modseq: number }>(
    "UPDATE users SET modseq = modseq + 1 WHERE id = ? RETURNING modseq",
    userId,
  );
  if (!row) throw new StoreError("not-found", `user ${userId} does not exist`);
  return row.modseq;
}

/** Sets the mailbox's HIGHESTMODSEQ to `modseq` and reserves `uids` UIDs; returns the first. */
export function advanceMailbox(
  database: SqliteDatabase,
  mailboxId: number,
  uids: number,
  modseq: number,
): number {
  const row = database.get<{ uid_next: number }>(
    "UPDATE mailboxes SET uid_next = uid_next + ?, highest_modseq = ? WHERE id = ? RETURNING uid_next",
    uids,
    modseq,
    mailboxId,
  )!;
  return row.uid_next - uids;
}

/** Takes the owner's next MODSEQ and `emailIds` email ids, and `uids` UIDs in the mailbox. */
export function allocate(
  database: SqliteDatabase,
  mailboxId: number,
  uids: number,
  emailIds: number,
): Allocation {
  const user = database.get<{ id: number; modseq: number; next_email_id: number }>(
    `UPDATE users SET modseq = modseq + 1, next_email_id = next_email_id + ?
     WHERE id = (SELECT user_id FROM mailboxes WHERE id = ?) RETURNING id, modseq, next_email_id`,
    emailIds,
    mailboxId,
  );
  if (!user) throw new StoreError("not-found", `mailbox ${mailboxId} does not exist (deleted meanwhile?)`);
  return {
    userId: user.id,
    modseq: user.modseq,
    firstUid: advanceMailbox(database, mailboxId, uids, user.modseq),
    firstEmailId: user.next_email_id - emailIds,
  };
}

/**
 * The thread a new message of the user joins (`fresh`, its own email id, when nothing matches), and the
 * record of its Message-ID so later replies find it. The usual reply costs one lookup of its parent; the
 * other References are read only when the parent is not among the user's messages.
 */
export function assignThread(
  database: SqliteDatabase,
  userId: number,
  keys: ThreadKeys,
  fresh: number,
): number {
  const [parent, ...others] = keys.parents;
  let thread: number | undefined;
  if (parent !== undefined) {
    thread = database
      .stmt("SELECT thread_id FROM thread_refs WHERE user_id = ? AND hash = ?")
      .pluck(true)
      .get(userId, parent) as number | undefined;
  }
  if (thread === undefined && others.length > 0) {
    const rows = database.all<{ hash: number; thread_id: number }>(
      "SELECT hash, thread_id FROM thread_refs WHERE user_id = ? AND hash IN (SELECT value FROM json_each(?))",
      userId,
      JSON.stringify(others),
    );
    thread = nearestThread(others, new Map(rows.map((row) => [row.hash, row.thread_id])));
  }
  const own = recordOwn(database, userId, keys.own, thread ?? fresh);
  // Parents not seen yet are claimed for this thread, so a parent that arrives after its reply (a
  // slow relay, an import in another order) joins it instead of starting a thread of its own.
  const unseen = keys.parents.filter((hash) => hash !== keys.own);
  if (unseen.length > 0) {
    database.run(
      `INSERT INTO thread_refs (user_id, hash, thread_id) SELECT ?, value, ? FROM json_each(?) WHERE true
       ON CONFLICT DO NOTHING`,
      userId,
      own,
      JSON.stringify(unseen),
    );
  }
  return own;
}

function recordOwn(database: SqliteDatabase, userId: number, own: number | null, thread: number): number {
  if (own === null) return thread;
  // An earlier copy of the same message, or a reply that named it first, keeps its thread: the
  // conflict returns it.
  return database
    .stmt(
      `INSERT INTO thread_refs (user_id, hash, thread_id) VALUES (?, ?, ?)
       ON CONFLICT DO UPDATE SET thread_id = thread_id RETURNING thread_id`,
    )
    .pluck(true)
    .get(userId, own, thread) as number;
}

export interface NewEntry {
  mailboxId: number;
  uid: number;
  messageId: string;
  flags: string[];
  internalDate: number;
  /** RFC 8514 SAVEDATE, epoch milliseconds. */
  savedAt: number;
  size: number;
  modseq: number;
  emailId: number;
  threadId: number;
  createdModseq: number;
}

export function insertEntry(database: SqliteDatabase, entry: NewEntry): void {
  database.run(
    `INSERT INTO mailbox_messages (mailbox_id, uid, message_id, flags, seen, internal_date, saved_at, size,
                                   modseq, email_id, thread_id, created_modseq)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    entry.mailboxId,
    entry.uid,
    entry.messageId,
    JSON.stringify(entry.flags),
    entry.flags.includes("\\Seen") ? 1 : 0,
    entry.internalDate,
    entry.savedAt,
    entry.size,
    entry.modseq,
    entry.emailId,
    entry.threadId,
    entry.createdModseq,
  );
}

function presentEntries(database: SqliteDatabase, mailboxId: number, uids: number[]): MessageRow[] {
  const rows: MessageRow[] = [];
  for (const uid of uids) {
    const row = entryRow(database, mailboxId, uid);
    if (row) rows.push(row);
  }
  return rows;
}

/** Records entries as expunged at `modseq`, with their email and thread ids (for Email/changes). */
export function recordExpunged(database: SqliteDatabase, rows: readonly MessageRow[], modseq: number): void {
  for (const row of rows) {
    database.run(
      `INSERT INTO expunged (mailbox_id, uid, modseq, email_id, thread_id, created_modseq)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET modseq = excluded.modseq, email_id = excluded.email_id,
         thread_id = excluded.thread_id, created_modseq = excluded.created_modseq`,
      row.mailbox_id,
      row.uid,
      modseq,
      row.email_id,
      row.thread_id,
      row.created_modseq,
    );
  }
}

/** `modseq`: the MODSEQ a move already took for its copy; otherwise the expunge takes one. */
export function expungeWithin(
  database: SqliteDatabase,
  mailbox: MailboxRow,
  uids: number[],
  effects: Effects,
  modseq?: number,
): number[] {
  const rows = presentEntries(database, mailbox.id, uids);
  if (rows.length === 0) return [];
  let at: number;
  if (modseq === undefined) at = allocate(database, mailbox.id, 0, 0).modseq;
  else {
    advanceMailbox(database, mailbox.id, 0, modseq);
    at = modseq;
  }
  for (const row of rows) {
    database.run("DELETE FROM mailbox_messages WHERE mailbox_id = ? AND uid = ?", mailbox.id, row.uid);
  }
  recordExpunged(database, rows, at);
  database.dropUnreferenced(new Set(rows.map((row) => row.message_id)), effects);
  const removed = rows.map((row) => row.uid);
  effects.events.push({
    kind: "expunge",
    userId: mailbox.user_id,
    mailboxId: mailbox.id,
    uids: removed,
    modseq: at,
  });
  return removed;
}

/**
 * Copies the entries into `to`. A copy is a new email in the same thread; a move (`move`) carries the
 * email over, id and creation MODSEQ kept, and expunges the source in the same MODSEQ.
 */
export function copyWithin(
  database: SqliteDatabase,
  from: MailboxRow,
  uids: number[],
  to: MailboxRow,
  effects: Effects,
  move = false,
): CopyResult {
  const rows = presentEntries(database, from.id, uids);
  const uidValidity = database.get<{ uid_validity: number }>(
    "SELECT uid_validity FROM mailboxes WHERE id = ?",
    to.id,
  )!.uid_validity;
  if (rows.length === 0) return { mapping: [], uidValidity };
  const { firstUid, modseq, firstEmailId } = allocate(database, to.id, rows.length, move ? 0 : rows.length);
  const mapping: Array<[number, number]> = rows.map((row, index) => [row.uid, firstUid + index]);
  // RFC 8514 §1: a copy or a move is saved into `to` now.
  const savedAt = Date.now();
  for (const [index, row] of rows.entries()) {
    insertEntry(database, {
      mailboxId: to.id,
      uid: firstUid + index,
      messageId: row.message_id,
      flags: JSON.parse(row.flags),
      internalDate: row.internal_date,
      savedAt,
      size: row.size,
      modseq,
      emailId: move ? row.email_id : firstEmailId + index,
      threadId: row.thread_id,
      createdModseq: move ? row.created_modseq : modseq,
    });
  }
  effects.events.push({
    kind: "exists",
    userId: to.user_id,
    mailboxId: to.id,
    uids: mapping.map(([, uid]) => uid),
    modseq,
  });
  if (move) {
    expungeWithin(
      database,
      from,
      rows.map((row) => row.uid),
      effects,
      modseq,
    );
  }
  return { mapping, uidValidity };
}
