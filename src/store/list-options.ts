// Checks listMessages options the same way for every backend, and turns the compact rows both list
// messages as into entries.

import { type ListMessagesOptions, type MailboxMessage, StoreError } from "./types.js";

/** One listed entry as both stores read it: an array per row, far cheaper than an object per row. */
export type ListedRow = [
  uid: number,
  messageId: string,
  flags: string[],
  internalDate: number,
  savedAt: number,
  size: number,
  modseq: number,
  emailId: number,
  threadId: number,
];

export function listedMessage(
  mailboxId: number,
  [uid, messageId, flags, internalDate, savedAt, size, modseq, emailId, threadId]: ListedRow,
): MailboxMessage {
  return {
    mailboxId,
    uid,
    messageId,
    flags,
    internalDate: new Date(internalDate),
    savedDate: new Date(savedAt),
    size,
    modseq,
    emailId,
    threadId,
  };
}

export interface CheckedListOptions {
  sinceModseq: number | undefined;
  /** Inclusive UID bounds; absent bounds become 0 and the largest safe integer. */
  uidFrom: number;
  uidTo: number;
}

export function checkListOptions(options: ListMessagesOptions | undefined): CheckedListOptions {
  const { sinceModseq, uidFrom, uidTo } = options ?? {};
  if (sinceModseq !== undefined && !Number.isFinite(sinceModseq)) {
    throw new StoreError("invalid", `sinceModseq must be a number, not ${String(sinceModseq)}`);
  }
  return {
    sinceModseq,
    uidFrom: uidBound(uidFrom, "uidFrom") ?? 0,
    uidTo: uidBound(uidTo, "uidTo") ?? Number.MAX_SAFE_INTEGER,
  };
}

function uidBound(value: number | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new StoreError("invalid", `${what} must be a whole number of at least 0, not ${String(value)}`);
  }
  return value;
}
