// Checks listMessages options the same way for every backend.

import { type ListMessagesOptions, StoreError } from "./types.js";

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
