// The message part of the PostgreSQL store: delivery, APPEND, listing, flags, expunge with its history,
// copy and move. A write locks its mailboxes before it takes UIDs and MODSEQs (mailbox-rows.ts), so
// nodes writing to one mailbox at once never hand out the same number.

import { newQueueId } from "../ids.js";
import { checkListOptions, type ListedRow, listedMessage } from "../list-options.js";
import { documentOf, type SearchDocument } from "../search-index.js";
import { type ThreadKeys, threadKeys } from "../threading.js";
import {
  type BlobRef,
  type CopyResult,
  type DeliveryInput,
  type DeliveryResult,
  type FlagOperation,
  type FlagUpdateResult,
  type ListMessagesOptions,
  type MailboxMessage,
  type MessageStore,
  StoreError,
} from "../types.js";
import { readBlobBytes, readBlobStream } from "./blobs.js";
import { dropUnreferencedBlobs, type PostgresDatabase, type Tx } from "./database.js";
import { toStoreError } from "./errors.js";
import { allocate, lockMailboxes } from "./mailbox-rows.js";
import { applyFlagOperation, normalizeFlags, sameFlags } from "./names.js";
import { type MailboxRow, type MessageRow, toMessage } from "./rows.js";
import { indexDocument } from "./search-index.js";
import { insertTraceEventsSafely } from "./traces.js";

/** A new entry, before its thread is known. */
type NewEntry = Omit<MailboxMessage, "threadId"> & { userId: number };

/**
 * Inserts a delivered or appended entry in the thread of an earlier copy or of its nearest parent
 * (`keys`; `thread` when none matches) and records its Message-ID for later replies, and its unseen
 * parents' for their late arrival: one round trip.
 */
async function insertNewEntry(
  tx: Tx,
  entry: NewEntry,
  keys: ThreadKeys,
  thread: number,
): Promise<MessageRow> {
  const result = await tx.client.query<MessageRow>(
    `WITH found AS (
       SELECT r.thread_id FROM unnest($10::bigint[]) WITH ORDINALITY AS k(hash, pos)
       JOIN thread_refs r ON r.user_id = $11 AND r.hash = k.hash ORDER BY k.pos LIMIT 1),
     parent AS (SELECT coalesce((SELECT thread_id FROM found), $9) AS id),
     recorded AS (
       INSERT INTO thread_refs (user_id, hash, thread_id) SELECT $11, $12, id FROM parent
       WHERE $12::bigint IS NOT NULL
       ON CONFLICT (user_id, hash) DO UPDATE SET thread_id = thread_refs.thread_id RETURNING thread_id),
     -- Parents not seen yet are claimed for this thread, so a parent that arrives after its reply
     -- joins it (threading.ts).
     claimed AS (
       INSERT INTO thread_refs (user_id, hash, thread_id)
       SELECT DISTINCT $11, k.hash, coalesce((SELECT thread_id FROM recorded), parent.id)
       FROM unnest($10::bigint[]) AS k(hash), parent WHERE k.hash IS DISTINCT FROM $12::bigint
       ON CONFLICT (user_id, hash) DO NOTHING)
     INSERT INTO messages (mailbox_id, uid, message_id, flags, internal_date, size, modseq, email_id,
                           thread_id, created_modseq, saved_at)
     SELECT $1, $2, $3, $4, $5, $6, $7, $8, coalesce((SELECT thread_id FROM recorded), parent.id), $7, $13
     FROM parent RETURNING *`,
    [
      entry.mailboxId,
      entry.uid,
      entry.messageId,
      entry.flags,
      entry.internalDate,
      entry.size,
      entry.modseq,
      entry.emailId,
      thread,
      keys.parents,
      entry.userId,
      keys.own,
      entry.savedDate,
    ],
  );
  return result.rows[0] as MessageRow;
}

const NO_KEYS: ThreadKeys = { own: null, parents: [] };

export class PostgresMessages implements MessageStore {
  constructor(private readonly database: PostgresDatabase) {}

  private async mailboxOrThrow(mailboxId: number): Promise<void> {
    const rows = await this.database.read("SELECT 1 FROM mailboxes WHERE id = $1", [mailboxId]);
    if (rows.length === 0) throw new StoreError("not-found", `no mailbox with id ${mailboxId}`);
  }

  /** Read before the transaction, so no connection waits on the parse. */
  private documentOf(blob: BlobRef): Promise<SearchDocument> {
    const { pool, server } = this.database;
    return documentOf(
      {
        readBlobBytes: (id) => readBlobBytes(pool, server, id),
        readBlob: (id) => readBlobStream(pool, server, id),
      },
      blob.id,
      blob.size,
    );
  }

  /** Locks a finished body against removal until this transaction ends; returns its size and header. */
  private async finishedBlob(tx: Tx, blob: BlobRef): Promise<{ size: number; keys: ThreadKeys }> {
    const result = await tx.client.query<{ size: string; complete: boolean; header: Buffer | null }>(
      "SELECT size, complete, header FROM blobs WHERE id = $1 FOR KEY SHARE",
      [blob.id],
    );
    const row = result.rows[0];
    if (!row?.complete) {
      throw new StoreError(
        "not-found",
        `no finished message body ${blob.id}; call finish() on its writer first`,
      );
    }
    return { size: Number(row.size), keys: threadKeys(row.header) };
  }

  async deliver(input: DeliveryInput): Promise<DeliveryResult> {
    if (input.mailboxes.length === 0 && input.queue.length === 0) {
      throw new StoreError("invalid", "a delivery needs at least one mailbox or queue recipient");
    }
    const mailboxFlags = input.mailboxes.map((entry) => normalizeFlags(entry.flags ?? []));
    const sender = input.sender.trim().toLowerCase();
    const recipients = input.queue.map((entry) => {
      const recipient = entry.recipient.trim().toLowerCase();
      if (!recipient.includes("@")) {
        throw new StoreError("invalid", `queue recipient "${entry.recipient}" is not an address`);
      }
      return { id: newQueueId(), recipient, dsn: entry.dsn ?? {}, local: entry.local === true };
    });
    const holdUntil = input.holdUntil ?? null;
    if (holdUntil !== null && (!(holdUntil instanceof Date) || Number.isNaN(holdUntil.getTime()))) {
      throw new StoreError("invalid", "the release time must be a valid date");
    }
    const document = input.mailboxes.length > 0 ? await this.documentOf(input.blob) : null;
    return this.database.tx(async (tx) => {
      const { size, keys } = await this.finishedBlob(tx, input.blob);
      if (document !== null) await indexDocument(tx.client, input.blob.id, document);
      const locked = await lockMailboxes(
        tx,
        input.mailboxes.map((entry) => entry.mailboxId),
      );
      const uids: Array<{ mailboxId: number; uid: number }> = [];
      const added = new Map<number, { userId: number; uids: number[]; modseq: number }>();
      /** A user reached in two mailboxes gets two emails of one thread. */
      const threads = new Map<number, number>();
      // Users are locked in id order (allocate), so deliveries to several users cannot deadlock.
      const order = [...locked.values()].sort(
        (a, b) => Number(a.user_id) - Number(b.user_id) || Number(a.id) - Number(b.id),
      );
      for (const row of order) {
        const mailboxId = Number(row.id);
        const indexes = input.mailboxes.flatMap((entry, index) =>
          entry.mailboxId === mailboxId ? [index] : [],
        );
        const allocation = await allocate(tx, mailboxId, indexes.length, indexes.length);
        const { firstUid, modseq, userId, firstEmailId } = allocation;
        added.set(mailboxId, { userId, uids: [], modseq });
        for (const [offset, index] of indexes.entries()) {
          const uid = firstUid + offset;
          const known = threads.get(userId);
          const inserted = await insertNewEntry(
            tx,
            {
              mailboxId,
              uid,
              messageId: input.blob.id,
              flags: mailboxFlags[index] as string[],
              internalDate: input.internalDate,
              savedDate: new Date(),
              size,
              modseq,
              emailId: firstEmailId + offset,
              userId,
            },
            known === undefined ? keys : NO_KEYS,
            known ?? firstEmailId + offset,
          );
          threads.set(userId, Number(inserted.thread_id));
          added.get(mailboxId)?.uids.push(uid);
          uids[index] = { mailboxId, uid };
        }
      }
      if (recipients.length > 0) {
        const now = new Date();
        await tx.client.query(
          `INSERT INTO queue (id, message_id, sender, recipient, dsn, envelope_dsn, state, created_at, next_attempt_at,
                              hold_until, local)
           SELECT r.id, $2, $3, r.recipient, r.dsn, $4, 'queued', $5::timestamptz, coalesce($6::timestamptz, $5::timestamptz), $6::timestamptz, r.local
           FROM jsonb_to_recordset($1::jsonb) AS r(id text, recipient text, dsn jsonb, local boolean)`,
          [
            JSON.stringify(recipients),
            input.blob.id,
            sender,
            JSON.stringify(input.envelopeDsn ?? {}),
            now,
            holdUntil,
          ],
        );
      }
      for (const [mailboxId, change] of added) {
        tx.events.push({
          kind: "exists",
          userId: change.userId,
          mailboxId,
          uids: change.uids,
          modseq: change.modseq,
        });
      }
      const traceError = await insertTraceEventsSafely(tx, input.blob.id, input.trace ?? []);
      if (traceError !== null) {
        this.database.logger.warn({ err: traceError, messageId: input.blob.id }, "trace events not recorded");
      }
      return { messageId: input.blob.id, uids, queueIds: recipients.map((entry) => entry.id) };
    });
  }

  async append(
    mailboxId: number,
    blob: BlobRef,
    flags: string[],
    internalDate: Date,
  ): Promise<MailboxMessage> {
    const normalized = normalizeFlags(flags);
    const document = await this.documentOf(blob);
    return this.database.tx(async (tx) => {
      const { size, keys } = await this.finishedBlob(tx, blob);
      await indexDocument(tx.client, blob.id, document);
      await lockMailboxes(tx, [mailboxId]);
      const { firstUid, modseq, userId, firstEmailId } = await allocate(tx, mailboxId, 1, 1);
      const row = await insertNewEntry(
        tx,
        {
          mailboxId,
          uid: firstUid,
          messageId: blob.id,
          flags: normalized,
          internalDate,
          savedDate: new Date(),
          size,
          modseq,
          emailId: firstEmailId,
          userId,
        },
        keys,
        firstEmailId,
      );
      tx.events.push({ kind: "exists", userId, mailboxId, uids: [firstUid], modseq });
      return toMessage(row);
    });
  }

  async listMessages(mailboxId: number, options?: ListMessagesOptions): Promise<MailboxMessage[]> {
    const { sinceModseq, uidFrom, uidTo } = checkListOptions(options);
    // Numbers come back as float8 and the date as epoch milliseconds: pg's own int8 (string) and
    // timestamptz (text parsing) conversions were most of the time spent listing a large mailbox.
    const changed = sinceModseq === undefined ? "" : " AND modseq > $4";
    const values =
      sinceModseq === undefined ? [mailboxId, uidFrom, uidTo] : [mailboxId, uidFrom, uidTo, sinceModseq];
    let rows: ListedRow[];
    try {
      const result = await this.database.pool.query<ListedRow>({
        name: sinceModseq === undefined ? "mailroom_list_messages" : "mailroom_list_changed_messages",
        text: `SELECT uid::float8, message_id, flags, (extract(epoch FROM internal_date) * 1000)::float8,
                      (extract(epoch FROM coalesce(saved_at, internal_date)) * 1000)::float8, size::float8, modseq::float8, email_id::float8, thread_id::float8
               FROM messages WHERE mailbox_id = $1 AND uid BETWEEN $2 AND $3${changed} ORDER BY uid`,
        values,
        rowMode: "array",
      });
      rows = result.rows;
    } catch (error) {
      throw toStoreError(error, this.database.server);
    }
    return rows.map((row) => listedMessage(mailboxId, row));
  }

  async getMessage(mailboxId: number, uid: number): Promise<MailboxMessage | null> {
    const rows = await this.database.read<MessageRow>(
      "SELECT * FROM messages WHERE mailbox_id = $1 AND uid = $2",
      [mailboxId, uid],
    );
    return rows[0] ? toMessage(rows[0]) : null;
  }

  async updateFlags(
    mailboxId: number,
    uids: number[],
    operation: FlagOperation,
    flags: string[],
    options: { unchangedSince?: number } = {},
  ): Promise<FlagUpdateResult> {
    const given = normalizeFlags(flags);
    return this.database.tx(async (tx) => {
      await lockMailboxes(tx, [mailboxId]);
      const result = await tx.client.query<MessageRow>(
        "SELECT * FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[]) ORDER BY uid FOR UPDATE",
        [mailboxId, uids],
      );
      const modified: number[] = [];
      const changes: Array<{ row: MessageRow; flags: string[] }> = [];
      for (const row of result.rows) {
        if (options.unchangedSince !== undefined && Number(row.modseq) > options.unchangedSince) {
          modified.push(Number(row.uid));
          continue;
        }
        const next = applyFlagOperation(row.flags, operation, given);
        if (!sameFlags(row.flags, next)) changes.push({ row, flags: next });
      }
      if (changes.length === 0) return { updated: [], modified };
      const { modseq, userId } = await allocate(tx, mailboxId, 0);
      await tx.client.query(
        `UPDATE messages m SET flags = ARRAY(SELECT jsonb_array_elements_text(c.flags)), modseq = $3
         FROM jsonb_to_recordset($2::jsonb) AS c(uid bigint, flags jsonb)
         WHERE m.mailbox_id = $1 AND m.uid = c.uid`,
        [
          mailboxId,
          JSON.stringify(changes.map((change) => ({ uid: change.row.uid, flags: change.flags }))),
          modseq,
        ],
      );
      const updated = changes.map((change) => ({ ...toMessage(change.row), flags: change.flags, modseq }));
      tx.events.push({
        kind: "flags",
        userId,
        mailboxId,
        uids: updated.map((message) => message.uid),
        modseq,
      });
      return { updated, modified };
    });
  }

  async expunge(mailboxId: number, uids: number[]): Promise<number[]> {
    return this.database.tx(async (tx) => {
      await lockMailboxes(tx, [mailboxId]);
      return this.expungeLocked(tx, mailboxId, uids);
    });
  }

  /** `moved`: the MODSEQ and owner a move already took for its copy; otherwise the expunge takes one. */
  private async expungeLocked(
    tx: Tx,
    mailboxId: number,
    uids: number[],
    moved?: { modseq: number; userId: number },
  ): Promise<number[]> {
    const removed = await tx.client.query<MessageRow>(
      "DELETE FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[]) RETURNING *",
      [mailboxId, uids],
    );
    if (removed.rows.length === 0) return [];
    const rows = removed.rows.sort((a, b) => Number(a.uid) - Number(b.uid));
    let at = moved;
    if (at === undefined) at = await allocate(tx, mailboxId, 0);
    else
      await tx.client.query("UPDATE mailboxes SET highest_modseq = $2 WHERE id = $1", [mailboxId, at.modseq]);
    await recordExpunged(tx, mailboxId, rows, at.modseq);
    await dropUnreferencedBlobs(
      tx,
      rows.map((row) => row.message_id),
    );
    const gone = rows.map((row) => Number(row.uid));
    tx.events.push({ kind: "expunge", userId: at.userId, mailboxId, uids: gone, modseq: at.modseq });
    return gone;
  }

  async expungedSince(mailboxId: number, modseq: number): Promise<number[]> {
    await this.mailboxOrThrow(mailboxId);
    const rows = await this.database.read<{ uid: string }>(
      "SELECT uid FROM expunged WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid",
      [mailboxId, modseq],
    );
    return rows.map((row) => Number(row.uid));
  }

  copyMessages(fromMailboxId: number, uids: number[], toMailboxId: number): Promise<CopyResult> {
    return this.database.tx((tx) => this.copyLocked(tx, fromMailboxId, uids, toMailboxId, false));
  }

  moveMessages(fromMailboxId: number, uids: number[], toMailboxId: number): Promise<CopyResult> {
    return this.database.tx((tx) => this.copyLocked(tx, fromMailboxId, uids, toMailboxId, true));
  }

  private async copyLocked(
    tx: Tx,
    from: number,
    uids: number[],
    to: number,
    move: boolean,
  ): Promise<CopyResult> {
    const locked = await lockMailboxes(tx, [from, to]);
    const target = locked.get(to) as MailboxRow;
    const sources = await tx.client.query<{ uid: string }>(
      "SELECT uid FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[]) ORDER BY uid FOR UPDATE",
      [from, uids],
    );
    const sourceUids = sources.rows.map((row) => Number(row.uid));
    if (sourceUids.length === 0) return { mapping: [], uidValidity: Number(target.uid_validity) };
    const allocation = await allocate(tx, to, sourceUids.length, move ? 0 : sourceUids.length);
    const { firstUid, modseq, userId, uidValidity, firstEmailId } = allocation;
    // A copy is a new email in the same thread; a move carries the email over, id and creation kept.
    await tx.client.query(
      `INSERT INTO messages (mailbox_id, uid, message_id, flags, internal_date, size, modseq, email_id,
                             thread_id, created_modseq, saved_at)
       SELECT $3, $4 + row_number() OVER (ORDER BY uid) - 1, message_id, flags, internal_date, size, $5,
              CASE WHEN $6 THEN email_id ELSE $7 + row_number() OVER (ORDER BY uid) - 1 END, thread_id,
              CASE WHEN $6 THEN created_modseq ELSE $5 END, $8
       FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[])`,
      // RFC 8514 §1: a copy or a move is saved into `to` now.
      [from, sourceUids, to, firstUid, modseq, move, firstEmailId, new Date()],
    );
    const mapping = sourceUids.map((uid, index): [number, number] => [uid, firstUid + index]);
    tx.events.push({ kind: "exists", userId, mailboxId: to, uids: mapping.map(([, uid]) => uid), modseq });
    if (move) await this.expungeLocked(tx, from, sourceUids, { modseq, userId });
    return { mapping, uidValidity };
  }
}

/** Records entries as expunged at `modseq`, with their email and thread ids (for Email/changes). */
export async function recordExpunged(
  tx: Tx,
  mailboxId: number,
  rows: readonly MessageRow[],
  modseq: number,
): Promise<void> {
  await tx.client.query(
    `INSERT INTO expunged (mailbox_id, uid, modseq, email_id, thread_id, created_modseq)
     SELECT $1, r.uid, $2, r.email_id, r.thread_id, r.created_modseq
     FROM unnest($3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[]) AS r(uid, email_id, thread_id, created_modseq)`,
    [
      mailboxId,
      modseq,
      rows.map((row) => row.uid),
      rows.map((row) => row.email_id),
      rows.map((row) => row.thread_id),
      rows.map((row) => row.created_modseq),
    ],
  );
}
