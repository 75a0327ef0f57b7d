// The messages part of the SQLite store: mailbox entries delivered, appended, listed, flagged, expunged,
// copied and moved. deliver() commits through the group commit (./group-commit.ts).

import { checkListOptions, type ListedRow, listedMessage } from "../list-options.js";
import { documentOf, type SearchDocument } from "../search-index.js";
import { threadKeys } from "../threading.js";
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
import type { SqliteBlobs } from "./blobs.js";
import type { SqliteDatabase } from "./database.js";
import { allocate, assignThread, copyWithin, entryRow, expungeWithin, insertEntry } from "./entries.js";
import type { GroupCommit } from "./group-commit.js";
import { requireMailbox } from "./mailbox-rows.js";
import { toMessage } from "./rows.js";
import { indexDocument } from "./search-index.js";
import { flagKey, normalizeFlags, requireDate, requireText, requireUids } from "./validate.js";

/** Messages per listMessages statement: bounds the JSON text one page makes (about 100 bytes each). */
const LIST_PAGE = 50_000;
const LIST_COLUMNS =
  "json_array(uid, message_id, json(flags), internal_date, coalesce(saved_at, internal_date), size, modseq, email_id, thread_id)";
const LIST_PAGE_SQL = `SELECT json_group_array(${LIST_COLUMNS}) FROM (
  SELECT * FROM mailbox_messages WHERE mailbox_id = ? AND uid >= ? AND uid <= ? ORDER BY uid LIMIT ?)`;
// "+uid" keeps the changed-since query on the (mailbox_id, modseq) index: few rows change at a time.
const LIST_CHANGED_PAGE_SQL = `SELECT json_group_array(${LIST_COLUMNS}) FROM (
  SELECT * FROM mailbox_messages WHERE mailbox_id = ? AND +uid >= ? AND +uid <= ? AND modseq > ?
  ORDER BY uid LIMIT ?)`;
// The same in UID order through the primary key, for when most of the mailbox changed: the MODSEQ
// index would then visit every entry anyway, and the result still has to be sorted.
const LIST_CHANGED_SCAN_SQL = `SELECT json_group_array(${LIST_COLUMNS}) FROM (
  SELECT * FROM mailbox_messages WHERE mailbox_id = ? AND uid >= ? AND uid <= ? AND +modseq > ?
  ORDER BY uid LIMIT ?)`;
const COUNT_CHANGED_SQL = "SELECT count(*) FROM mailbox_messages WHERE mailbox_id = ? AND modseq > ?";
/** Past this many changed entries, a changed-since listing of a whole mailbox scans it in UID order. */
const CHANGED_SCAN_ABOVE = 2000;
const LIST_UIDS_SQL = `SELECT json_group_array(${LIST_COLUMNS}) FROM (
  SELECT * FROM mailbox_messages WHERE mailbox_id = ? AND uid IN (SELECT value FROM json_each(?)) ORDER BY uid)`;
/**
 * Each element of the JSON array parameter is [uid, flags as JSON text, seen]. Materialized so the
 * planner loops over the changes and probes the primary key, rather than scanning the mailbox once
 * per change.
 */
const UPDATE_FLAGS_SQL = `WITH change(uid, flags, seen) AS MATERIALIZED (
    SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?))
  UPDATE mailbox_messages SET flags = change.flags, seen = change.seen, modseq = ?
  FROM change WHERE mailbox_id = ? AND mailbox_messages.uid = change.uid`;
export class SqliteMessages implements MessageStore {
  constructor(
    private readonly database: SqliteDatabase,
    private readonly blobs: SqliteBlobs,
    private readonly groupCommit: GroupCommit,
  ) {}

  async deliver(input: DeliveryInput): Promise<DeliveryResult> {
    this.database.assertOpen();
    this.validateDelivery(input);
    return this.database.track(
      this.blobs
        .checkBlob(input.blob)
        .then(() =>
          input.mailboxes.length > 0 ? documentOf(this.blobs, input.blob.id, input.blob.size) : null,
        )
        .then((document) => this.groupCommit.add(input, document)),
    );
  }

  private validateDelivery(input: DeliveryInput): void {
    if (typeof input !== "object" || input === null)
      throw new StoreError("invalid", "a delivery must be an object");
    requireDate(input.internalDate, "the internal date");
    if (typeof input.sender !== "string")
      throw new StoreError("invalid", 'the sender must be text ("" for <>)');
    if (!Array.isArray(input.mailboxes) || !Array.isArray(input.queue)) {
      throw new StoreError("invalid", "a delivery needs mailbox and queue lists");
    }
    if (input.mailboxes.length === 0 && input.queue.length === 0) {
      throw new StoreError("invalid", "a delivery needs at least one mailbox or queue recipient");
    }
    const seen = new Set<number>();
    for (const target of input.mailboxes) {
      if (seen.has(target.mailboxId)) {
        throw new StoreError(
          "invalid",
          `mailbox ${target.mailboxId} is named twice; a mailbox gets one copy`,
        );
      }
      seen.add(target.mailboxId);
      normalizeFlags(target.flags ?? []);
    }
    for (const entry of input.queue) requireText(entry?.recipient, "a queue recipient");
    if (input.holdUntil !== undefined) requireDate(input.holdUntil, "the release time");
  }

  async append(
    mailboxId: number,
    blob: BlobRef,
    flags: string[],
    internalDate: Date,
  ): Promise<MailboxMessage> {
    this.database.assertOpen();
    const normalizedFlags = normalizeFlags(flags);
    requireDate(internalDate, "the internal date");
    return this.database.track(
      this.blobs
        .checkBlob(blob)
        .then(() => documentOf(this.blobs, blob.id, blob.size))
        .then((document) => this.appendChecked(mailboxId, blob, normalizedFlags, internalDate, document))
        .then((message) => {
          this.blobs.forgetHeader(blob.id);
          return message;
        }),
    );
  }

  private appendChecked(
    mailboxId: number,
    blob: BlobRef,
    normalizedFlags: string[],
    internalDate: Date,
    document: SearchDocument,
  ) {
    return this.database.write((effects) => {
      const mailbox = requireMailbox(this.database, mailboxId);
      const keys = threadKeys(this.blobs.insertMessageRow(blob));
      indexDocument(this.database, blob.id, document);
      const { firstUid, modseq, firstEmailId } = allocate(this.database, mailbox.id, 1, 1);
      insertEntry(this.database, {
        mailboxId: mailbox.id,
        uid: firstUid,
        messageId: blob.id,
        flags: normalizedFlags,
        internalDate: internalDate.getTime(),
        savedAt: Date.now(),
        size: blob.size,
        modseq,
        emailId: firstEmailId,
        threadId: assignThread(this.database, mailbox.user_id, keys, firstEmailId),
        createdModseq: modseq,
      });
      effects.events.push({ kind: "exists", userId: mailbox.user_id, mailboxId, uids: [firstUid], modseq });
      return toMessage(entryRow(this.database, mailboxId, firstUid)!);
    }, true);
  }

  listMessages(mailboxId: number, options?: ListMessagesOptions): Promise<MailboxMessage[]> {
    return this.database.read(() => {
      const { sinceModseq, uidFrom, uidTo } = checkListOptions(options);
      const messages: MailboxMessage[] = [];
      // Counted only for a whole mailbox (bringing a kept listing up to date after, say, a STORE on
      // all of it): ranged calls are the few messages a session looks up, and the count would cost
      // more than it saves there.
      const changedSql =
        sinceModseq !== undefined &&
        options?.uidFrom === undefined &&
        options?.uidTo === undefined &&
        (this.database.stmt(COUNT_CHANGED_SQL).pluck(true).get(mailboxId, sinceModseq) as number) >
          CHANGED_SCAN_ABOVE
          ? LIST_CHANGED_SCAN_SQL
          : LIST_CHANGED_PAGE_SQL;
      // SQLite builds each page as one JSON text, which V8 parses far faster than better-sqlite3 turns
      // rows into objects (the bulk of SELECT's time on a large mailbox); pages keep that text bounded.
      for (let low = uidFrom; ; ) {
        const text = (
          sinceModseq === undefined
            ? this.database.stmt(LIST_PAGE_SQL).pluck(true).get(mailboxId, low, uidTo, LIST_PAGE)
            : this.database.stmt(changedSql).pluck(true).get(mailboxId, low, uidTo, sinceModseq, LIST_PAGE)
        ) as string;
        const rows = JSON.parse(text) as ListedRow[];
        for (const row of rows) messages.push(listedMessage(mailboxId, row));
        const last = rows.at(-1);
        if (rows.length < LIST_PAGE || last === undefined) return messages;
        low = last[0] + 1;
      }
    });
  }

  getMessage(mailboxId: number, uid: number): Promise<MailboxMessage | null> {
    return this.database.read(() => {
      const row = entryRow(this.database, mailboxId, uid);
      return row ? toMessage(row) : null;
    });
  }

  updateFlags(
    mailboxId: number,
    uids: number[],
    operation: FlagOperation,
    flags: string[],
    options?: { unchangedSince?: number },
  ): Promise<FlagUpdateResult> {
    return this.database.write((effects) => {
      if (operation !== "add" && operation !== "remove" && operation !== "set") {
        throw new StoreError("invalid", `flag operation "${String(operation)}" is not add, remove or set`);
      }
      const wanted = normalizeFlags(flags);
      const wantedKeys = new Set(wanted.map(flagKey));
      const mailbox = requireMailbox(this.database, mailboxId);
      const changes: MailboxMessage[] = [];
      const modified: number[] = [];
      for (const row of this.listedRows(mailboxId, requireUids(uids))) {
        const message = listedMessage(mailboxId, row);
        // RFC 7162 §3.2: with UNCHANGEDSINCE, a message changed after the given MODSEQ is left alone.
        if (options?.unchangedSince !== undefined && message.modseq > options.unchangedSince) {
          modified.push(message.uid);
          continue;
        }
        const current = message.flags;
        let next: string[];
        if (operation === "set") next = wanted;
        else if (operation === "add") next = normalizeFlags([...current, ...wanted]);
        else next = current.filter((flag) => !wantedKeys.has(flagKey(flag)));
        const before = new Set(current.map(flagKey));
        const after = new Set(next.map(flagKey));
        if (before.size === after.size && [...before].every((key) => after.has(key))) continue;
        message.flags = next;
        changes.push(message);
      }
      if (changes.length === 0) return { updated: [], modified };
      const { modseq } = allocate(this.database, mailbox.id, 0, 0);
      // Read in one statement and written in one (per page of LIST_PAGE, which bounds the JSON text):
      // a point read before and after each message's own UPDATE made a STORE on 10,000 messages twice
      // as slow (bench/store/list-messages.ts).
      for (let start = 0; start < changes.length; start += LIST_PAGE) {
        const page = changes.slice(start, start + LIST_PAGE);
        this.database.run(
          UPDATE_FLAGS_SQL,
          JSON.stringify(
            page.map((change) => [
              change.uid,
              JSON.stringify(change.flags),
              change.flags.includes("\\Seen") ? 1 : 0,
            ]),
          ),
          modseq,
          mailboxId,
        );
      }
      for (const change of changes) change.modseq = modseq;
      effects.events.push({
        kind: "flags",
        userId: mailbox.user_id,
        mailboxId,
        uids: changes.map((change) => change.uid),
        modseq,
      });
      return { updated: changes, modified };
    });
  }

  /** The listed form of the given entries (sorted UIDs), in UID order; UIDs not in the mailbox are left out. */
  private listedRows(mailboxId: number, uids: readonly number[]): ListedRow[] {
    const rows: ListedRow[] = [];
    for (let start = 0; start < uids.length; start += LIST_PAGE) {
      const text = this.database
        .stmt(LIST_UIDS_SQL)
        .pluck(true)
        .get(mailboxId, JSON.stringify(uids.slice(start, start + LIST_PAGE))) as string;
      for (const row of JSON.parse(text) as ListedRow[]) rows.push(row);
    }
    return rows;
  }

  expunge(mailboxId: number, uids: number[]): Promise<number[]> {
    return this.database.write((effects) =>
      expungeWithin(this.database, requireMailbox(this.database, mailboxId), requireUids(uids), effects),
    );
  }

  expungedSince(mailboxId: number, modseq: number): Promise<number[]> {
    return this.database.read(() => {
      requireMailbox(this.database, mailboxId);
      return this.database
        .all<{ uid: number }>(
          "SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ? ORDER BY uid",
          mailboxId,
          modseq,
        )
        .map((row) => row.uid);
    });
  }

  copyMessages(fromMailboxId: number, uids: number[], toMailboxId: number): Promise<CopyResult> {
    return this.database.write((effects) =>
      copyWithin(
        this.database,
        requireMailbox(this.database, fromMailboxId),
        requireUids(uids),
        requireMailbox(this.database, toMailboxId),
        effects,
      ),
    );
  }

  moveMessages(fromMailboxId: number, uids: number[], toMailboxId: number): Promise<CopyResult> {
    return this.database.write((effects) => {
      const from = requireMailbox(this.database, fromMailboxId);
      const to = requireMailbox(this.database, toMailboxId);
      if (from.id === to.id)
        throw new StoreError("invalid", "cannot move messages into the mailbox they are in");
      return copyWithin(this.database, from, requireUids(uids), to, effects, true);
    });
  }
}
