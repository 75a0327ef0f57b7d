// Locks held by a live session, not by a transaction.

/** A held maildrop lock (POP3 IN-USE, RFC 1939 §8). */
export interface MaildropLock {
  release(): Promise<void>;
}

export interface LockStore {
  /** POP3 maildrop lock: null when another live session holds it. Dies with its holder's process. */
  lockMaildrop(userId: number): Promise<MaildropLock | null>;
}
