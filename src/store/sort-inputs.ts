// What IMAP SORT and THREAD (RFC 5256, RFC 5957) compare of a message, found once from its header
// section and kept with its body (BlobStore.readSortInputs), so a SORT or THREAD of a large mailbox
// parses no header. imap/sort/facts.ts says what each value is; this module fixes the stored layout, a
// JSON array, which the store keeps opaquely. The values follow from the body's bytes alone (the
// internal date a missing sent date falls back to is the mailbox entry's, applied when read), so one
// row serves every mailbox holding the body. Should their definition ever change, a migration that
// sets the column back to NULL makes the readers compute them again.

import { StoreError } from "./errors.js";

export interface SortInputs {
  /** RFC 5256 §2.2: the Date field in UTC milliseconds; null when it is missing or unreadable. */
  readonly sentDate: number | null;
  /** RFC 5256 §2.1: the base subject, case-folded (i;unicode-casemap), and whether it had Re:/Fwd: marks. */
  readonly subject: { readonly text: string; readonly isReplyOrForward: boolean };
  /** RFC 5256 §3: the addr-mailbox (local part) of the first address, case-folded; "" without one. */
  readonly fromMailbox: string;
  readonly toMailbox: string;
  readonly ccMailbox: string;
  /** RFC 5957 §3: the first address's display name, or its addr-spec without one, case-folded. */
  readonly displayFrom: string;
  readonly displayTo: string;
  /** The normalized msg-id of the Message-ID field; null without a valid one. */
  readonly messageId: string | null;
  /** RFC 5256 §3 step 1: References' msg-ids, or In-Reply-To's first when References has none. */
  readonly references: readonly string[];
}

export function encodeSortInputs(inputs: SortInputs): string {
  return JSON.stringify([
    inputs.sentDate,
    inputs.subject.text,
    inputs.subject.isReplyOrForward ? 1 : 0,
    inputs.fromMailbox,
    inputs.toMailbox,
    inputs.ccMailbox,
    inputs.displayFrom,
    inputs.displayTo,
    inputs.messageId,
    inputs.references,
  ]);
}

const isString = (value: unknown): value is string => typeof value === "string";

/** The inputs in `text`, or null when it is not their layout (a damaged row is recomputed, not trusted). */
export function decodeSortInputs(text: string): SortInputs | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!Array.isArray(value) || value.length !== 10) return null;
  const [sent, subject, reply, from, to, cc, displayFrom, displayTo, messageId, references] =
    value as unknown[];
  if (sent !== null && !Number.isFinite(sent)) return null;
  if (![subject, from, to, cc, displayFrom, displayTo].every(isString)) return null;
  if (reply !== 0 && reply !== 1) return null;
  if (messageId !== null && !isString(messageId)) return null;
  if (!Array.isArray(references) || !references.every(isString)) return null;
  return {
    sentDate: sent as number | null,
    subject: { text: subject as string, isReplyOrForward: reply === 1 },
    fromMailbox: from as string,
    toMailbox: to as string,
    ccMailbox: cc as string,
    displayFrom: displayFrom as string,
    displayTo: displayTo as string,
    messageId,
    references: references as string[],
  };
}

/** The entries of a saveSortInputs argument, or "invalid" when it is not a map of ids to encoded inputs. */
export function sortInputEntries(inputs: ReadonlyMap<string, string>): Array<[string, string]> {
  if (!(inputs instanceof Map)) {
    throw new StoreError("invalid", "saveSortInputs needs a Map from message ids to encoded sort inputs");
  }
  const entries = [...inputs.entries()] as Array<[unknown, unknown]>;
  for (const [id, value] of entries) {
    if (typeof id !== "string" || typeof value !== "string" || decodeSortInputs(value) === null) {
      throw new StoreError("invalid", `saveSortInputs: not encoded sort inputs for ${String(id)}`);
    }
  }
  return entries as Array<[string, string]>;
}
