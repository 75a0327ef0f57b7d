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
