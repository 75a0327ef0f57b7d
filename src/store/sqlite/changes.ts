// The change history on SQLite (../changes.ts): the read side, and what write transactions call to
// record what they did. One writer at a time holds the database, so the user's counter, bumped inside
// the transaction, orders states exactly as they commit.

import {
  type ChangeKind,
  type ChangeSet,
  checkChangeType,
  checkMaxChanges,
  parseState,
  summarise,
  trimFloor,
} from "../change-log.js";
import type { ChangeStore, ChangesResult, ChangeType } from "../types.js";
import type { SqliteDatabase } from "./database.js";

interface Counter {
  seq: number;
  floor: number;
}

function counter(database: SqliteDatabase, userId: number): Counter {
  return (
    database.get<Counter>("SELECT seq, floor FROM change_counters WHERE user_id = ?", userId) ?? {
      seq: 0,
      floor: 0,
    }
  );
}

function currentSeq(database: SqliteDatabase, userId: number, type: ChangeType, floor: number): number {
  const last = database
    .stmt("SELECT max(seq) FROM changes WHERE user_id = ? AND type = ?")
    .pluck(true)
    .get(userId, type) as number | null;
  return Math.max(floor, last ?? 0);
}

export class SqliteChanges implements ChangeStore {
  constructor(private readonly database: SqliteDatabase) {}

  state(userId: number, type: ChangeType): Promise<string> {
    return this.database.read(() => {
      checkChangeType(type);
      return String(currentSeq(this.database, userId, type, counter(this.database, userId).floor));
    });
  }

  changesSince(
    userId: number,
    type: ChangeType,
    sinceState: string,
    maxChanges?: number,
  ): Promise<ChangesResult> {
    return this.database.read(() => {
      checkChangeType(type);
      const limit = checkMaxChanges(maxChanges);
      const { floor } = counter(this.database, userId);
      const current = currentSeq(this.database, userId, type, floor);
      const since = parseState(sinceState, floor, current);
      const rows = this.database.all<{ seq: number; id: string; kind: ChangeKind }>(
        `SELECT seq, object_id AS id, kind FROM changes
         WHERE user_id = ? AND type = ? AND (seq, object_id) > (?, ?) ORDER BY seq, object_id LIMIT ?`,
        userId,
        type,
        since.seq,
        // Without an object id the state covers all of seq: "\uffff" sorts after every id.
        since.after ?? "\uffff",
        limit + 1,
      );
      return summarise(sinceState, rows, limit, current);
    });
  }
}

/** Writes a transaction's changes under the next number of each user's sequence, and trims the history. */
export function writeChanges(database: SqliteDatabase, changes: ChangeSet): void {
  for (const { userId, rows } of changes.rows()) {
    const { seq, floor } = database.get<Counter>(
      `INSERT INTO change_counters (user_id, seq, floor) VALUES (?, 1, 0)
       ON CONFLICT (user_id) DO UPDATE SET seq = seq + 1 RETURNING seq, floor`,
      userId,
    ) as Counter;
    database.insertRows(
      "INSERT INTO changes (user_id, type, seq, object_id, kind)",
      "",
      5,
      rows.map((row) => [userId, row.type, seq, row.id, row.kind]),
    );
    const trimTo = trimFloor(seq, floor, database.changeHistory);
    if (trimTo !== null) {
      database.run(
        "DELETE FROM changes WHERE user_id = ? AND type IN ('Email', 'Mailbox', 'Thread') AND seq <= ?",
        userId,
        trimTo,
      );
      database.run("UPDATE change_counters SET floor = ? WHERE user_id = ?", trimTo, userId);
    }
  }
}

/** Whether the user still has the message in any mailbox. */
export function userHasMessage(database: SqliteDatabase, userId: number, messageId: string): boolean {
  return (
    database.get(
      `SELECT 1 FROM mailbox_messages e JOIN mailboxes b ON b.id = e.mailbox_id
       WHERE e.message_id = ? AND b.user_id = ? LIMIT 1`,
      messageId,
      userId,
    ) !== undefined
  );
}

/** Whether any of the user's entries is in the thread. */
export function threadHasEntries(database: SqliteDatabase, userId: number, threadId: string): boolean {
  return (
    database.get(
      `SELECT 1 FROM mailbox_messages e JOIN mailboxes b ON b.id = e.mailbox_id
       WHERE e.thread_id = ? AND b.user_id = ? LIMIT 1`,
      threadId,
      userId,
    ) !== undefined
  );
}

/** Records entries gone from a mailbox (already deleted): an Email goes with its last entry, a Thread with its last Email. */
export function recordRemoved(
  database: SqliteDatabase,
  changes: ChangeSet,
  userId: number,
  mailboxId: number,
  removed: ReadonlyArray<{ message_id: string; thread_id: string }>,
): void {
  changes.record(userId, "Mailbox", mailboxId, "u");
  for (const row of removed) {
    // A message still in another mailbox keeps its place in its thread: only its mailboxes changed.
    if (userHasMessage(database, userId, row.message_id)) {
      changes.record(userId, "Email", row.message_id, "u");
      continue;
    }
    changes.record(userId, "Email", row.message_id, "d");
    changes.record(
      userId,
      "Thread",
      row.thread_id,
      threadHasEntries(database, userId, row.thread_id) ? "u" : "d",
    );
  }
}
