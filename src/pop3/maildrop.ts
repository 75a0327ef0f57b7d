// The maildrop of one POP3 session: a snapshot of the user's INBOX taken at login, with the "deleted"
// marks of the TRANSACTION state. Nothing is removed from the store until commit() (the UPDATE state,
// RFC 1939 §6), and then in one expunge call, which the store performs atomically.

import { type Mailbox, type MaildropLock, StoreError } from "../store/types.js";
import type { Pop3Store } from "./session.js";

export interface MaildropMessage {
  /** 1-based message number, fixed for the session (RFC 1939 §5). */
  number: number;
  uid: number;
  messageId: string;
  /** Exact octet count of the stored CRLF bytes; RFC 1939 §11 allows approximations, we need none. */
  size: number;
  deleted: boolean;
}

export type OpenResult = { kind: "opened"; maildrop: Maildrop } | { kind: "in-use" } | { kind: "no-inbox" };

export class Maildrop {
  private released = false;
  /** UIDs whose whole body went out with RETR; marked \Seen together when the session ends. */
  private readonly retrieved = new Set<number>();

  private constructor(
    private readonly store: Pop3Store,
    readonly mailbox: Mailbox,
    readonly messages: MaildropMessage[],
    private readonly lock: MaildropLock,
  ) {}

  /** Takes the maildrop lock (RFC 1939 §8: exclusive access), then the snapshot. */
  static async open(store: Pop3Store, userId: number): Promise<OpenResult> {
    const lock = await store.locks.lockMaildrop(userId);
    if (lock === null) return { kind: "in-use" };
    try {
      const mailbox = await store.mailboxes.getMailbox(userId, "INBOX");
      if (mailbox === null) {
        await lock.release();
        return { kind: "no-inbox" };
      }
      const rows = await store.messages.listMessages(mailbox.id);
      const messages = rows.map((row, index) => ({
        number: index + 1,
        uid: row.uid,
        messageId: row.messageId,
        size: row.size,
        deleted: false,
      }));
      return { kind: "opened", maildrop: new Maildrop(store, mailbox, messages, lock) };
    } catch (error) {
      await lock.release();
      throw error;
    }
  }

  /** Whether a failed body read means the message left the mailbox after the snapshot. */
  async expungedMeanwhile(message: MaildropMessage, error: unknown): Promise<boolean> {
    if (!(error instanceof StoreError) || error.code !== "not-found") return false;
    try {
      return (await this.store.messages.getMessage(this.mailbox.id, message.uid)) === null;
    } catch {
      return false;
    }
  }

  /** Messages not marked deleted, and their total size (STAT, RFC 1939 §5). */
  stat(): { count: number; size: number } {
    let count = 0;
    let size = 0;
    for (const message of this.messages) {
      if (message.deleted) continue;
      count++;
      size += message.size;
    }
    return { count, size };
  }

  get(number: number): MaildropMessage | undefined {
    return this.messages[number - 1];
  }

  /**
   * The UIDL value: `<uidValidity>.<uid>` of the INBOX row. A UID alone can repeat if INBOX is ever
   * recreated, but IMAP guarantees the pair never names two different messages (RFC 9051 §2.3.1.1), so
   * the value is stable forever as RFC 1939 §7 demands, and it is the same message IMAP shows by that UID.
   */
  uniqueId(message: MaildropMessage): string {
    return `${this.mailbox.uidValidity}.${message.uid}`;
  }

  /**
   * POP3 itself has no flags; setting \Seen on retrieved messages is common practice, so they show as
   * read in IMAP too. Recorded here and written in one store call at the end of the session, instead of
   * one durable write per RETR (which limited RETR to the disk's fsync rate, measured in bench/pop3).
   */
  noteRetrieved(message: MaildropMessage): void {
    this.retrieved.add(message.uid);
  }

  reset(): void {
    for (const message of this.messages) message.deleted = false;
  }

  /** The UPDATE state: removes the marked messages, then releases the lock. Returns how many went. */
  async commit(): Promise<number> {
    try {
      const uids = this.messages.filter((message) => message.deleted).map((message) => message.uid);
      for (const uid of uids) this.retrieved.delete(uid);
      if (uids.length === 0) return 0;
      const removed = await this.store.messages.expunge(this.mailbox.id, uids);
      return removed.length;
    } finally {
      await this.release();
    }
  }

  /**
   * Gives up the lock without deleting anything (connection dropped, RFC 1939 §6), after marking the
   * retrieved messages \Seen: the client did receive them. Idempotent.
   */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    try {
      if (this.retrieved.size > 0) {
        await this.store.messages.updateFlags(this.mailbox.id, [...this.retrieved], "add", ["\\Seen"]);
      }
    } finally {
      await this.lock.release();
    }
  }
}
