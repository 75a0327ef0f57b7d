// The import family of the SQLite store (`mailroom migrate` into SQLite, and the contract suite): rows
// written with the ids and IMAP numbers another store gave them. Each function runs inside the caller's
// write transaction; SqliteImports, the store's ImportStore part, only delegates to them.

import type Database from "better-sqlite3";
import { isStoreId } from "../ids.js";
import { invalid, requireCount, SPECIAL_USES } from "../input-checks.js";
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
import type { SqliteBlobs } from "./blobs.js";
import type { Effects, SqliteDatabase } from "./database.js";
import { NEW_MAILBOX_ID } from "./mailbox-rows.js";
import { type MailboxRow, toMailbox } from "./rows.js";
import { normalizeFlags, normalizeMailboxName, requireDate, requireUids } from "./validate.js";

/** What an import needs from the store beyond the database handle. */
interface SqliteImportContext {
  db: Database.Database;
  /** The header block captured when the body was written here, if still remembered. */
  headerOf(messageId: string): Buffer | null;
  /** Bodies whose last reference went; the store removes their files after the commit. */
  unreferenced: Set<string>;
}

/** Ids per statement; far below SQLite's bound-parameter limit. */
const ID_BATCH = 500;

function requireMailbox(db: Database.Database, mailboxId: number): MailboxRow {
  const row = db.prepare("SELECT * FROM mailboxes WHERE id = ?").get(mailboxId) as MailboxRow | undefined;
  if (!row) throw new StoreError("not-found", `mailbox ${mailboxId} does not exist`);
  return row;
}

function hasBlobs(db: Database.Database, messageIds: readonly string[]): Set<string> {
  if (!Array.isArray(messageIds)) invalid("hasBlobs needs a list of message ids");
  const ids = [...new Set(messageIds.filter((id) => typeof id === "string" && isStoreId(id)))];
  const found = new Set<string>();
  for (let start = 0; start < ids.length; start += ID_BATCH) {
    const batch = ids.slice(start, start + ID_BATCH);
    const rows = db
      .prepare(`SELECT id FROM messages WHERE id IN (${batch.map(() => "?").join(",")})`)
      .all(...batch) as Array<{ id: string }>;
    for (const row of rows) found.add(row.id);
  }
  return found;
}

function listExpunged(db: Database.Database, mailboxId: number): ExpungedUid[] {
  requireMailbox(db, mailboxId);
  return db
    .prepare("SELECT uid, modseq FROM expunged WHERE mailbox_id = ? ORDER BY uid")
    .all(mailboxId) as ExpungedUid[];
}

function importMailbox(context: SqliteImportContext, userId: number, input: MailboxImport): Mailbox {
  const { db } = context;
  const name = normalizeMailboxName(input?.name);
  if (input.specialUse !== null && !SPECIAL_USES.has(input.specialUse)) {
    invalid(`"${String(input.specialUse)}" is not a special-use attribute of RFC 6154`);
  }
  const uidValidity = requireCount(input.uidValidity, "UIDVALIDITY", 1);
  const uidNext = requireCount(input.uidNext, "UIDNEXT", 1);
  const highestModseq = requireCount(input.highestModseq, "HIGHESTMODSEQ", 1);
  const subscribed = input.subscribed ? 1 : 0;
  if (!db.prepare("SELECT 1 FROM users WHERE id = ?").get(userId)) {
    throw new StoreError("not-found", `user ${userId} does not exist`);
  }
  const existing = db.prepare("SELECT * FROM mailboxes WHERE user_id = ? AND name = ?").get(userId, name) as
    | MailboxRow
    | undefined;
  let row: MailboxRow;
  if (existing === undefined) {
    row = db
      .prepare(
        `INSERT INTO mailboxes (id, user_id, name, special_use, subscribed, uid_validity, uid_next,
                                highest_modseq, created_modseq)
         VALUES (${NEW_MAILBOX_ID}, ?, ?, ?, ?, ?, ?, ?, (SELECT modseq FROM users WHERE id = ?)) RETURNING *`,
      )
      .get(
        userId,
        name,
        input.specialUse,
        subscribed,
        uidValidity,
        uidNext,
        highestModseq,
        userId,
      ) as MailboxRow;
  } else if (existing.uid_validity === uidValidity) {
    row = db
      .prepare(
        `UPDATE mailboxes SET special_use = ?, subscribed = ?, uid_next = max(uid_next, ?),
           highest_modseq = max(highest_modseq, ?) WHERE id = ? RETURNING *`,
      )
      .get(input.specialUse, subscribed, uidNext, highestModseq, existing.id) as MailboxRow;
  } else {
    if (db.prepare("SELECT 1 FROM mailbox_messages WHERE mailbox_id = ? LIMIT 1").get(existing.id)) {
      throw new StoreError(
        "not-empty",
        `mailbox "${name}" holds messages under UIDVALIDITY ${existing.uid_validity}, not ${uidValidity}`,
      );
    }
    // Empty (as addUser leaves it): nothing a client could have cached, so it takes the source's numbers.
    db.prepare("DELETE FROM expunged WHERE mailbox_id = ?").run(existing.id);
    row = db
      .prepare(
        `UPDATE mailboxes SET special_use = ?, subscribed = ?, uid_validity = ?, uid_next = ?,
           highest_modseq = ? WHERE id = ? RETURNING *`,
      )
      .get(input.specialUse, subscribed, uidValidity, uidNext, highestModseq, existing.id) as MailboxRow;
  }
  if (subscribed === 1) {
    db.prepare("INSERT INTO subscriptions (user_id, name) VALUES (?, ?) ON CONFLICT DO NOTHING").run(
      userId,
      name,
    );
  } else {
    db.prepare("DELETE FROM subscriptions WHERE user_id = ? AND name = ?").run(userId, name);
  }
  db.prepare("UPDATE meta SET value = max(value, ?) WHERE key = 'last_uid_validity'").run(uidValidity);
  return toMailbox(row);
}

function importMessages(
  context: SqliteImportContext,
  mailboxId: number,
  messages: readonly MessageImport[],
): void {
  const { db } = context;
  if (!Array.isArray(messages)) invalid("importMessages needs a list of messages");
  const mailbox = requireMailbox(db, mailboxId);
  let maxUid = 0;
  let maxModseq = 0;
  let maxEmailId = 0;
  const insertBody = db.prepare(
    "INSERT INTO messages (id, size, created_at, header) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
  );
  const storedBody = db.prepare("SELECT size, header FROM messages WHERE id = ?");
  // Imported history lies below the account's changes floor (importAccountCounters), so the creation
  // MODSEQ only has to be no later than the entry's own.
  const upsert = db.prepare(
    `INSERT INTO mailbox_messages (mailbox_id, uid, message_id, flags, seen, internal_date, saved_at, size,
                                   modseq, email_id, thread_id, created_modseq)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (mailbox_id, uid) DO UPDATE SET message_id = excluded.message_id, flags = excluded.flags,
       seen = excluded.seen, internal_date = excluded.internal_date, saved_at = excluded.saved_at,
       size = excluded.size,
       modseq = excluded.modseq, email_id = excluded.email_id, thread_id = excluded.thread_id,
       created_modseq = excluded.created_modseq`,
  );
  const threadRef = db.prepare(
    "INSERT INTO thread_refs (user_id, hash, thread_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
  );
  const unexpunge = db.prepare("DELETE FROM expunged WHERE mailbox_id = ? AND uid = ?");
  for (const message of messages) {
    const uid = requireCount(message?.uid, "a UID", 1);
    const modseq = requireCount(message.modseq, "a MODSEQ", 1);
    const emailId = requireCount(message.emailId, "an email id", 1);
    const threadId = requireCount(message.threadId, "a thread id", 1);
    const flags = normalizeFlags(message.flags);
    const internalDate = requireDate(message.internalDate, "the internal date").getTime();
    const savedAt =
      message.savedDate === undefined
        ? internalDate
        : requireDate(message.savedDate, "the save date").getTime();
    const id = message.blob?.id;
    if (typeof id !== "string" || !isStoreId(id)) invalid(`UID ${uid} needs a body reference`);
    // The file was written by a BlobWriter of this store; its row appears with the first reference.
    insertBody.run(id, message.blob.size, Date.now(), context.headerOf(id));
    const stored = storedBody.get(id) as { size: number; header: Buffer | null };
    if (stored.size !== message.blob.size) {
      invalid(`message body ${id} has ${stored.size} bytes, not the ${message.blob.size} claimed`);
    }
    upsert.run(
      mailboxId,
      uid,
      id,
      JSON.stringify(flags),
      flags.includes("\\Seen") ? 1 : 0,
      internalDate,
      savedAt,
      stored.size,
      modseq,
      emailId,
      threadId,
      modseq,
    );
    const own = threadKeys(stored.header).own;
    if (own !== null) threadRef.run(mailbox.user_id, own, threadId);
    unexpunge.run(mailboxId, uid);
    maxUid = Math.max(maxUid, uid);
    maxModseq = Math.max(maxModseq, modseq);
    maxEmailId = Math.max(maxEmailId, emailId);
  }
  db.prepare(
    "UPDATE mailboxes SET uid_next = max(uid_next, ?), highest_modseq = max(highest_modseq, ?) WHERE id = ?",
  ).run(maxUid + 1, maxModseq, mailbox.id);
  raiseCounters(db, mailbox.user_id, maxModseq, maxEmailId + 1);
}

/** Keeps the account's MODSEQ at or above every mailbox's, and its next email id above every id. */
function raiseCounters(db: Database.Database, userId: number, modseq: number, nextEmailId: number): void {
  db.prepare(
    "UPDATE users SET modseq = max(modseq, ?), next_email_id = max(next_email_id, ?) WHERE id = ?",
  ).run(modseq, nextEmailId, userId);
}

function accountCounters(db: Database.Database, userId: number): AccountCounters {
  const row = db.prepare("SELECT modseq, next_email_id FROM users WHERE id = ?").get(userId) as
    | { modseq: number; next_email_id: number }
    | undefined;
  if (!row) throw new StoreError("not-found", `user ${userId} does not exist`);
  return { modseq: row.modseq, nextEmailId: row.next_email_id };
}

function importAccountCounters(db: Database.Database, userId: number, counters: AccountCounters): void {
  const modseq = requireCount(counters?.modseq, "the account MODSEQ", 1);
  const nextEmailId = requireCount(counters.nextEmailId, "the next email id", 1);
  accountCounters(db, userId);
  raiseCounters(db, userId, modseq, nextEmailId);
  db.prepare("UPDATE users SET changes_floor = modseq WHERE id = ?").run(userId);
}

function importExpunged(
  context: SqliteImportContext,
  mailboxId: number,
  expunged: readonly ExpungedUid[],
): void {
  const { db } = context;
  if (!Array.isArray(expunged)) invalid("importExpunged needs a list of UIDs with MODSEQs");
  const mailbox = requireMailbox(db, mailboxId);
  requireUids(expunged.map((entry) => entry?.uid));
  const remove = db.prepare(
    "DELETE FROM mailbox_messages WHERE mailbox_id = ? AND uid = ? RETURNING message_id",
  );
  // Below the changes floor (importAccountCounters): the records need no email ids.
  const record = db.prepare(
    `INSERT INTO expunged (mailbox_id, uid, modseq, email_id, thread_id, created_modseq) VALUES (?, ?, ?, 0, 0, 0)
     ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = excluded.modseq`,
  );
  const bodies = new Set<string>();
  let maxModseq = 0;
  for (const entry of expunged) {
    const modseq = requireCount(entry.modseq, "a MODSEQ", 1);
    const gone = remove.get(mailboxId, entry.uid) as { message_id: string } | undefined;
    if (gone) bodies.add(gone.message_id);
    record.run(mailboxId, entry.uid, modseq);
    maxModseq = Math.max(maxModseq, modseq);
  }
  db.prepare(
    "UPDATE mailboxes SET highest_modseq = max(highest_modseq, ?), uid_next = max(uid_next, ?) WHERE id = ?",
  ).run(maxModseq, Math.max(0, ...expunged.map((entry) => entry.uid)) + 1, mailboxId);
  raiseCounters(db, mailbox.user_id, maxModseq, 1);
  const drop = db.prepare(
    `DELETE FROM messages WHERE id = ?
       AND NOT EXISTS (SELECT 1 FROM mailbox_messages WHERE message_id = ?)
       AND NOT EXISTS (SELECT 1 FROM queue WHERE message_id = ?)`,
  );
  for (const id of bodies) {
    if (drop.run(id, id, id).changes > 0) context.unreferenced.add(id);
  }
}

/** `bodySize`: the size of the entry's body file in this store, null when there is none. */
function importQueueEntry(context: SqliteImportContext, entry: QueueEntry, bodySize: number | null): void {
  const { db } = context;
  if (typeof entry !== "object" || entry === null) invalid("a queue entry must be an object");
  if (typeof entry.id !== "string" || !isStoreId(entry.id))
    invalid(`"${String(entry.id)}" is not a queue id`);
  if (typeof entry.sender !== "string") invalid('the sender must be text ("" for <>)');
  if (typeof entry.recipient !== "string" || !entry.recipient.includes("@")) {
    invalid(`queue recipient "${String(entry.recipient)}" is not an address`);
  }
  requireCount(entry.attempts, "the attempt count", 0);
  const createdAt = requireDate(entry.createdAt, "the creation time").getTime();
  const due =
    entry.state === "delivering" && entry.claimedUntil !== null
      ? requireDate(entry.claimedUntil, "the lease end")
      : requireDate(entry.nextAttemptAt, "the next attempt time");
  const holdUntil =
    entry.holdUntil === null || entry.holdUntil === undefined
      ? null
      : requireDate(entry.holdUntil, "the release time");
  if (bodySize === null) {
    throw new StoreError(
      "not-found",
      `message body ${String(entry.messageId)} of queue entry ${entry.id} is not in this store; copy it first`,
    );
  }
  db.prepare(
    "INSERT INTO messages (id, size, created_at, header) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
  ).run(entry.messageId, bodySize, Date.now(), context.headerOf(entry.messageId));
  db.prepare(
    `INSERT INTO queue (id, message_id, sender, recipient, dsn, envelope_dsn, state, attempts, created_at,
                        next_attempt_at, last_error, claimed_until, delay_notified, hold_until, local)
     VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, NULL, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET message_id = excluded.message_id, sender = excluded.sender,
       recipient = excluded.recipient, dsn = excluded.dsn, envelope_dsn = excluded.envelope_dsn,
       state = 'queued', attempts = excluded.attempts, created_at = excluded.created_at,
       next_attempt_at = excluded.next_attempt_at, last_error = excluded.last_error, claimed_until = NULL,
       delay_notified = excluded.delay_notified, hold_until = excluded.hold_until, local = excluded.local`,
  ).run(
    entry.id,
    entry.messageId,
    entry.sender,
    entry.recipient,
    JSON.stringify(entry.dsn ?? {}),
    JSON.stringify(entry.envelopeDsn ?? {}),
    entry.attempts,
    createdAt,
    due.getTime(),
    entry.lastError ?? null,
    entry.delayNotified ? 1 : 0,
    holdUntil === null ? null : holdUntil.getTime(),
    entry.local === true ? 1 : 0,
  );
}

export class SqliteImports implements ImportStore {
  constructor(
    private readonly database: SqliteDatabase,
    private readonly blobs: SqliteBlobs,
  ) {}

  private context(effects: Effects): SqliteImportContext {
    return {
      db: this.database.db,
      headerOf: (id) => this.blobs.headerOf(id),
      unreferenced: effects.unreferenced,
    };
  }

  async hasBlobs(messageIds: readonly string[]): Promise<Set<string>> {
    const found = await this.database.read(() => hasBlobs(this.database.db, messageIds));
    // A finished body gets its row with its first reference: until then only its file tells.
    for (const id of new Set(messageIds)) {
      if (!found.has(id) && (await this.database.files.sizeOf(id)) !== null) found.add(id);
    }
    return found;
  }

  listExpunged(mailboxId: number): Promise<ExpungedUid[]> {
    return this.database.read(() => listExpunged(this.database.db, mailboxId));
  }

  accountCounters(userId: number): Promise<AccountCounters> {
    return this.database.read(() => accountCounters(this.database.db, userId));
  }

  importAccountCounters(userId: number, counters: AccountCounters): Promise<void> {
    return this.database.write(() => importAccountCounters(this.database.db, userId, counters));
  }

  importMailbox(userId: number, mailbox: MailboxImport): Promise<Mailbox> {
    return this.database.write((effects) => importMailbox(this.context(effects), userId, mailbox));
  }

  async importMessages(mailboxId: number, messages: readonly MessageImport[]): Promise<void> {
    this.database.assertOpen();
    for (const message of messages) await this.blobs.checkBlob(message.blob);
    await this.database.write((effects) => importMessages(this.context(effects), mailboxId, messages));
    for (const message of messages) this.blobs.forgetHeader(message.blob.id);
  }

  importExpunged(mailboxId: number, expunged: readonly ExpungedUid[]): Promise<void> {
    return this.database.write((effects) => importExpunged(this.context(effects), mailboxId, expunged));
  }

  async importQueueEntry(entry: QueueEntry): Promise<void> {
    this.database.assertOpen();
    const size =
      typeof entry?.messageId === "string" ? await this.database.files.sizeOf(entry.messageId) : null;
    await this.database.write((effects) => importQueueEntry(this.context(effects), entry, size));
    this.blobs.forgetHeader(entry.messageId);
  }
}
