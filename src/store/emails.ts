// The account view JMAP reads (RFC 8620, RFC 8621): emails and threads by id across a user's mailboxes,
// and the account's state with what changed since an earlier one. The state is the user's account-wide
// MODSEQ, which every change to the user's mailboxes and messages raises in the same transaction; an
// email is a mailbox entry (JMAP maxMailboxesPerEmail = 1), whose id MOVE keeps and COPY renews.

import type { MailboxMessage } from "./messages.js";

export interface Changes {
  created: number[];
  updated: number[];
  destroyed: number[];
  /** The state these changes lead to: the account's state, or an earlier one when hasMoreChanges. */
  newState: number;
  hasMoreChanges: boolean;
}

export interface Thread {
  threadId: number;
  /** In receivedAt (internal date) order, oldest first. */
  emailIds: number[];
}

/** Which page of a mailbox `pageMailbox` returns. */
export interface MailboxPage {
  /** One email per thread: each thread's newest in the mailbox, placed where that email falls. */
  collapseThreads: boolean;
  /** Emails (or threads) to skip from the newest. */
  position: number;
  /** At most this many ids; null for all. */
  limit: number | null;
  /**
   * Count all the mailbox's emails (or threads) too. Counting reads every entry, where the page reads
   * only its own from the index (1.4 ms of a 10,000-message mailbox's 1.7), so it is asked for only
   * when the answer needs it.
   */
  count: boolean;
}

export interface EmailStore {
  /** The account's current state: its MODSEQ. "not-found" for an unknown user. */
  accountState(userId: number): Promise<number>;
  /**
   * What changed since `sinceState`, at most `maxChanges` ids (RFC 8620 §5.2). An email created and
   * destroyed after it is left out; one MOVE took elsewhere is updated. "cannot-calculate" when the
   * history does not reach back that far (or the state is in the future), or when one change alone
   * touched more than maxChanges ids.
   */
  emailChanges(userId: number, sinceState: number, maxChanges?: number): Promise<Changes>;
  /** The same for mailboxes: a mailbox is updated when its name, subscription or any message in it changed. */
  mailboxChanges(userId: number, sinceState: number, maxChanges?: number): Promise<Changes>;
  /** The same for threads: a thread is updated when an email joined or left it. */
  threadChanges(userId: number, sinceState: number, maxChanges?: number): Promise<Changes>;
  /** The user's emails among `emailIds`, in no particular order; unknown ids are left out. */
  getEmails(userId: number, emailIds: readonly number[]): Promise<MailboxMessage[]>;
  /**
   * Only the flags of the user's emails among `emailIds`, by email id; unknown ids are left out. What a
   * client asks after Email/changes (the keywords of what changed), without reading whole rows.
   */
  emailFlags(userId: number, emailIds: readonly number[]): Promise<Map<number, string[]>>;
  /** All of the user's emails, or those of one mailbox; unsorted (the JMAP query engine sorts). */
  listEmails(userId: number, filter?: { mailboxId?: number }): Promise<MailboxMessage[]>;
  /**
   * A mail client's list: a mailbox's email ids newest first (receivedAt descending, then email id
   * ascending), sorted and windowed by the database, with the count of all emails (or threads) when
   * `page.count` asks for it (null otherwise). An unknown mailbox or another user's gives no ids and a
   * total of 0.
   */
  pageMailbox(
    userId: number,
    mailboxId: number,
    page: MailboxPage,
  ): Promise<{ emailIds: number[]; total: number | null }>;
  /** The threads among `threadIds` that still hold emails; unknown ids are left out. */
  getThreads(userId: number, threadIds: readonly number[]): Promise<Thread[]>;
}
