// What the directory, mailbox and message parts do to mailbox rows inside their transactions: lock them
// in a deadlock-free order, take UIDs and MODSEQs under that lock, and create mailboxes with fresh
// UIDVALIDITY values.

import { type Mailbox, type SpecialUse, StoreError } from "../types.js";
import type { Tx } from "./database.js";
import { type MailboxRow, toMailbox } from "./rows.js";

/** Locks the mailboxes (in id order, so concurrent transactions cannot deadlock on them). */
export async function lockMailboxes(tx: Tx, ids: number[]): Promise<Map<number, MailboxRow>> {
  const unique = [...new Set(ids)].sort((a, b) => a - b);
  const result = await tx.client.query<MailboxRow>(
    "SELECT * FROM mailboxes WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE",
    [unique],
  );
  const rows = new Map(result.rows.map((row) => [Number(row.id), row]));
  for (const id of unique) {
    if (!rows.has(id)) throw new StoreError("not-found", `no mailbox with id ${id}`);
  }
  return rows;
}

/** Takes `uids` new UIDs and one new MODSEQ in a mailbox already locked by this transaction. */
export async function allocate(
  tx: Tx,
  mailboxId: number,
  uids: number,
): Promise<{ firstUid: number; modseq: number; uidValidity: number; userId: number }> {
  const result = await tx.client.query<{
    first_uid: string;
    highest_modseq: string;
    uid_validity: string;
    user_id: string;
  }>(
    `UPDATE mailboxes SET uid_next = uid_next + $2, highest_modseq = highest_modseq + 1 WHERE id = $1
     RETURNING uid_next - $2 AS first_uid, highest_modseq, uid_validity, user_id`,
    [mailboxId, uids],
  );
  const row = result.rows[0];
  if (!row) throw new StoreError("not-found", `no mailbox with id ${mailboxId}`);
  return {
    firstUid: Number(row.first_uid),
    modseq: Number(row.highest_modseq),
    uidValidity: Number(row.uid_validity),
    userId: Number(row.user_id),
  };
}

/** Fresh UIDVALIDITY values: seconds since the epoch, but always above every earlier value. */
async function uidValidities(tx: Tx, count: number): Promise<number[]> {
  const result = await tx.client.query<{ value: string }>(
    `UPDATE counters SET value = greatest(value + $1, extract(epoch FROM clock_timestamp())::bigint + $1 - 1)
     WHERE name = 'uid_validity' RETURNING value`,
    [count],
  );
  const last = Number(result.rows[0]?.value);
  return Array.from({ length: count }, (_, index) => last - count + 1 + index);
}

export async function insertMailboxes(
  tx: Tx,
  userId: number,
  mailboxes: ReadonlyArray<{ name: string; specialUse: SpecialUse | null }>,
): Promise<Mailbox[]> {
  const validities = await uidValidities(tx, mailboxes.length);
  const created: Mailbox[] = [];
  for (const [index, mailbox] of mailboxes.entries()) {
    const result = await tx.client.query<MailboxRow>(
      `INSERT INTO mailboxes (user_id, name, special_use, uid_validity) VALUES ($1, $2, $3, $4) RETURNING *`,
      [userId, mailbox.name, mailbox.specialUse, validities[index]],
    );
    // A new mailbox starts subscribed. The subscribed column is not read since schema 3 (MAILBOX_SELECT
    // in mailboxes.ts).
    await tx.client.query(
      "INSERT INTO subscriptions (user_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
      [userId, mailbox.name],
    );
    created.push(toMailbox(result.rows[0] as MailboxRow));
  }
  return created;
}
