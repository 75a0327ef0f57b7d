// The Store: every durable thing mailroom keeps goes through it, as a small object of focused parts.
// Each part method is one atomic operation (a single database transaction), so callers never hold a
// transaction open across awaits and backends (SQLite in-process, PostgreSQL over the network) can
// implement the same contract. The contract suite under test/contract/ is organised by part and run
// against every backend; a backend is done when it passes it.
//
// A caller takes only the parts it uses (`Pick<Store, "mailboxes" | "messages">`), so the seams show in
// the types: the POP3 session cannot reach the queue, the queue runner cannot reach the directory.

import type { AuthFailureStore } from "./auth-failures.js";
import type { BlobStore } from "./blobs.js";
import type { DirectoryStore } from "./directory.js";
import type { EmailStore } from "./emails.js";
import type { MailboxEvents } from "./events.js";
import type { GreylistStore } from "./greylist.js";
import type { IdentityStore } from "./identities.js";
import type { ImportStore } from "./imports.js";
import type { LockStore } from "./locks.js";
import type { MailboxStore } from "./mailboxes.js";
import type { MessageStore } from "./messages.js";
import type { MetadataStore } from "./metadata.js";
import type { MtaStsStore } from "./mta-sts.js";
import type { PushSubscriptionStore } from "./push-subscriptions.js";
import type { QueueStore } from "./queue.js";
import type { QuotaStore } from "./quotas.js";
import type { SearchIndex } from "./search-index.js";
import type { SieveScriptStore } from "./sieve-scripts.js";
import type { SpamScanStore } from "./spam-scans.js";
import type { SubmissionStore } from "./submissions.js";
import type { TraceStore } from "./traces.js";
import type { UrlAuthKeyStore } from "./url-auth-keys.js";
import type { VacationStore } from "./vacation.js";

export interface Store {
  /** Short backend name for logs: "sqlite" or "postgres". */
  readonly kind: string;
  /** Domains, DKIM keys, users and their credentials, aliases. */
  readonly directory: DirectoryStore;
  /** Mailboxes, subscriptions, mailbox status. */
  readonly mailboxes: MailboxStore;
  /** Mailbox entries: deliver, append, list, flags, expunge and its history, copy and move. */
  readonly messages: MessageStore;
  /** The account view JMAP reads: emails and threads by id, the account's state and its changes. */
  readonly emails: EmailStore;
  /** Message bodies and their header blocks. */
  readonly blobs: BlobStore;
  /** The identities a user sends as over JMAP (RFC 8621 §6). */
  readonly identities: IdentityStore;
  /** The EmailSubmissions a user made over JMAP (RFC 8621 §7), with the relay's outcomes. */
  readonly submissions: SubmissionStore;
  /** The outbound queue with leases. */
  readonly queue: QueueStore;
  /** Locks held by live sessions (POP3 maildrops). */
  readonly locks: LockStore;
  /** What committed changes did, for IDLE and selected mailboxes. */
  readonly events: MailboxEvents;
  /** JMAP push subscriptions (RFC 8620 §7.2). */
  readonly pushSubscriptions: PushSubscriptionStore;
  /** What `mailroom migrate` writes with. */
  readonly imports: ImportStore;
  /** Failures counted across the nodes of a cluster; absent where one node counts in memory. */
  readonly authFailures?: AuthFailureStore;
  /** Vacation auto-reply settings and the reply log (RFC 3834 once-per-period). */
  readonly vacation: VacationStore;
  /** Storage limits per user and what their mailboxes hold (IMAP QUOTA, SMTP 552 5.2.2). */
  readonly quotas: QuotaStore;
  /** The full-text index of stored bodies, searched per user. */
  readonly search: SearchIndex;
  /** Each user's Sieve scripts, one active: what delivery runs (issue 18). */
  readonly sieveScripts: SieveScriptStore;
  /** IMAP METADATA (RFC 5464): entries on mailboxes and the server. */
  readonly metadata: MetadataStore;
  /** URLAUTH (RFC 4467): the access keys that sign each mailbox's authorized URLs. */
  readonly urlAuthKeys: UrlAuthKeyStore;
  /** Each message's delivery timeline, keyed by its id, with bounded retention (issue 16). */
  readonly traces: TraceStore;
  /** The relay's cached MTA-STS policies and its TLS-RPT session counts (RFC 8461, RFC 8460). */
  readonly mtaSts: MtaStsStore;
  /** rspamd's verdict on received messages (issue 18). */
  readonly spamScans: SpamScanStore;
  /** Greylisting triplets, shared by the nodes of a cluster (issue 18). */
  readonly greylist: GreylistStore;
  close(): Promise<void>;
}

export type * from "./auth-failures.js";
export type * from "./blobs.js";
export { HEADER_BLOCK_LIMIT } from "./blobs.js";
export type * from "./directory.js";
export type * from "./emails.js";
export { StoreError } from "./errors.js";
export type * from "./events.js";
export type * from "./greylist.js";
export type * from "./identities.js";
export type * from "./imports.js";
export type * from "./locks.js";
export type * from "./mailboxes.js";
export { DEFAULT_MAILBOXES } from "./mailboxes.js";
export type * from "./messages.js";
export type * from "./metadata.js";
export type * from "./mta-sts.js";
export type * from "./push-subscriptions.js";
export type * from "./queue.js";
export type * from "./quotas.js";
export type * from "./search-index.js";
export type * from "./sieve-scripts.js";
export type * from "./spam-scans.js";
export type * from "./submissions.js";
export type * from "./traces.js";
export type * from "./url-auth-keys.js";
export type * from "./vacation.js";
export { NO_VACATION } from "./vacation.js";
