// The emails part of the SQLite store: the account's state and changes, emails and threads by id. Reads
// run in one turn of the event loop, so each sees one state.

import {
  type ChangeRow,
  changeRecords,
  checkSince,
  groupThreads,
  pageChanges,
  summarise,
  threadSummaries,
} from "../change-pages.js";
import type { Changes, EmailStore, MailboxMessage, MailboxPage, Thread } from "../types.js";
import { StoreError } from "../types.js";
import type { SqliteDatabase } from "./database.js";
import { type MessageRow, toMessage } from "./rows.js";

const USER_MAILBOXES = "SELECT id FROM mailboxes WHERE user_id = ?";

/**
 * Keeps entry m only where it is its thread's newest in the mailbox (receivedAt descending, then the
 * lower email id), where a collapsed list shows the thread (RFC 8621 §4.4.3). Walking the mailbox newest
 * first, each candidate costs one probe of its thread's few entries, so a page reads about its own size.
 */
const NEWEST_OF_ITS_THREAD = `AND NOT EXISTS (SELECT 1 FROM mailbox_messages n
  WHERE n.mailbox_id = m.mailbox_id AND n.thread_id = m.thread_id
    AND (n.internal_date > m.internal_date OR (n.internal_date = m.internal_date AND n.email_id < m.email_id)))`;
/** Mailboxes whose expunge records count: live ones and deleted ones (their entries went with them). */
const EVER_MAILBOXES = `${USER_MAILBOXES} UNION ALL SELECT mailbox_id FROM mailbox_tombstones WHERE user_id = ?`;

function checkIds(ids: readonly number[], what: string): string {
  if (!Array.isArray(ids) || ids.some((id) => !Number.isSafeInteger(id))) {
    throw new StoreError("invalid", `${what} must be a list of integer ids`);
  }
  return JSON.stringify(ids);
}

export class SqliteEmails implements EmailStore {
  constructor(private readonly database: SqliteDatabase) {}

  private account(userId: number): { modseq: number; changes_floor: number } {
    const row = this.database.get<{ modseq: number; changes_floor: number }>(
      "SELECT modseq, changes_floor FROM users WHERE id = ?",
      userId,
    );
    if (!row) throw new StoreError("not-found", `user ${userId} does not exist`);
    return row;
  }

  /** The account's state, after checking `since` against it. */
  private stateFor(userId: number, since: number, maxChanges?: number): number {
    const account = this.account(userId);
    checkSince(since, account.modseq, account.changes_floor, maxChanges);
    return account.modseq;
  }

  accountState(userId: number): Promise<number> {
    return this.database.read(() => this.account(userId).modseq);
  }

  emailChanges(userId: number, sinceState: number, maxChanges?: number): Promise<Changes> {
    return this.database.read(() => {
      const state = this.stateFor(userId, sinceState, maxChanges);
      const live = this.database.all<ChangeRow>(
        `SELECT email_id AS id, created_modseq, modseq FROM mailbox_messages
         WHERE mailbox_id IN (${USER_MAILBOXES}) AND modseq > ?`,
        userId,
        sinceState,
      );
      const gone = this.database.all<ChangeRow>(
        `SELECT email_id AS id, created_modseq, modseq FROM expunged
         WHERE mailbox_id IN (${EVER_MAILBOXES}) AND modseq > ?`,
        userId,
        userId,
        sinceState,
      );
      return pageChanges(summarise(changeRecords(live, gone)), sinceState, state, maxChanges);
    });
  }

  mailboxChanges(userId: number, sinceState: number, maxChanges?: number): Promise<Changes> {
    return this.database.read(() => {
      const state = this.stateFor(userId, sinceState, maxChanges);
      const live = this.database.all<ChangeRow>(
        "SELECT id, created_modseq, highest_modseq AS modseq FROM mailboxes WHERE user_id = ? AND highest_modseq > ?",
        userId,
        sinceState,
      );
      const gone = this.database.all<ChangeRow>(
        `SELECT mailbox_id AS id, created_modseq, modseq FROM mailbox_tombstones
         WHERE user_id = ? AND modseq > ?`,
        userId,
        sinceState,
      );
      return pageChanges(summarise(changeRecords(live, gone)), sinceState, state, maxChanges);
    });
  }

  threadChanges(userId: number, sinceState: number, maxChanges?: number): Promise<Changes> {
    return this.database.read(() => {
      const state = this.stateFor(userId, sinceState, maxChanges);
      // created_modseq > since implies modseq > since: the (mailbox_id, modseq) index finds them.
      const changed = this.database.all<{ email_id: number; thread_id: number; created_modseq: number }>(
        `SELECT email_id, thread_id, created_modseq FROM mailbox_messages
         WHERE mailbox_id IN (${USER_MAILBOXES}) AND modseq > ?`,
        userId,
        sinceState,
      );
      const removed = this.database
        .all<{ email_id: number; thread_id: number; created_modseq: number; modseq: number }>(
          `SELECT email_id, thread_id, created_modseq, modseq FROM expunged
           WHERE mailbox_id IN (${EVER_MAILBOXES}) AND modseq > ?`,
          userId,
          userId,
          sinceState,
        )
        .map((row) => ({
          emailId: row.email_id,
          threadId: row.thread_id,
          createdModseq: row.created_modseq,
          modseq: row.modseq,
        }));
      const born = changed
        .filter((row) => row.created_modseq > sinceState)
        .map((row) => ({ threadId: row.thread_id, createdModseq: row.created_modseq }));
      const candidates = new Set([...born, ...removed].map((email) => email.threadId));
      // Flag changes alone (the usual case) create and destroy no email: no thread to look up.
      const oldestLive = new Map(
        candidates.size === 0
          ? []
          : this.database
              .all<{ thread_id: number; oldest: number }>(
                `SELECT thread_id, min(created_modseq) AS oldest FROM mailbox_messages
             WHERE mailbox_id IN (${USER_MAILBOXES}) AND thread_id IN (SELECT value FROM json_each(?))
             GROUP BY thread_id`,
                userId,
                JSON.stringify([...candidates]),
              )
              .map((row) => [row.thread_id, row.oldest]),
      );
      const liveIds = new Set(changed.map((row) => row.email_id));
      return pageChanges(threadSummaries(born, removed, liveIds, oldestLive), sinceState, state, maxChanges);
    });
  }

  getEmails(userId: number, emailIds: readonly number[]): Promise<MailboxMessage[]> {
    return this.database.read(() => {
      const ids = checkIds(emailIds, "email ids");
      return this.database
        .all<MessageRow>(
          `SELECT * FROM mailbox_messages WHERE mailbox_id IN (${USER_MAILBOXES})
           AND email_id IN (SELECT value FROM json_each(?))`,
          userId,
          ids,
        )
        .map(toMessage);
    });
  }

  emailFlags(userId: number, emailIds: readonly number[]): Promise<Map<number, string[]>> {
    return this.database.read(() => {
      const ids = checkIds(emailIds, "email ids");
      const rows = this.database.all<{ email_id: number; flags: string }>(
        `SELECT email_id, flags FROM mailbox_messages WHERE mailbox_id IN (${USER_MAILBOXES})
         AND email_id IN (SELECT value FROM json_each(?))`,
        userId,
        ids,
      );
      return new Map(rows.map((row) => [row.email_id, JSON.parse(row.flags) as string[]]));
    });
  }

  listEmails(userId: number, filter: { mailboxId?: number } = {}): Promise<MailboxMessage[]> {
    return this.database.read(() => {
      const rows =
        filter.mailboxId === undefined
          ? this.database.all<MessageRow>(
              `SELECT * FROM mailbox_messages WHERE mailbox_id IN (${USER_MAILBOXES})`,
              userId,
            )
          : this.database.all<MessageRow>(
              `SELECT * FROM mailbox_messages WHERE mailbox_id IN (${USER_MAILBOXES}) AND mailbox_id = ?`,
              userId,
              filter.mailboxId,
            );
      return rows.map(toMessage);
    });
  }

  pageMailbox(
    userId: number,
    mailboxId: number,
    page: MailboxPage,
  ): Promise<{ emailIds: number[]; total: number | null }> {
    return this.database.read(() => {
      const entries = `SELECT email_id, thread_id, internal_date FROM mailbox_messages
        WHERE mailbox_id = ? AND mailbox_id IN (${USER_MAILBOXES})`;
      const ids = this.database
        .all<{ email_id: number }>(
          `SELECT email_id FROM mailbox_messages m
           WHERE mailbox_id = ? AND mailbox_id IN (${USER_MAILBOXES})
             ${page.collapseThreads ? NEWEST_OF_ITS_THREAD : ""}
           ORDER BY internal_date DESC, email_id LIMIT ? OFFSET ?`,
          mailboxId,
          userId,
          page.limit ?? -1,
          page.position,
        )
        .map((row) => row.email_id);
      if (!page.count) return { emailIds: ids, total: null };
      const counted = page.collapseThreads ? "count(DISTINCT thread_id)" : "count(*)";
      const total = this.database.get<{ total: number }>(
        `SELECT ${counted} AS total FROM (${entries})`,
        mailboxId,
        userId,
      );
      return { emailIds: ids, total: total?.total ?? 0 };
    });
  }

  getThreads(userId: number, threadIds: readonly number[]): Promise<Thread[]> {
    return this.database.read(() => {
      const ids = checkIds(threadIds, "thread ids");
      const rows = this.database.all<{ thread_id: number; email_id: number }>(
        `SELECT thread_id, email_id FROM mailbox_messages WHERE mailbox_id IN (${USER_MAILBOXES})
         AND thread_id IN (SELECT value FROM json_each(?)) ORDER BY internal_date, email_id`,
        userId,
        ids,
      );
      return groupThreads(rows);
    });
  }
}
