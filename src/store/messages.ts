// Messages in mailboxes: the commit behind SMTP's 250, APPEND, listing, flags, expunge with its history,
// copy and move. Every method is one transaction; changes are published on the store's events after it.

import type { BlobRef } from "./blobs.js";
import type { EnvelopeDsn, QueueInput } from "./queue.js";
import type { TraceEventInput } from "./traces.js";

/** A message as it sits in one mailbox. The bytes live in the blob named by messageId. */
export interface MailboxMessage {
  mailboxId: number;
  uid: number;
  messageId: string;
  /** System flags (\Seen, \Answered, \Flagged, \Deleted, \Draft) and keywords, as given; order not kept. */
  flags: string[];
  internalDate: Date;
  /**
   * When the message entered this mailbox (RFC 8514 SAVEDATE): its delivery, APPEND, COPY or MOVE.
   * Entries stored before the store kept it have their internal date here.
   */
  savedDate: Date;
  /** Octets of the stored message (CRLF line ends). */
  size: number;
  modseq: number;
  /** The JMAP Email id: unique within the user's account, kept by MOVE, new for COPY and APPEND. */
  emailId: number;
  /** The JMAP Thread id: the email id of the message that started the thread. */
  threadId: number;
}

export interface ListMessagesOptions {
  sinceModseq?: number;
  /** Lowest UID wanted (inclusive). */
  uidFrom?: number;
  /** Highest UID wanted (inclusive). */
  uidTo?: number;
}

export interface DeliveryInput {
  blob: BlobRef;
  /** The reverse path; "" for the null sender <>. */
  sender: string;
  internalDate: Date;
  /** Local deliveries: one mailbox each (a user reached twice through aliases gets one copy). */
  mailboxes: Array<{ mailboxId: number; flags?: string[] }>;
  /** Remote recipients: one queue entry each. */
  queue: QueueInput[];
  /** RFC 4865: every queue entry waits until this time (their first attempt is due then). */
  holdUntil?: Date;
  envelopeDsn?: EnvelopeDsn;
  /**
   * Events for the message's trace, written in the same transaction as the delivery (no extra commit)
   * but in a savepoint of their own: a trace that cannot be written never fails the delivery.
   */
  trace?: TraceEventInput[];
}

export interface DeliveryResult {
  messageId: string;
  /** For each local mailbox in input order: the UID it got. */
  uids: Array<{ mailboxId: number; uid: number }>;
  queueIds: string[];
}

export type FlagOperation = "add" | "remove" | "set";

export interface FlagUpdateResult {
  /** Messages whose flags changed, with their new flags and MODSEQ. */
  updated: MailboxMessage[];
  /** RFC 7162 UNCHANGEDSINCE: UIDs not touched because their MODSEQ was higher. */
  modified: number[];
}

export interface CopyResult {
  /** Pairs of source UID and destination UID, in source-UID order (UIDPLUS COPYUID). */
  mapping: Array<[number, number]>;
  uidValidity: number;
}

export interface MessageStore {
  /**
   * The commit behind SMTP's final 250: after it resolves, the body, every mailbox entry and every queue
   * entry are durable, all or none.
   */
  deliver(input: DeliveryInput): Promise<DeliveryResult>;
  append(mailboxId: number, blob: BlobRef, flags: string[], internalDate: Date): Promise<MailboxMessage>;
  /**
   * Messages in UID order; with sinceModseq only those changed after it (CONDSTORE); with uidFrom
   * and/or uidTo only UIDs in that inclusive range (an indexed range scan, not a filtered full list).
   */
  listMessages(mailboxId: number, options?: ListMessagesOptions): Promise<MailboxMessage[]>;
  getMessage(mailboxId: number, uid: number): Promise<MailboxMessage | null>;
  updateFlags(
    mailboxId: number,
    uids: number[],
    operation: FlagOperation,
    flags: string[],
    options?: { unchangedSince?: number },
  ): Promise<FlagUpdateResult>;
  /** Removes the messages; returns the UIDs actually removed. */
  expunge(mailboxId: number, uids: number[]): Promise<number[]>;
  /** RFC 7162 QRESYNC: UIDs expunged after the given MODSEQ. */
  expungedSince(mailboxId: number, modseq: number): Promise<number[]>;
  copyMessages(fromMailboxId: number, uids: number[], toMailboxId: number): Promise<CopyResult>;
  /** Copy and expunge in one transaction (RFC 6851). */
  moveMessages(fromMailboxId: number, uids: number[], toMailboxId: number): Promise<CopyResult>;
}
