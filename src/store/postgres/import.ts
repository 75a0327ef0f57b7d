// The import family of the PostgreSQL store (`mailroom migrate`): rows written with the ids and IMAP
// numbers another store gave them. Each function runs inside the caller's transaction, on its client;
// PostgresImports, the ImportStore part at the end, runs each in a transaction of its own.

import type pg from "pg";
import { isStoreId } from "../ids.js";
import { invalid, requireCount, requireDate, SPECIAL_USES } from "../input-checks.js";
import { threadKeys } from "../threading.js";
import {
  type AccountCounters,
  type ExpungedUid,
  type ImportStore,
  type Mailbox,
  type MailboxImport,
  type MessageImport,
  type QueueEntry,
  StoreError,
} from "../types.js";
import { dropUnreferencedBlobs, type PostgresDatabase } from "./database.js";
import { normalizeFlags, normalizeMailboxName } from "./names.js";
import { type MailboxRow, toMailbox } from "./rows.js";

async function lockMailbox(client: pg.ClientBase, mailboxId: number): Promise<MailboxRow> {
  const result = await client.query<MailboxRow>("SELECT * FROM mailboxes WHERE id = $1 FOR UPDATE", [
    mailboxId,
  ]);
  const row = result.rows[0];
  if (!row) throw new StoreError("not-found", `no mailbox with id ${mailboxId}`);
  return row;
}

/**
 * Readies `id` for an imported body: "exists" when a finished body has it; an unfinished one is what a
 * broken-off earlier import left behind, and is removed so the body can be written again.
 */
export async function claimBlobId(client: pg.ClientBase, id: string): Promise<void> {
  if (typeof id !== "string" || !isStoreId(id)) {
    invalid(`"${String(id)}" is not a message id of the form mailroom gives them`);
  }
  const found = await client.query<{ complete: boolean }>("SELECT complete FROM blobs WHERE id = $1", [id]);
  if (found.rows[0]?.complete) throw new StoreError("exists", `message body ${id} is already in this store`);
  if (found.rows[0]) await client.query("DELETE FROM blobs WHERE id = $1 AND NOT complete", [id]);
}

export async function hasBlobs(client: pg.ClientBase, messageIds: readonly string[]): Promise<Set<string>> {
  if (!Array.isArray(messageIds)) invalid("hasBlobs needs a list of message ids");
  const ids = [...new Set(messageIds.filter((id) => typeof id === "string"))];
  if (ids.length === 0) return new Set();
  const result = await client.query<{ id: string }>(
    "SELECT id FROM blobs WHERE id = ANY($1::text[]) AND complete",
    [ids],
  );
  return new Set(result.rows.map((row) => row.id));
}

export async function listExpunged(client: pg.ClientBase, mailboxId: number): Promise<ExpungedUid[]> {
  const exists = await client.query("SELECT 1 FROM mailboxes WHERE id = $1", [mailboxId]);
  if (exists.rows.length === 0) throw new StoreError("not-found", `no mailbox with id ${mailboxId}`);
  const result = await client.query<{ uid: string; modseq: string }>(
    "SELECT uid, modseq FROM expunged WHERE mailbox_id = $1 ORDER BY uid",
    [mailboxId],
  );
  return result.rows.map((row) => ({ uid: Number(row.uid), modseq: Number(row.modseq) }));
}

export async function importMailbox(
  client: pg.ClientBase,
  userId: number,
  input: MailboxImport,
): Promise<Mailbox> {
  const name = normalizeMailboxName(input?.name);
  if (input.specialUse !== null && !SPECIAL_USES.has(input.specialUse)) {
    invalid(`"${String(input.specialUse)}" is not a special-use attribute of RFC 6154`);
  }
  const uidValidity = requireCount(input.uidValidity, "UIDVALIDITY", 1);
  const uidNext = requireCount(input.uidNext, "UIDNEXT", 1);
  const highestModseq = requireCount(input.highestModseq, "HIGHESTMODSEQ", 1);
  const subscribed = input.subscribed === true;
  const user = await client.query("SELECT 1 FROM users WHERE id = $1 FOR KEY SHARE", [userId]);
  if (user.rows.length === 0) throw new StoreError("not-found", `no user with id ${userId}`);
  const found = await client.query<MailboxRow>(
    "SELECT * FROM mailboxes WHERE user_id = $1 AND name = $2 FOR UPDATE",
    [userId, name],
  );
  const existing = found.rows[0];
  let result: pg.QueryResult<MailboxRow>;
  if (existing === undefined) {
    result = await client.query<MailboxRow>(
      `INSERT INTO mailboxes (user_id, name, special_use, subscribed, uid_validity, uid_next, highest_modseq,
                              created_modseq)
       VALUES ($1, $2, $3, $4, $5, $6, $7, (SELECT modseq FROM users WHERE id = $1)) RETURNING *`,
      [userId, name, input.specialUse, subscribed, uidValidity, uidNext, highestModseq],
    );
  } else if (Number(existing.uid_validity) === uidValidity) {
    result = await client.query<MailboxRow>(
      `UPDATE mailboxes SET special_use = $2, subscribed = $3, uid_next = greatest(uid_next, $4),
         highest_modseq = greatest(highest_modseq, $5) WHERE id = $1 RETURNING *`,
      [existing.id, input.specialUse, subscribed, uidNext, highestModseq],
    );
  } else {
    const held = await client.query("SELECT 1 FROM messages WHERE mailbox_id = $1 LIMIT 1", [existing.id]);
    if (held.rows.length > 0) {
      throw new StoreError(
        "not-empty",
        `mailbox "${name}" holds messages under UIDVALIDITY ${existing.uid_validity}, not ${uidValidity}`,
      );
    }
    // Empty (as addUser leaves it): nothing a client could have cached, so it takes the source's numbers.
    await client.query("DELETE FROM expunged WHERE mailbox_id = $1", [existing.id]);
    result = await client.query<MailboxRow>(
      `UPDATE mailboxes SET special_use = $2, subscribed = $3, uid_validity = $4, uid_next = $5,
         highest_modseq = $6 WHERE id = $1 RETURNING *`,
      [existing.id, input.specialUse, subscribed, uidValidity, uidNext, highestModseq],
    );
  }
  if (subscribed) {
    await client.query("INSERT INTO subscriptions (user_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING", [
      userId,
      name,
    ]);
  } else {
    await client.query("DELETE FROM subscriptions WHERE user_id = $1 AND name = $2", [userId, name]);
  }
  await client.query("UPDATE counters SET value = greatest(value, $1) WHERE name = 'uid_validity'", [
    uidValidity,
  ]);
  return toMailbox(result.rows[0] as MailboxRow);
}

export async function importMessages(
  client: pg.ClientBase,
  mailboxId: number,
  messages: readonly MessageImport[],
): Promise<void> {
  if (!Array.isArray(messages)) invalid("importMessages needs a list of messages");
  const rows = messages.map((message) => {
    const uid = requireCount(message?.uid, "a UID", 1);
    const id = message.blob?.id;
    if (typeof id !== "string") invalid(`UID ${uid} needs a body reference`);
    return {
      uid,
      message_id: id,
      claimed: message.blob.size,
      flags: normalizeFlags(message.flags),
      internal_date: requireDate(message.internalDate, "the internal date").toISOString(),
      saved_at:
        message.savedDate === undefined
          ? null
          : requireDate(message.savedDate, "the save date").toISOString(),
      modseq: requireCount(message.modseq, "a MODSEQ", 1),
      email_id: requireCount(message.emailId, "an email id", 1),
      thread_id: requireCount(message.threadId, "a thread id", 1),
    };
  });
  const mailbox = await lockMailbox(client, mailboxId);
  if (rows.length === 0) return;
  const bodies = await client.query<{ id: string; size: string; header: Buffer | null }>(
    "SELECT id, size, header FROM blobs WHERE id = ANY($1::text[]) AND complete FOR KEY SHARE",
    [[...new Set(rows.map((row) => row.message_id))]],
  );
  const sizes = new Map(bodies.rows.map((row) => [row.id, Number(row.size)]));
  const owns = new Map(bodies.rows.map((row) => [row.id, threadKeys(row.header).own]));
  for (const row of rows) {
    const size = sizes.get(row.message_id);
    if (size === undefined) {
      throw new StoreError("not-found", `no finished message body ${row.message_id} for UID ${row.uid}`);
    }
    if (size !== row.claimed) {
      invalid(`message body ${row.message_id} has ${size} bytes, not the ${row.claimed} claimed`);
    }
  }
  // Imported history lies below the account's changes floor (importAccountCounters), so the creation
  // MODSEQ only has to be no later than the entry's own.
  await client.query(
    `INSERT INTO messages (mailbox_id, uid, message_id, flags, internal_date, size, modseq, email_id,
                           thread_id, created_modseq, saved_at)
     SELECT $1, r.uid, r.message_id, ARRAY(SELECT jsonb_array_elements_text(r.flags)), r.internal_date,
            b.size, r.modseq, r.email_id, r.thread_id, r.modseq, r.saved_at
     FROM jsonb_to_recordset($2::jsonb) AS r(uid bigint, message_id text, flags jsonb,
                                             internal_date timestamptz, modseq bigint, email_id bigint,
                                             thread_id bigint, saved_at timestamptz)
     JOIN blobs b ON b.id = r.message_id
     ON CONFLICT (mailbox_id, uid) DO UPDATE SET message_id = excluded.message_id, flags = excluded.flags,
       internal_date = excluded.internal_date, saved_at = excluded.saved_at, size = excluded.size, modseq = excluded.modseq,
       email_id = excluded.email_id, thread_id = excluded.thread_id, created_modseq = excluded.created_modseq`,
    [mailboxId, JSON.stringify(rows)],
  );
  const refs = rows.flatMap((row) => {
    const own = owns.get(row.message_id);
    return own === null || own === undefined ? [] : [{ hash: own, thread: row.thread_id }];
  });
  await client.query(
    `INSERT INTO thread_refs (user_id, hash, thread_id)
     SELECT $1, r.hash, r.thread FROM unnest($2::bigint[], $3::bigint[]) AS r(hash, thread)
     ON CONFLICT DO NOTHING`,
    [mailbox.user_id, refs.map((ref) => ref.hash), refs.map((ref) => ref.thread)],
  );
  await raiseCounters(
    client,
    Number(mailbox.user_id),
    Math.max(...rows.map((row) => row.modseq)),
    Math.max(...rows.map((row) => row.email_id)) + 1,
  );
  const uids = rows.map((row) => row.uid);
  await client.query("DELETE FROM expunged WHERE mailbox_id = $1 AND uid = ANY($2::bigint[])", [
    mailboxId,
    uids,
  ]);
  await client.query(
    "UPDATE mailboxes SET uid_next = greatest(uid_next, $2), highest_modseq = greatest(highest_modseq, $3) WHERE id = $1",
    [mailboxId, Math.max(...uids) + 1, Math.max(...rows.map((row) => row.modseq))],
  );
}

export async function importExpunged(
  client: pg.ClientBase,
  mailboxId: number,
  expunged: readonly ExpungedUid[],
): Promise<string[]> {
  if (!Array.isArray(expunged)) invalid("importExpunged needs a list of UIDs with MODSEQs");
  const rows = expunged.map((entry) => ({
    uid: requireCount(entry?.uid, "a UID", 1),
    modseq: requireCount(entry.modseq, "a MODSEQ", 1),
  }));
  const mailbox = await lockMailbox(client, mailboxId);
  if (rows.length === 0) return [];
  const uids = rows.map((row) => row.uid);
  const removed = await client.query<{ message_id: string }>(
    "DELETE FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[]) RETURNING message_id",
    [mailboxId, uids],
  );
  await client.query(
    `INSERT INTO expunged (mailbox_id, uid, modseq)
     SELECT $1, r.uid, r.modseq FROM jsonb_to_recordset($2::jsonb) AS r(uid bigint, modseq bigint)
     ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = excluded.modseq`,
    [mailboxId, JSON.stringify(rows)],
  );
  await client.query(
    "UPDATE mailboxes SET uid_next = greatest(uid_next, $2), highest_modseq = greatest(highest_modseq, $3) WHERE id = $1",
    [mailboxId, Math.max(...uids) + 1, Math.max(...rows.map((row) => row.modseq))],
  );
  await raiseCounters(client, Number(mailbox.user_id), Math.max(...rows.map((row) => row.modseq)), 1);
  return removed.rows.map((row) => row.message_id);
}

/** Keeps the account's MODSEQ at or above every mailbox's, and its next email id above every id. */
async function raiseCounters(
  client: pg.ClientBase,
  userId: number,
  modseq: number,
  nextEmailId: number,
): Promise<void> {
  await client.query(
    "UPDATE users SET modseq = greatest(modseq, $2), next_email_id = greatest(next_email_id, $3) WHERE id = $1",
    [userId, modseq, nextEmailId],
  );
}

export async function accountCounters(client: pg.ClientBase, userId: number): Promise<AccountCounters> {
  const result = await client.query<{ modseq: string; next_email_id: string }>(
    "SELECT modseq, next_email_id FROM users WHERE id = $1",
    [userId],
  );
  const row = result.rows[0];
  if (!row) throw new StoreError("not-found", `no user with id ${userId}`);
  return { modseq: Number(row.modseq), nextEmailId: Number(row.next_email_id) };
}

export async function importAccountCounters(
  client: pg.ClientBase,
  userId: number,
  counters: AccountCounters,
): Promise<void> {
  const modseq = requireCount(counters?.modseq, "the account MODSEQ", 1);
  const nextEmailId = requireCount(counters.nextEmailId, "the next email id", 1);
  const result = await client.query(
    `UPDATE users SET modseq = greatest(modseq, $2), next_email_id = greatest(next_email_id, $3),
       changes_floor = greatest(modseq, $2) WHERE id = $1`,
    [userId, modseq, nextEmailId],
  );
  if (result.rowCount === 0) throw new StoreError("not-found", `no user with id ${userId}`);
}

export async function importQueueEntry(client: pg.ClientBase, entry: QueueEntry): Promise<void> {
  if (typeof entry !== "object" || entry === null) invalid("a queue entry must be an object");
  if (typeof entry.id !== "string" || !isStoreId(entry.id))
    invalid(`"${String(entry.id)}" is not a queue id`);
  if (typeof entry.sender !== "string") invalid('the sender must be text ("" for <>)');
  if (typeof entry.recipient !== "string" || !entry.recipient.includes("@")) {
    invalid(`queue recipient "${String(entry.recipient)}" is not an address`);
  }
  const attempts = requireCount(entry.attempts, "the attempt count", 0);
  const createdAt = requireDate(entry.createdAt, "the creation time");
  const due =
    entry.state === "delivering" && entry.claimedUntil !== null
      ? requireDate(entry.claimedUntil, "the lease end")
      : requireDate(entry.nextAttemptAt, "the next attempt time");
  const holdUntil =
    entry.holdUntil === null || entry.holdUntil === undefined
      ? null
      : requireDate(entry.holdUntil, "the release time");
  const body = await client.query("SELECT 1 FROM blobs WHERE id = $1 AND complete FOR KEY SHARE", [
    entry.messageId,
  ]);
  if (body.rows.length === 0) {
    throw new StoreError(
      "not-found",
      `message body ${String(entry.messageId)} of queue entry ${entry.id} is not in this store; copy it first`,
    );
  }
  await client.query(
    `INSERT INTO queue (id, message_id, sender, recipient, dsn, envelope_dsn, state, attempts, created_at,
                        next_attempt_at, last_error, claimed_until, delay_notified, hold_until, local)
     VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $8, $9, $10, NULL, $11, $12, $13)
     ON CONFLICT (id) DO UPDATE SET message_id = excluded.message_id, sender = excluded.sender,
       recipient = excluded.recipient, dsn = excluded.dsn, envelope_dsn = excluded.envelope_dsn,
       state = 'queued', attempts = excluded.attempts, created_at = excluded.created_at,
       next_attempt_at = excluded.next_attempt_at, last_error = excluded.last_error, claimed_until = NULL,
       delay_notified = excluded.delay_notified, hold_until = excluded.hold_until, local = excluded.local`,
    [
      entry.id,
      entry.messageId,
      entry.sender,
      entry.recipient,
      JSON.stringify(entry.dsn ?? {}),
      JSON.stringify(entry.envelopeDsn ?? {}),
      attempts,
      createdAt,
      due,
      entry.lastError ?? null,
      entry.delayNotified === true,
      holdUntil,
      entry.local === true,
    ],
  );
}

export class PostgresImports implements ImportStore {
  constructor(private readonly database: PostgresDatabase) {}

  hasBlobs(messageIds: readonly string[]): Promise<Set<string>> {
    return this.database.tx(({ client }) => hasBlobs(client, messageIds));
  }

  listExpunged(mailboxId: number): Promise<ExpungedUid[]> {
    return this.database.tx(({ client }) => listExpunged(client, mailboxId));
  }

  accountCounters(userId: number): Promise<AccountCounters> {
    return this.database.tx(({ client }) => accountCounters(client, userId));
  }

  importAccountCounters(userId: number, counters: AccountCounters): Promise<void> {
    return this.database.tx(({ client }) => importAccountCounters(client, userId, counters));
  }

  importMailbox(userId: number, mailbox: MailboxImport): Promise<Mailbox> {
    return this.database.tx(({ client }) => importMailbox(client, userId, mailbox));
  }

  importMessages(mailboxId: number, messages: readonly MessageImport[]): Promise<void> {
    return this.database.tx(({ client }) => importMessages(client, mailboxId, messages));
  }

  importExpunged(mailboxId: number, expunged: readonly ExpungedUid[]): Promise<void> {
    return this.database.tx(async (tx) => {
      const bodies = await importExpunged(tx.client, mailboxId, expunged);
      await dropUnreferencedBlobs(tx, bodies);
    });
  }

  importQueueEntry(entry: QueueEntry): Promise<void> {
    return this.database.tx(({ client }) => importQueueEntry(client, entry));
  }
}
