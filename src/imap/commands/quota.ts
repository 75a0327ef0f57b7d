/**
 * QUOTA (RFC 9208) with the one resource mailroom limits, STORAGE: every user has at most one quota
 * root, named "", over all of their mailboxes. Limits are the administrator's (`mailroom user quota`),
 * so SETQUOTA is refused.
 */

import { quotaExceededBy } from "../../store/quotas.js";
import type { ImapValue } from "../protocol/value.js";
import { untaggedValues } from "../responses.js";
import { CommandFailure, decodeName, encodeName, type ImapContext, requireMailbox } from "./context.js";

/** The quota root every user's mailboxes share. */
export const QUOTA_ROOT = "";

/** RFC 9208 §5.1: STORAGE counts units of 1024 octets; usage rounds up, the limit down. */
function storageValues(used: number, limit: number): ImapValue[] {
  return [{ atom: "STORAGE" }, Math.ceil(used / 1024), Math.floor(limit / 1024)];
}

export async function getQuotaRoot(context: ImapContext, mailboxName: string): Promise<Buffer[]> {
  const mailbox = await requireMailbox(context, decodeName(context, mailboxName));
  const quota = await context.store.quotas.getQuota(context.userId);
  const name = encodeName(context, mailbox.name);
  // A user without a limit has mailboxes in no quota root: QUOTAROOT names none (RFC 9208 §4.1.2).
  if (quota.limit === null) return [untaggedValues([{ atom: "QUOTAROOT" }, name])];
  return [
    untaggedValues([{ atom: "QUOTAROOT" }, name, QUOTA_ROOT]),
    untaggedValues([{ atom: "QUOTA" }, QUOTA_ROOT, storageValues(quota.used, quota.limit)]),
  ];
}

export async function getQuota(context: ImapContext, root: string): Promise<Buffer[]> {
  const quota = await context.store.quotas.getQuota(context.userId);
  if (root !== QUOTA_ROOT || quota.limit === null) {
    throw new CommandFailure(
      "NONEXISTENT",
      `there is no quota root "${root}"; GETQUOTAROOT INBOX names yours`,
    );
  }
  return [untaggedValues([{ atom: "QUOTA" }, QUOTA_ROOT, storageValues(quota.used, quota.limit)])];
}

/**
 * Refuses an addition of `size` octets that would take the user over their limit; APPEND checks before
 * the client sends the message (as for TOOBIG), COPY before anything is copied.
 */
export async function requireRoom(context: ImapContext, size: number): Promise<void> {
  const quota = await quotaExceededBy(context.store.quotas, context.userId, size);
  if (quota !== null) {
    throw new CommandFailure(
      "OVERQUOTA",
      `this would take the mailboxes over their ${quota.limit}-octet quota (${quota.used} in use); expunge some mail first`,
    );
  }
}
