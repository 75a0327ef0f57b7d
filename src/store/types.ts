// The Store: every durable thing mailroom keeps goes through this interface. Each method is one atomic
// operation (a single database transaction), so callers never hold a transaction open across awaits and
// backends (SQLite in-process, PostgreSQL over the network) can implement the same contract. The contract
// suite under test/contract/ is run against every backend; a backend is done when it passes it.
//
// Conventions:
// - Addresses and domain names are stored lower-cased (the local part too: mailroom treats local parts
//   case-insensitively, as nearly every deployed MTA does, although RFC 5321 §2.4 allows otherwise).
// - Mailbox names are UTF-8, hierarchy separator "/"; "INBOX" is case-insensitive (RFC 9051 §5.1).
// - Numbers that IMAP exposes (UID, UIDVALIDITY, MODSEQ) are JS numbers: they stay below 2^53.

import type { Readable } from "node:stream";

export interface Domain {
  id: number;
  name: string;
  createdAt: Date;
}

/** A domain's DKIM signing key (RFC 6376). The store keeps the PEM opaque; src/mail/dkim.ts reads it. */
export interface DkimKeyInput {
  /** The selector (s= tag): DNS labels, stored lower-cased. */
  selector: string;
  /** PKCS#8 PEM of the private key. */
  privateKeyPem: string;
  algorithm: "rsa-sha256" | "ed25519-sha256";
}

export interface DkimKey extends DkimKeyInput {
  createdAt: Date;
}

/** Credentials are produced by src/auth/password.ts; the store keeps them opaque. */
export interface StoredCredentials {
  /** scrypt hash in a self-describing text form (algorithm, parameters, salt, hash). */
  passwordHash: string;
  /** SCRAM-SHA-256 verifier (salt, iterations, StoredKey, ServerKey), text form; never the password. */
  scramSha256: string;
}

export interface User extends StoredCredentials {
  id: number;
  /** local@domain, lower-cased. */
  address: string;
  domainId: number;
  createdAt: Date;
}

export interface Alias {
  id: number;
  /** "local@domain", or "@domain" for the domain's catch-all. */
  source: string;
  /** A full address; may be local or remote. */
  destination: string;
}

export type SpecialUse = "\\Drafts" | "\\Sent" | "\\Trash" | "\\Junk" | "\\Archive" | "\\All" | "\\Flagged";

/** Mailboxes created for every new user (IMAP SPECIAL-USE, RFC 6154). */
export const DEFAULT_MAILBOXES: ReadonlyArray<{ name: string; specialUse: SpecialUse | null }> = [
  { name: "INBOX", specialUse: null },
  { name: "Drafts", specialUse: "\\Drafts" },
  { name: "Sent", specialUse: "\\Sent" },
  { name: "Trash", specialUse: "\\Trash" },
  { name: "Junk", specialUse: "\\Junk" },
  { name: "Archive", specialUse: "\\Archive" },
];

export interface Mailbox {
  id: number;
  userId: number;
  name: string;
  specialUse: SpecialUse | null;
  subscribed: boolean;
  uidValidity: number;
  /** The UID the next message appended will get. */
  uidNext: number;
  /** RFC 7162: the highest MODSEQ of any change in this mailbox (starts at 1). */
  highestModseq: number;
}

export interface MailboxStatus {
  messages: number;
  /** Messages without \Seen. */
  unseen: number;
  /** Messages with \Recent are not tracked: IMAP4rev2 dropped \Recent (RFC 9051 §2.3.2). */
  size: number;
  uidNext: number;
  uidValidity: number;
  highestModseq: number;
}

/** A message as it sits in one mailbox. The bytes live in the blob named by messageId. */
export interface MailboxMessage {
  mailboxId: number;
  uid: number;
  messageId: string;
  /** System flags (\Seen, \Answered, \Flagged, \Deleted, \Draft) and keywords, as given; order not kept. */
  flags: string[];
  internalDate: Date;
  /** Octets of the stored message (CRLF line ends). */
  size: number;
  modseq: number;
}

/**
 * How far into a message the store looks for the end of its header section (see readHeaderBlocks);
 * bounds the memory a writer spends on it.
 */
export const HEADER_BLOCK_LIMIT = 256 * 1024;

export interface ListMessagesOptions {
  sinceModseq?: number;
  /** Lowest UID wanted (inclusive). */
  uidFrom?: number;
  /** Highest UID wanted (inclusive). */
  uidTo?: number;
}

/** A committed, immutable message body. */
export interface BlobRef {
  /** The message id: also the id shown in "250 2.0.0 Ok: queued as <id>". */
  id: string;
  size: number;
}

/**
 * Streams a body into the store. Nothing is visible to readers until `finish()` resolves, and nothing
 * is referenced by any mailbox until a `deliver()`/`append()` names it; an unreferenced body is garbage.
 */
export interface BlobWriter {
  readonly id: string;
  write(chunk: Uint8Array): Promise<void>;
  /** Makes the bytes durable (fsync) and returns the reference. */
  finish(): Promise<BlobRef>;
  /** Throws the bytes away; safe to call at any point, also after finish() failed. */
  abort(): Promise<void>;
}

/** DSN parameters of one recipient (RFC 3461 §4), kept for bounces and success notices. */
export interface RecipientDsn {
  /** NOTIFY: absent means the default (FAILURE, DELAY at the MTA's discretion). */
  notify?: Array<"NEVER" | "SUCCESS" | "FAILURE" | "DELAY">;
  /** ORCPT as given: "rfc822;user@example.org" (xtext already decoded). */
  orcpt?: string;
}

export interface EnvelopeDsn {
  ret?: "FULL" | "HDRS";
  envid?: string;
}

export interface QueueInput {
  recipient: string;
  dsn?: RecipientDsn;
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
  envelopeDsn?: EnvelopeDsn;
}

export interface DeliveryResult {
  messageId: string;
  /** For each local mailbox in input order: the UID it got. */
  uids: Array<{ mailboxId: number; uid: number }>;
  queueIds: string[];
}

export type QueueState = "queued" | "delivering";

export interface QueueEntry {
  id: string;
  messageId: string;
  sender: string;
  recipient: string;
  dsn: RecipientDsn;
  envelopeDsn: EnvelopeDsn;
  state: QueueState;
  attempts: number;
  createdAt: Date;
  nextAttemptAt: Date;
  lastError: string | null;
  /** While state is "delivering": the lease; past it, the entry is due again (its claimer died). */
  claimedUntil: Date | null;
  /** Set once a delay notice was sent, so only one goes out. */
  delayNotified: boolean;
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

/** What changed in a mailbox; published after the change is committed. */
export type MailboxEvent =
  | { kind: "exists"; userId: number; mailboxId: number; uids: number[]; modseq: number }
  | { kind: "flags"; userId: number; mailboxId: number; uids: number[]; modseq: number }
  | { kind: "expunge"; userId: number; mailboxId: number; uids: number[]; modseq: number }
  | { kind: "mailboxes"; userId: number };

export interface MailboxEvents {
  /** Returns the function that unsubscribes. Listeners must not throw. */
  subscribe(listener: (event: MailboxEvent) => void): () => void;
}

/** A held maildrop lock (POP3 IN-USE, RFC 1939 §8). */
export interface MaildropLock {
  release(): Promise<void>;
}

export class StoreError extends Error {
  constructor(
    readonly code:
      | "exists"
      | "not-found"
      | "invalid"
      | "in-use"
      | "unavailable"
      | "full"
      | "locked"
      | "not-empty",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "StoreError";
  }
}

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
  modseq: number;
}

/** One expunged UID and the MODSEQ of its expunge (RFC 7162 QRESYNC history). */
export interface ExpungedUid {
  uid: number;
  modseq: number;
}

export interface Store {
  /** Short backend name for logs: "sqlite" or "postgres". */
  readonly kind: string;
  readonly events: MailboxEvents;
  close(): Promise<void>;

  // Domains. Removing a domain that still has users or aliases fails with "not-empty".
  addDomain(name: string): Promise<Domain>;
  getDomain(name: string): Promise<Domain | null>;
  listDomains(): Promise<Domain[]>;
  removeDomain(name: string): Promise<void>;
  /** Sets (or replaces: rotation) the domain's one DKIM key; "not-found" for a domain not served here. */
  setDkimKey(domain: string, key: DkimKeyInput): Promise<void>;
  /** The domain's DKIM key; null when it has none or is not served here. Removed with the domain. */
  getDkimKey(domain: string): Promise<DkimKey | null>;

  // Users. addUser creates DEFAULT_MAILBOXES. removeUser deletes the user's mailboxes and messages.
  addUser(address: string, credentials: StoredCredentials): Promise<User>;
  getUser(address: string): Promise<User | null>;
  getUserById(id: number): Promise<User | null>;
  listUsers(domain?: string): Promise<User[]>;
  removeUser(address: string): Promise<void>;
  setCredentials(address: string, credentials: StoredCredentials): Promise<void>;

  // Aliases. One source may have many destinations; adding an existing pair fails with "exists".
  addAlias(source: string, destination: string): Promise<Alias>;
  listAliases(domain?: string): Promise<Alias[]>;
  /** Without destination, removes every alias of the source. */
  removeAlias(source: string, destination?: string): Promise<void>;
  /** Destinations of an exact source ("a@b" or "@b"); empty when none. */
  aliasDestinations(source: string): Promise<string[]>;

  // Mailboxes.
  listMailboxes(userId: number): Promise<Mailbox[]>;
  getMailbox(userId: number, name: string): Promise<Mailbox | null>;
  getMailboxById(mailboxId: number): Promise<Mailbox | null>;
  createMailbox(userId: number, name: string, specialUse?: SpecialUse | null): Promise<Mailbox>;
  /** Renaming INBOX moves its messages into a new mailbox and leaves INBOX empty (RFC 9051 §6.3.6). */
  renameMailbox(userId: number, from: string, to: string): Promise<void>;
  deleteMailbox(userId: number, name: string): Promise<void>;
  /**
   * Subscriptions are names, kept apart from mailboxes (RFC 9051 §6.3.9): a name may be subscribed
   * whether or not its mailbox exists, deleteMailbox keeps it, renameMailbox moves it (with the
   * inferiors' names), and new mailboxes start subscribed. "not-found" only for an unknown user.
   */
  setSubscribed(userId: number, name: string, subscribed: boolean): Promise<void>;
  /** The user's subscribed names, existing mailboxes or not, sorted by name. */
  listSubscriptions(userId: number): Promise<string[]>;
  mailboxStatus(mailboxId: number): Promise<MailboxStatus>;

  // Bodies.
  /**
   * `id` (import only): the body keeps the id it has in another store, since "queued as" and queue
   * entries name it; "invalid" unless it has the form of a store id, "exists" when a finished body
   * already has it.
   */
  createBlobWriter(options?: { id?: string }): Promise<BlobWriter>;
  readBlob(messageId: string): Readable;
  readBlobBytes(messageId: string): Promise<Buffer>;
  /**
   * The header section of each named message: its bytes from the start up to and including the empty
   * line that ends it (CRLF CRLF), exactly as stored. A message whose first line is empty has the header
   * block CRLF. A message with no empty line at all (RFC 5322 §3.5 allows a message without a body) is
   * all header: its block is the whole message, when that is at most HEADER_BLOCK_LIMIT octets.
   * Missing from the map when unknown (the message has no header end within HEADER_BLOCK_LIMIT octets,
   * was stored before headers were kept, or the id names no message); callers then read the blob.
   * One round trip for the whole list.
   */
  readHeaderBlocks(messageIds: readonly string[]): Promise<Map<string, Buffer>>;
  /**
   * Keeps header blocks that a reader extracted from whole bodies (messages stored before headers were
   * kept), so later header reads skip the body. Only fills a missing block, never replaces one; ids of
   * no stored message are ignored. Each block must end with CRLF CRLF at its first empty line (or be
   * CRLF alone), or be the whole message when it has no empty line, and be at most HEADER_BLOCK_LIMIT
   * octets; otherwise "invalid" and nothing is saved. One transaction.
   */
  saveHeaderBlocks(blocks: ReadonlyMap<string, Buffer>): Promise<void>;

  // Messages. deliver() is the commit behind SMTP's final 250: after it resolves, the body, every
  // mailbox entry and every queue entry are durable, all or none.
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

  /** POP3 maildrop lock: null when another live session holds it. Dies with its holder's process. */
  lockMaildrop(userId: number): Promise<MaildropLock | null>;

  // Outbound queue.
  /** Marks up to `limit` due entries "delivering" with a lease, so no other worker takes them. */
  claimQueueEntries(now: Date, limit: number, leaseMs: number): Promise<QueueEntry[]>;
  /** After a failed attempt: back to "queued" with the next attempt time. */
  deferQueueEntry(id: string, nextAttemptAt: Date, error: string, delayNotified?: boolean): Promise<void>;
  /** Delivered or bounced: the entry is gone (the body too, once nothing references it). */
  completeQueueEntry(id: string): Promise<void>;
  getQueueEntry(id: string): Promise<QueueEntry | null>;
  listQueue(): Promise<QueueEntry[]>;
  /** Makes entries due now (all, or the one named). Returns how many. */
  retryQueue(id?: string): Promise<number>;
  /**
   * Extends to `until` the leases of the named entries that are still "delivering" and still held by
   * this store instance (the one whose claimQueueEntries took them, or its renewal). An entry whose
   * lease ran out and was claimed by another instance, or that was recorded meanwhile, is not held.
   * Returns the ids renewed. One runner per store instance: runners sharing an instance share leases.
   */
  renewQueueLeases(ids: readonly string[], until: Date): Promise<string[]>;

  // Import (`mailroom migrate`): copying another store's state while keeping its ids and IMAP numbers.
  // The importing store is not expected to serve clients meanwhile, so these publish no events.
  /** The ids among `messageIds` whose body is finished in this store. One round trip. */
  hasBlobs(messageIds: readonly string[]): Promise<Set<string>>;
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
   * Inserts the entries under their UIDs, or updates flags, date and MODSEQ of a UID present; one
   * transaction. Every body must be finished in this store. UIDNEXT stays above the highest UID and
   * HIGHESTMODSEQ at or above the highest MODSEQ.
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

  // Authentication failures shared by the nodes of a cluster (src/auth/cluster-throttle.ts). Optional: a
  // store serving one node leaves them out and the authenticator counts in its own memory only.
  /**
   * Records a failed authentication of `key` (a client key, see src/auth/throttle.ts clientKey) at `at`
   * and returns how many failures of that key lie inside the window (at − windowMs, at], this one
   * included. Also forgets a bounded batch of failures older than the window, so the record stays small.
   */
  recordAuthFailure?(key: string, at: Date, windowMs: number): Promise<number>;
  /** How many failures of `key` were recorded after `since`. */
  recentAuthFailures?(key: string, since: Date): Promise<number>;
}
