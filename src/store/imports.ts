// The import family: what `mailroom migrate` writes with when it copies another store's state while
// keeping its ids and IMAP numbers (src/store/migrate/mirror.ts). The importing store is not expected to
// serve clients meanwhile, so these publish no events.

import type { BlobRef } from "./blobs.js";
import type { Mailbox, SpecialUse } from "./mailboxes.js";
import type { QueueEntry } from "./queue.js";

/** A mailbox as `mailroom migrate` copies it from another store: its IMAP numbers are kept. */
export interface MailboxImport {
  name: string;
  specialUse: SpecialUse | null;
  subscribed: boolean;
  uidValidity: number;
  uidNext: number;
  highestModseq: number;
}

/** A mailbox entry as `mailroom migrate` copies it: same UID, flags, date and MODSEQ as the source. */
export interface MessageImport {
  uid: number;
  blob: BlobRef;
  flags: string[];
  internalDate: Date;
  /** RFC 8514 SAVEDATE, kept from the source; absent, the internal date (as for entries older than it). */
  savedDate?: Date;
  modseq: number;
  /** The source's email and thread ids: kept, so a JMAP client's ids stay valid. */
  emailId: number;
  threadId: number;
}

/** An account's counters as `mailroom migrate` carries them. */
export interface AccountCounters {
  /** The account-wide MODSEQ: the JMAP state. */
  modseq: number;
  /** The email id the account's next email gets; ids once given, even of destroyed emails, stay taken. */
  nextEmailId: number;
}

/** One expunged UID and the MODSEQ of its expunge (RFC 7162 QRESYNC history). */
export interface ExpungedUid {
  uid: number;
  modseq: number;
}

export interface ImportStore {
  /** The ids among `messageIds` whose body is finished in this store. One round trip. */
  hasBlobs(messageIds: readonly string[]): Promise<Set<string>>;
  /** The account's counters. */
  accountCounters(userId: number): Promise<AccountCounters>;
  /**
   * Raises the account's counters to at least those given. Changes before the resulting state cannot be
   * told any more (emailChanges and the others refuse with "cannot-calculate"): mailbox ids are this
   * store's own, so what a JMAP client knew of the source's mailboxes does not carry over.
   */
  importAccountCounters(userId: number, counters: AccountCounters): Promise<void>;
  /** The mailbox's whole expunge history, in UID order. */
  listExpunged(mailboxId: number): Promise<ExpungedUid[]>;
  /**
   * Creates the named mailbox with the given UIDVALIDITY, or updates it: special-use and subscription
   * are set, UIDNEXT and HIGHESTMODSEQ only ever grow. An existing mailbox under another UIDVALIDITY
   * adopts the given one when it holds no messages, and fails with "not-empty" (changing nothing) when
   * it does. Keeps the store's UIDVALIDITY counter above every imported value, so mailboxes created
   * later still get new, higher ones (RFC 9051 §2.3.1.1).
   */
  importMailbox(userId: number, mailbox: MailboxImport): Promise<Mailbox>;
  /**
   * Inserts the entries under their UIDs, or updates flags, date, MODSEQ and ids of a UID present; one
   * transaction. Every body must be finished in this store. UIDNEXT stays above the highest UID,
   * HIGHESTMODSEQ and the account's MODSEQ at or above the highest MODSEQ, the account's next email id
   * above the highest one; each body's Message-ID joins its thread for later replies.
   */
  importMessages(mailboxId: number, messages: readonly MessageImport[]): Promise<void>;
  /**
   * Records expunged UIDs with their MODSEQ, removing any entry still present under such a UID (and
   * bodies nothing references any more). HIGHESTMODSEQ stays at or above every MODSEQ given.
   */
  importExpunged(mailboxId: number, expunged: readonly ExpungedUid[]): Promise<void>;
  /**
   * Inserts or replaces the queue entry with the same id; its body must be finished in this store. An
   * entry "delivering" in the source arrives "queued", due when its lease ends: the worker that held it
   * is on the other store and will not report back here.
   */
  importQueueEntry(entry: QueueEntry): Promise<void>;
}
