// The change history on PostgreSQL (../changes.ts). Several nodes write at once, so a state must not be
// handed out before every change numbered below it has committed: the user's counter row, bumped with
// UPDATE in the writing transaction, stays locked until that transaction ends, so the user's writes take
// their numbers in commit order. Readers see the counter and the rows in one snapshot.

import type pg from "pg";
import {
  type ChangeKind,
  checkChangeType,
  checkMaxChanges,
  parseState,
  summarise,
  trimFloor,
} from "../change-log.js";
import type { ChangeStore, ChangesResult, ChangeType } from "../types.js";
import type { PostgresDatabase, Tx } from "./database.js";
import { threadsWithEntries } from "./threads.js";

async function readPoint(
  client: pg.ClientBase,
  userId: number,
  type: ChangeType,
): Promise<{ floor: number; current: number }> {
  const result = await client.query<{ floor: string | null; last: string | null }>(
    `SELECT (SELECT floor FROM change_counters WHERE user_id = $1) AS floor,
            (SELECT max(seq) FROM changes WHERE user_id = $1 AND type = $2) AS last`,
    [userId, type],
  );
  const floor = Number(result.rows[0]?.floor ?? 0);
  return { floor, current: Math.max(floor, Number(result.rows[0]?.last ?? 0)) };
}

export class PostgresChanges implements ChangeStore {
  constructor(private readonly database: PostgresDatabase) {}

  async state(userId: number, type: ChangeType): Promise<string> {
    checkChangeType(type);
    return this.database.tx(async ({ client }) => String((await readPoint(client, userId, type)).current));
  }

  async changesSince(
    userId: number,
    type: ChangeType,
    sinceState: string,
    maxChanges?: number,
  ): Promise<ChangesResult> {
    checkChangeType(type);
    const limit = checkMaxChanges(maxChanges);
    return this.database.tx(async ({ client }) => {
      await client.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY");
      const { floor, current } = await readPoint(client, userId, type);
      const since = parseState(sinceState, floor, current);
      const rows = await client.query<{ seq: string; id: string; kind: ChangeKind }>(
        since.after === null
          ? `SELECT seq, object_id AS id, kind FROM changes WHERE user_id = $1 AND type = $2 AND seq > $3
             ORDER BY seq, object_id LIMIT $4`
          : `SELECT seq, object_id AS id, kind FROM changes
             WHERE user_id = $1 AND type = $2 AND (seq, object_id) > ($3, $5) ORDER BY seq, object_id LIMIT $4`,
        since.after === null
          ? [userId, type, since.seq, limit + 1]
          : [userId, type, since.seq, limit + 1, since.after],
      );
      return summarise(
        sinceState,
        rows.rows.map((row) => ({ seq: Number(row.seq), id: row.id, kind: row.kind })),
        limit,
        current,
      );
    });
  }
}

/** Writes a transaction's changes under the next number of each user's sequence, and trims the history. */
export async function writeChanges(tx: Tx, keep: number): Promise<void> {
  for (const { userId, rows } of tx.changes.rows()) {
    const counter = await tx.client.query<{ seq: string; floor: string }>(
      `INSERT INTO change_counters AS c (user_id, seq, floor) VALUES ($1, 1, 0)
       ON CONFLICT (user_id) DO UPDATE SET seq = c.seq + 1 RETURNING seq, floor`,
      [userId],
    );
    const seq = Number(counter.rows[0]?.seq);
    const floor = Number(counter.rows[0]?.floor);
    await tx.client.query(
      `INSERT INTO changes (user_id, type, seq, object_id, kind)
       SELECT $1, r.type, $2, r.id, r.kind FROM jsonb_to_recordset($3::jsonb) AS r(type text, id text, kind text)`,
      [userId, seq, JSON.stringify(rows)],
    );
    const trimTo = trimFloor(seq, floor, keep);
    if (trimTo !== null) {
      await tx.client.query("DELETE FROM changes WHERE user_id = $1 AND seq <= $2", [userId, trimTo]);
      await tx.client.query("UPDATE change_counters SET floor = $2 WHERE user_id = $1", [userId, trimTo]);
    }
  }
}

/** Records entries gone from a mailbox (already deleted): an Email goes with its last entry, a Thread with its last Email. */
export async function recordRemoved(
  tx: Tx,
  userId: number,
  mailboxId: number,
  removed: ReadonlyArray<{ message_id: string; thread_id: string }>,
): Promise<void> {
  tx.changes.record(userId, "Mailbox", mailboxId, "u");
  if (removed.length === 0) return;
  const still = await tx.client.query<{ message_id: string }>(
    `SELECT DISTINCT m.message_id FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
     WHERE b.user_id = $1 AND m.message_id = ANY($2::text[])`,
    [userId, [...new Set(removed.map((row) => row.message_id))]],
  );
  const kept = new Set(still.rows.map((row) => row.message_id));
  const gone = removed.filter((row) => !kept.has(row.message_id));
  const live = new Set(
    await threadsWithEntries(
      tx.client,
      userId,
      gone.map((row) => row.thread_id),
    ),
  );
  for (const row of removed) {
    // A message still in another mailbox keeps its place in its thread: only its mailboxes changed.
    if (kept.has(row.message_id)) {
      tx.changes.record(userId, "Email", row.message_id, "u");
      continue;
    }
    tx.changes.record(userId, "Email", row.message_id, "d");
    tx.changes.record(userId, "Thread", row.thread_id, live.has(row.thread_id) ? "u" : "d");
  }
}
