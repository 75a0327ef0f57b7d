// URLAUTH (RFC 4467 §7): each mailbox's access key, the secret its authorized URLs are signed with.
// A key belongs to the mailbox's id, so a rename keeps it and a delete (or a new mailbox of the same name)
// takes it away; RESETKEY forgets keys, and every URL signed with a forgotten key stops resolving.

export interface UrlAuthKeyStore {
  /**
   * The access key of the user's mailbox `mailboxId`. When it has none, `candidate` (if given) becomes
   * its key, atomically: of two sessions asking at once both get the one that was stored. null when
   * there is no key and no candidate, or when the mailbox is not the user's.
   */
  accessKey(userId: number, mailboxId: number, candidate: Buffer | null): Promise<Buffer | null>;
  /** Forgets the key of one of the user's mailboxes, or (null) the keys of all of them. */
  resetAccessKeys(userId: number, mailboxId: number | null): Promise<void>;
}
