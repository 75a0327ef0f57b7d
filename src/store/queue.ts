// The outbound queue: one entry per remote recipient of a delivered message, claimed by a runner with a
// lease so several workers (and nodes) never deliver the same entry twice.

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
  /**
   * A recipient of this server's own domains whose delivery waits in the queue (a held message:
   * RFC 4865 FUTURERELEASE holds it everywhere, not only for remote recipients). The runner commits it
   * to the mailbox at release instead of relaying it.
   */
  local?: boolean;
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
  /**
   * RFC 4865 future release: no attempt before this time, whatever retry() asks; null when the message
   * was not held. Expiry and delay notices count from it rather than from createdAt.
   */
  holdUntil: Date | null;
  /** Delivered into a local mailbox at release rather than relayed (see QueueInput.local). */
  local: boolean;
}

export interface QueueStats {
  size: number;
  /** null when the queue is empty. */
  oldestCreatedAt: Date | null;
}

export interface QueueStore {
  /** Marks up to `limit` due entries "delivering" with a lease, so no other worker takes them. */
  claim(now: Date, limit: number, leaseMs: number): Promise<QueueEntry[]>;
  /** After a failed attempt: back to "queued" with the next attempt time. */
  defer(id: string, nextAttemptAt: Date, error: string, delayNotified?: boolean): Promise<void>;
  /** Delivered or bounced: the entry is gone (the body too, once nothing references it). */
  complete(id: string): Promise<void>;
  /**
   * complete() for several entries in one transaction (the relay records a burst of 250s with one
   * commit, so one fsync). Returns the ids that were there and are now gone; ids that name no entry
   * (deleted meanwhile, or repeated) are left out rather than failing the others. The commit need not
   * be durable at once (no fsync waited for): a power loss may bring entries back, to be sent again,
   * but never a row without its body.
   */
  completeMany(ids: readonly string[]): Promise<string[]>;
  get(id: string): Promise<QueueEntry | null>;
  list(): Promise<QueueEntry[]>;
  /** How many entries wait (queued or delivering) and when the oldest was queued: for metrics and readiness. */
  stats(): Promise<QueueStats>;
  /**
   * When claim() will next find something: the earliest next attempt of a queued entry or lease end of
   * a delivering one, past or future; null when the queue is empty. The runner sleeps until then rather
   * than a whole poll interval, so a held message goes out at its release time (RFC 4865).
   */
  nextDue(): Promise<Date | null>;
  /** Makes entries due now (all, or the one named), a held entry at its release time. Returns how many. */
  retry(id?: string): Promise<number>;
  /**
   * Extends to `until` the leases of the named entries that are still "delivering" and still held by
   * this store instance (the one whose claim() took them, or its renewal). An entry whose
   * lease ran out and was claimed by another instance, or that was recorded meanwhile, is not held.
   * Returns the ids renewed. One runner per store instance: runners sharing an instance share leases.
   */
  renewLeases(ids: readonly string[], until: Date): Promise<string[]>;
  /**
   * Takes back every entry of message `messageId` at once, when none is being delivered: "canceled"
   * (the entries are gone, the body too once nothing references it), "in-flight" (one is "delivering":
   * nothing changed), or "none" (the message has no entries).
   */
  cancelMessage(messageId: string): Promise<"canceled" | "in-flight" | "none">;
}
