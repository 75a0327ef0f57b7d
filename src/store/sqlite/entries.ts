// Mailbox entries as more than one part writes them: deliveries and appends insert them, copy, move and
// renaming INBOX carry them from one mailbox to another. Each runs in the caller's transaction.

import type { CopyResult } from "../types.js";
import type { Effects, SqliteDatabase } from "./database.js";
import type { MailboxRow, MessageRow } from "./rows.js";

export function entryRow(database: SqliteDatabase, mailboxId: number, uid: number): MessageRow | undefined {
  return database.get<MessageRow>(
    "SELECT * FROM mailbox_messages WHERE mailbox_id = ? AND uid = ?",
    mailboxId,
    uid,
  );
}

/** Reserves `count` UIDs and one new MODSEQ in the mailbox, in the caller's transaction. */
export function allocate(
  database: SqliteDatabase,
  mailboxId: number,
  count: number,
): { firstUid: number; modseq: number } {
  const row = database.get<{ uid_next: number; highest_modseq: number }>(
    `UPDATE mailboxes SET uid_next = uid_next + ?, highest_modseq = highest_modseq + 1
     WHERE id = ? RETURNING uid_next, highest_modseq`,
    count,
    mailboxId,
  )!;
  return { firstUid: row.uid_next - count, modseq: row.highest_modseq };
}

export function insertEntry(
  database: SqliteDatabase,
  mailboxId: number,
  uid: number,
  messageId: string,
  flags: string[],
  internalDate: number,
  size: number,
  modseq: number,
): void {
  database.run(
    `INSERT INTO mailbox_messages (mailbox_id, uid, message_id, flags, seen, internal_date, size, modseq)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    mailboxId,
    uid,
    messageId,
    JSON.stringify(flags),
    flags.includes("\\Seen") ? 1 : 0,
    internalDate,
    size,
    modseq,
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

export function expungeWithin(
  database: SqliteDatabase,
  mailbox: MailboxRow,
  uids: number[],
  effects: Effects,
): number[] {
  const rows = presentEntries(database, mailbox.id, uids);
  if (rows.length === 0) return [];
  const { modseq } = allocate(database, mailbox.id, 0);
  for (const row of rows) {
    database.run("DELETE FROM mailbox_messages WHERE mailbox_id = ? AND uid = ?", mailbox.id, row.uid);
    database.run(
      "INSERT INTO expunged (mailbox_id, uid, modseq) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET modseq = excluded.modseq",
      mailbox.id,
      row.uid,
      modseq,
    );
  }
  database.dropUnreferenced(new Set(rows.map((row) => row.message_id)), effects);
  const removed = rows.map((row) => row.uid);
  effects.events.push({
    kind: "expunge",
    userId: mailbox.user_id,
    mailboxId: mailbox.id,
    uids: removed,
    modseq,
  });
  return removed;
}

export function copyWithin(
  database: SqliteDatabase,
  from: MailboxRow,
  uids: number[],
  to: MailboxRow,
  effects: Effects,
): CopyResult {
  const rows = presentEntries(database, from.id, uids);
  const uidValidity = database.get<{ uid_validity: number }>(
    "SELECT uid_validity FROM mailboxes WHERE id = ?",
    to.id,
  )!.uid_validity;
  if (rows.length === 0) return { mapping: [], uidValidity };
  const { firstUid, modseq } = allocate(database, to.id, rows.length);
  const mapping: Array<[number, number]> = rows.map((row, index) => [row.uid, firstUid + index]);
  for (const [index, row] of rows.entries()) {
    insertEntry(
      database,
      to.id,
      firstUid + index,
      row.message_id,
      JSON.parse(row.flags),
      row.internal_date,
      row.size,
      modseq,
    );
  }
  effects.events.push({
    kind: "exists",
    userId: to.user_id,
    mailboxId: to.id,
    uids: mapping.map(([, uid]) => uid),
    modseq,
  });
  return { mapping, uidValidity };
}
