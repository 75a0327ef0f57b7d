// Storage quotas (IMAP QUOTA, RFC 9208; SMTP's 552 5.2.2): each user's limit, set by the administrator,
// and what the user's mailboxes hold — every mailbox entry's size, so a copy counts again, as it does
// on disk in most servers.

export interface StorageQuota {
  /** The limit in octets; null when the user has none. */
  limit: number | null;
  /** Octets in the user's mailboxes now. */
  used: number;
}

export interface QuotaStore {
  getQuota(userId: number): Promise<StorageQuota>;
  /**
   * The limit alone (null: none). Usage is a sum over every entry of the user, so it grows with the
   * mailbox; a check that only matters when there is a limit (SMTP's at each RCPT) asks this first.
   */
  getLimit(userId: number): Promise<number | null>;
  /** Sets or (null) removes the user's limit; "not-found" for a user that does not exist. */
  setQuota(userId: number, limit: number | null): Promise<void>;
}

/**
 * The user's quota when adding `size` octets would take them past their limit; null when it fits or
 * there is no limit, in which case the usage sum is never read (it grows with the mailbox, and IMAP
 * APPEND and JMAP creations ask at every message).
 */
export async function quotaExceededBy(
  quotas: Pick<QuotaStore, "getQuota" | "getLimit">,
  userId: number,
  size: number,
): Promise<StorageQuota | null> {
  if ((await quotas.getLimit(userId)) === null) return null;
  const quota = await quotas.getQuota(userId);
  return quota.limit !== null && quota.used + size > quota.limit ? quota : null;
}
