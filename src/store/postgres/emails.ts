// The emails part of the PostgreSQL store: the account's state and changes, emails and threads by id.
// Each changes call reads in one REPEATABLE READ snapshot, so the state it reports and the rows it read
// agree; the user row's lock orders each account's commits by MODSEQ (mailbox-rows.ts).

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
import type { PostgresDatabase, Tx } from "./database.js";
import { type MessageRow, toMessage } from "./rows.js";

const USER_MAILBOXES = "SELECT id FROM mailboxes WHERE user_id = $1";

/**
 * Keeps entry m only where it is its thread's newest in the mailbox (receivedAt descending, then the
 * lower email id), where a collapsed list shows the thread (RFC 8621 §4.4.3). Walking the mailbox newest
 * first, each candidate costs one probe of its thread's few entries, so a page reads about its own size.
 */
const NEWEST_OF_ITS_THREAD = `AND NOT EXISTS (SELECT 1 FROM messages n
  WHERE n.mailbox_id = m.mailbox_id AND n.thread_id = m.thread_id
    AND (n.internal_date > m.internal_date OR (n.internal_date = m.internal_date AND n.email_id < m.email_id)))`;
/** Mailboxes whose expunge records count: live ones and deleted ones (their entries went with them). */
const EVER_MAILBOXES = `${USER_MAILBOXES} UNION ALL SELECT mailbox_id FROM mailbox_tombstones WHERE user_id = $1`;

function checkIds(ids: readonly number[], what: string): number[] {
  if (!Array.isArray(ids) || ids.some((id) => !Number.isSafeInteger(id))) {
    throw new StoreError("invalid", `${what} must be a list of integer ids`);
  }
  return [...ids];
}

async function rows<R extends object>(tx: Tx, sql: string, params: unknown[]): Promise<R[]> {
  return (await tx.client.query<R>(sql, params)).rows;
}

export class PostgresEmails implements EmailStore {
  constructor(private readonly database: PostgresDatabase) {}

  /** Runs `work` in a read-only snapshot, with the account's state checked against `since`. */
  private changes(
    userId: number,
    since: number,
    maxChanges: number | undefined,
    work: (tx: Tx, state: number) => Promise<Changes>,
  ): Promise<Changes> {
    return this.database.tx(async (tx) => {
      await tx.client.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY");
      const account = await this.account(tx, userId);
      checkSince(since, account.modseq, account.floor, maxChanges);
      return work(tx, account.modseq);
    });
  }

  private async account(tx: Tx, userId: number): Promise<{ modseq: number; floor: number }> {
    const [row] = await rows<{ modseq: number; floor: number }>(
      tx,
      "SELECT modseq::float8, changes_floor::float8 AS floor FROM users WHERE id = $1",
      [userId],
    );
    if (!row) throw new StoreError("not-found", `no user with id ${userId}`);
    return row;
  }

  accountState(userId: number): Promise<number> {
    return this.database.tx(async (tx) => (await this.account(tx, userId)).modseq);
  }

  emailChanges(userId: number, sinceState: number, maxChanges?: number): Promise<Changes> {
    return this.changes(userId, sinceState, maxChanges, async (tx, state) => {
      const live = await rows<ChangeRow>(
        tx,
        `SELECT email_id::float8 AS id, created_modseq::float8, modseq::float8 FROM messages
         WHERE mailbox_id IN (${USER_MAILBOXES}) AND modseq > $2`,
        [userId, sinceState],
      );
      const gone = await rows<ChangeRow>(
        tx,
        `SELECT email_id::float8 AS id, created_modseq::float8, modseq::float8 FROM expunged
         WHERE mailbox_id IN (${EVER_MAILBOXES}) AND modseq > $2`,
        [userId, sinceState],
      );
      return pageChanges(summarise(changeRecords(live, gone)), sinceState, state, maxChanges);
    });
  }

  mailboxChanges(userId: number, sinceState: number, maxChanges?: number): Promise<Changes> {
    return this.changes(userId, sinceState, maxChanges, async (tx, state) => {
      const live = await rows<ChangeRow>(
        tx,
        `SELECT id::float8, created_modseq::float8, highest_modseq::float8 AS modseq FROM mailboxes
         WHERE user_id = $1 AND highest_modseq > $2`,
        [userId, sinceState],
      );
      const gone = await rows<ChangeRow>(
        tx,
        `SELECT mailbox_id::float8 AS id, created_modseq::float8, modseq::float8 FROM mailbox_tombstones
         WHERE user_id = $1 AND modseq > $2`,
        [userId, sinceState],
      );
      return pageChanges(summarise(changeRecords(live, gone)), sinceState, state, maxChanges);
    });
  }

  threadChanges(userId: number, sinceState: number, maxChanges?: number): Promise<Changes> {
    return this.changes(userId, sinceState, maxChanges, async (tx, state) => {
      // created_modseq > since implies modseq > since: the (mailbox_id, modseq) index finds them.
      const changed = await rows<{ emailId: number; threadId: number; createdModseq: number }>(
        tx,
        `SELECT email_id::float8 AS "emailId", thread_id::float8 AS "threadId",
                created_modseq::float8 AS "createdModseq"
         FROM messages WHERE mailbox_id IN (${USER_MAILBOXES}) AND modseq > $2`,
        [userId, sinceState],
      );
      const removed = await rows<{
        emailId: number;
        threadId: number;
        createdModseq: number;
        modseq: number;
      }>(
        tx,
        `SELECT email_id::float8 AS "emailId", thread_id::float8 AS "threadId",
                created_modseq::float8 AS "createdModseq", modseq::float8
         FROM expunged WHERE mailbox_id IN (${EVER_MAILBOXES}) AND modseq > $2`,
        [userId, sinceState],
      );
      const born = changed.filter((row) => row.createdModseq > sinceState);
      const candidates = [...new Set([...born, ...removed].map((email) => email.threadId))];
      // Flag changes alone (the usual case) create and destroy no email: no thread to look up.
      const oldest =
        candidates.length === 0
          ? []
          : await rows<{ thread_id: number; oldest: number }>(
              tx,
              `SELECT thread_id::float8, min(created_modseq)::float8 AS oldest FROM messages
               WHERE mailbox_id IN (${USER_MAILBOXES}) AND thread_id = ANY($2::bigint[]) GROUP BY thread_id`,
              [userId, candidates],
            );
      return pageChanges(
        threadSummaries(
          born,
          removed,
          new Set(changed.map((row) => row.emailId)),
          new Map(oldest.map((row) => [row.thread_id, row.oldest])),
        ),
        sinceState,
        state,
        maxChanges,
      );
    });
  }

  async getEmails(userId: number, emailIds: readonly number[]): Promise<MailboxMessage[]> {
    const ids = checkIds(emailIds, "email ids");
    const found = await this.database.read<MessageRow>(
      `SELECT * FROM messages WHERE mailbox_id IN (${USER_MAILBOXES}) AND email_id = ANY($2::bigint[])`,
      [userId, ids],
    );
    return found.map(toMessage);
  }

  async emailFlags(userId: number, emailIds: readonly number[]): Promise<Map<number, string[]>> {
    const ids = checkIds(emailIds, "email ids");
    const found = await this.database.read<{ email_id: string; flags: string[] }>(
      `SELECT email_id, flags FROM messages WHERE mailbox_id IN (${USER_MAILBOXES}) AND email_id = ANY($2::bigint[])`,
      [userId, ids],
    );
    return new Map(found.map((row) => [Number(row.email_id), row.flags]));
  }

  async listEmails(userId: number, filter: { mailboxId?: number } = {}): Promise<MailboxMessage[]> {
    const found =
      filter.mailboxId === undefined
        ? await this.database.read<MessageRow>(
            `SELECT * FROM messages WHERE mailbox_id IN (${USER_MAILBOXES})`,
            [userId],
          )
        : await this.database.read<MessageRow>(
            `SELECT * FROM messages WHERE mailbox_id IN (${USER_MAILBOXES}) AND mailbox_id = $2`,
            [userId, filter.mailboxId],
          );
    return found.map(toMessage);
  }

  async pageMailbox(
    userId: number,
    mailboxId: number,
    page: MailboxPage,
  ): Promise<{ emailIds: number[]; total: number | null }> {
    const entries = `SELECT email_id, thread_id, internal_date FROM messages
      WHERE mailbox_id = $2 AND mailbox_id IN (${USER_MAILBOXES})`;
    const listed = `SELECT email_id, internal_date FROM messages m
      WHERE mailbox_id = $2 AND mailbox_id IN (${USER_MAILBOXES})
        ${page.collapseThreads ? NEWEST_OF_ITS_THREAD : ""}`;
    const counted = page.collapseThreads ? "count(DISTINCT thread_id)" : "count(*)";
    const total = page.count ? `(SELECT ${counted} FROM (${entries}) t)::float8` : "NULL::float8";
    // One statement, so the page and the total come from one snapshot.
    const found = await this.database.read<{ ids: number[] | null; total: number | null }>(
      `SELECT (SELECT array_agg(email_id::float8 ORDER BY internal_date DESC, email_id) FROM
                (SELECT email_id, internal_date FROM (${listed}) l ORDER BY internal_date DESC, email_id
                 LIMIT $3 OFFSET $4) p) AS ids,
              ${total} AS total`,
      [userId, mailboxId, page.limit, page.position],
    );
    const row = found[0];
    return { emailIds: row?.ids ?? [], total: page.count ? (row?.total ?? 0) : null };
  }

  async getThreads(userId: number, threadIds: readonly number[]): Promise<Thread[]> {
    const ids = checkIds(threadIds, "thread ids");
    const found = await this.database.read<{ thread_id: number; email_id: number }>(
      `SELECT thread_id::float8, email_id::float8 FROM messages
       WHERE mailbox_id IN (${USER_MAILBOXES}) AND thread_id = ANY($2::bigint[])
       ORDER BY internal_date, email_id`,
      [userId, ids],
    );
    return groupThreads(found);
  }
}
