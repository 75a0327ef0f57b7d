// What the directory, mailbox and message parts do to mailbox rows inside their transactions: lock them
// in a deadlock-free order, take UIDs and MODSEQs under that lock, and create mailboxes with fresh
// UIDVALIDITY values.
//
// MODSEQs are account-wide: each change takes the next users.modseq, under the user row's lock, which
// also orders the account's commits, so a reader never sees a MODSEQ without the ones below it. Locks
// are taken mailboxes first (in id order), then users (in id order).

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

export interface Allocation {
  firstUid: number;
  modseq: number;
  uidValidity: number;
  userId: number;
  firstEmailId: number;
}

/**
 * Takes the owner's next MODSEQ and `emailIds` email ids, and `uids` new UIDs in a mailbox already
 * locked by this transaction, whose HIGHESTMODSEQ becomes that MODSEQ. One round trip.
 */
export async function allocate(tx: Tx, mailboxId: number, uids: number, emailIds = 0): Promise<Allocation> {
  const result = await tx.client.query<{
    first_uid: string;
    modseq: string;
    uid_validity: string;
    user_id: string;
    first_email_id: string;
  }>(
    `WITH account AS (
       UPDATE users SET modseq = modseq + 1, next_email_id = next_email_id + $3
       WHERE id = (SELECT user_id FROM mailboxes WHERE id = $1) RETURNING id, modseq, next_email_id)
     UPDATE mailboxes b SET uid_next = uid_next + $2, highest_modseq = account.modseq FROM account
     WHERE b.id = $1
     RETURNING b.uid_next - $2 AS first_uid, account.modseq, b.uid_validity, account.id AS user_id,
               account.next_email_id - $3 AS first_email_id`,
    [mailboxId, uids, emailIds],
  );
  const row = result.rows[0];
  if (!row) throw new StoreError("not-found", `no mailbox with id ${mailboxId}`);
  return {
    firstUid: Number(row.first_uid),
    modseq: Number(row.modseq),
    uidValidity: Number(row.uid_validity),
    userId: Number(row.user_id),
    firstEmailId: Number(row.first_email_id),
  };
}

/** The user's next MODSEQ, for changes to mailboxes themselves; "not-found" for an unknown user. */
export async function nextUserModseq(tx: Tx, userId: number): Promise<number> {
  const result = await tx.client.query<{ modseq: string }>(
    "UPDATE users SET modseq = modseq + 1 WHERE id = $1 RETURNING modseq",
    [userId],
  );
  const row = result.rows[0];
  if (!row) throw new StoreError("not-found", `no user with id ${userId}`);
  return Number(row.modseq);
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

/** `modseq`: the account MODSEQ the mailboxes are created at, their first HIGHESTMODSEQ. */
export async function insertMailboxes(
  tx: Tx,
  userId: number,
  mailboxes: ReadonlyArray<{ name: string; specialUse: SpecialUse | null }>,
  modseq: number,
): Promise<Mailbox[]> {
  const validities = await uidValidities(tx, mailboxes.length);
  const created: Mailbox[] = [];
  for (const [index, mailbox] of mailboxes.entries()) {
    const result = await tx.client.query<MailboxRow>(
      `INSERT INTO mailboxes (user_id, name, special_use, uid_validity, highest_modseq, created_modseq)
       VALUES ($1, $2, $3, $4, $5, $5) RETURNING *`,
      [userId, mailbox.name, mailbox.specialUse, validities[index], modseq],
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
