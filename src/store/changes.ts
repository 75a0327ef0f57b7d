// The account-wide change history behind JMAP's /changes methods (RFC 8620 §5.2): every write of the
// messages and mailboxes parts records, in its own transaction, which Email (message id), Mailbox
// (mailbox id) and Thread (thread id) objects it created, updated or destroyed, under the next number
// of the user's sequence. A state string names a point in that sequence.
//
// The history is bounded (StoreOptions.changeHistory: the newest states kept per user); a state older
// than what is kept, or one this store never handed out, gets "cannotCalculateChanges" and the client
// resynchronises. `mailroom migrate` starts the target's history above every state of the source, so a
// state from the old store is never mistaken for one of the new.

export type ChangeType = "Email" | "Mailbox" | "Thread";

export const CHANGE_TYPES: readonly ChangeType[] = ["Email", "Mailbox", "Thread"];

export interface ChangesResult {
  oldState: string;
  newState: string;
  /** True when newState is not yet the current state: call again from newState for the rest. */
  hasMoreChanges: boolean;
  /** Objects that did not exist at oldState and exist at newState. */
  created: string[];
  /** Objects that existed at both, changed in between (possibly back to what they were). */
  updated: string[];
  /** Objects that existed at oldState and no longer do. An object both created and destroyed in the range is in none of the lists. */
  destroyed: string[];
}

/** The states kept per user when the store is opened without a changeHistory setting. */
export const DEFAULT_CHANGE_HISTORY = 10_000;
/** The ids one changesSince call returns at most when the caller gives no maxChanges. */
export const DEFAULT_MAX_CHANGES = 5_000;

export interface ChangeStore {
  /** The user's current state for the type; "0" before anything changed. */
  state(userId: number, type: ChangeType): Promise<string>;
  /**
   * What changed since `sinceState`, at most `maxChanges` ids (RFC 8620 §5.2); fails with
   * "cannotCalculateChanges" for a state older than the kept history or not from this store, and with
   * "invalid" for a maxChanges that is not a positive integer or an unknown type.
   */
  changesSince(
    userId: number,
    type: ChangeType,
    sinceState: string,
    maxChanges?: number,
  ): Promise<ChangesResult>;
}
