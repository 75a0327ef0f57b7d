// The ids and state strings JMAP clients see: the object ids IMAP shows too (mail/object-ids.ts), read
// back into the store's numbers, and the one state string. An id handed to the wrong method is simply
// not found, since each kind has its own letter.

import { numberAfter } from "../mail/object-ids.js";

export { emailIdOf, mailboxIdOf, threadIdOf } from "../mail/object-ids.js";

export const parseMailboxId = (id: string) => numberAfter("M", id);
export const parseEmailId = (id: string) => numberAfter("E", id);
export const parseThreadId = (id: string) => numberAfter("T", id);

/**
 * One state string for Email, Mailbox and Thread: the account's MODSEQ, which every change to its
 * mailboxes and messages raises (RFC 8620 §1.2 allows types to share one).
 */
export function stateOf(modseq: number): string {
  return `s${modseq}`;
}

export function parseState(state: string): number | null {
  return numberAfter("s", state);
}
