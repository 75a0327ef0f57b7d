// The ids and state strings JMAP clients see (RFC 8620 §1.2: 1-255 characters of A-Za-z0-9-_). Each kind
// has its own letter, so an id handed to the wrong method is simply not found, and the numbers behind
// them stay the store's.

import type { Mailbox } from "../store/types.js";

export function mailboxIdOf(mailbox: Pick<Mailbox, "id">): string {
  return `M${mailbox.id}`;
}

export function emailIdOf(emailId: number): string {
  return `E${emailId}`;
}

export function threadIdOf(threadId: number): string {
  return `T${threadId}`;
}

function numberAfter(prefix: string, id: string): number | null {
  if (!id.startsWith(prefix) || !/^\d{1,15}$/.test(id.slice(1))) return null;
  return Number(id.slice(1));
}

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
