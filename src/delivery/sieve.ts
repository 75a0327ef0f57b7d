// The user's active Sieve script at local delivery (RFC 5228; issue 18): the interpreter (src/sieve,
// sans IO) gives actions, and this turns them into where the copy goes, with which flags, where it is
// forwarded, whether it is refused (reject/ereject, refusal.ts) and what auto-reply it sends (vacation,
// vacation.ts). A script never costs a message: a missing, broken or failing script, or a store error
// reading it, is the implicit keep into INBOX (RFC 5228 §2.10.6), logged.

import type { Logger } from "pino";
import { compile, evaluate, type SieveAction, type VacationAction } from "../sieve/index.js";
import type { SpamScan, Store, User } from "../store/types.js";
import { spamtestScore } from "../trust/spam-verdict.js";

export type SieveDeliveryStore = Pick<Store, "sieveScripts" | "mailboxes" | "blobs">;

/** Where a script sends one user's copy. */
export interface SievePlan {
  /** Mailboxes by name, each once, with the flags its copy gets (imap4flags, RFC 5232). */
  file: Array<{ mailbox: string; flags: string[]; create: boolean }>;
  /** Addresses the message is forwarded to (RFC 5228 §4.2). */
  redirect: string[];
  /**
   * reject/ereject (RFC 5429): the message is refused for this user, with the script's reason. It is
   * then neither filed nor forwarded (the interpreter refuses a script that combines them).
   */
  reject: { reason: string; extended: boolean } | null;
  /** The script's auto-reply (RFC 5230), sent after the commit under RFC 3834's rules. */
  vacation: VacationAction | null;
  /** Actions not carried out, for the log (a looping redirect); the message is then kept as well. */
  unsupported: string[];
}

/** The implicit keep (RFC 5228 §2.10.2). */
export const KEEP: SievePlan = Object.freeze({
  file: [{ mailbox: "INBOX", flags: [], create: false }],
  redirect: [],
  reject: null,
  vacation: null,
  unsupported: [],
});

/**
 * RFC 5321 §6.3: a message that went through this many hops is looping; it is kept rather than
 * redirected once more (Postfix's hopcount_limit is 50; loops between two users' redirects reach this
 * long before any other limit).
 */
export const REDIRECT_HOP_LIMIT = 30;

/** The plan for a script's actions. Pure. `hops` counts the message's Received fields. */
export function planActions(actions: readonly SieveAction[], hops: number): SievePlan {
  const file = new Map<string, { mailbox: string; flags: string[]; create: boolean }>();
  const redirect: string[] = [];
  const unsupported: string[] = [];
  let reject: SievePlan["reject"] = null;
  let vacation: SievePlan["vacation"] = null;
  const store = (mailbox: string, flags: readonly string[], create: boolean) => {
    // INBOX is case-insensitive (RFC 3501 §5.1); other names are as written.
    const name = mailbox.toUpperCase() === "INBOX" ? "INBOX" : mailbox;
    const known = file.get(name);
    if (known === undefined) file.set(name, { mailbox: name, flags: [...flags], create });
    else known.flags = [...new Set([...known.flags, ...flags])];
  };
  for (const action of actions) {
    switch (action.type) {
      case "keep":
        store("INBOX", action.flags, false);
        break;
      case "fileinto":
        store(action.mailbox, action.flags, action.create);
        break;
      case "redirect":
        if (hops >= REDIRECT_HOP_LIMIT) {
          unsupported.push(`redirect to ${action.address} (looping: ${hops} hops)`);
          store("INBOX", [], false);
        } else redirect.push(action.address);
        break;
      case "discard":
      case "addheader":
      case "deleteheader":
        break;
      case "reject":
        reject = { reason: action.reason, extended: action.extended };
        break;
      case "vacation":
        vacation = action;
        break;
    }
  }
  return { file: [...file.values()], redirect, reject, vacation, unsupported };
}

/**
 * The plan of `user`'s active script for this message, or KEEP. Never rejects. `message` is the
 * message's bytes, read once for all recipients by the caller.
 */
export async function planDelivery(
  context: { store: SieveDeliveryStore; logger: Logger },
  user: User,
  message: Buffer,
  envelope: { from: string; to: string; spam?: SpamScan },
): Promise<SievePlan> {
  const { store, logger } = context;
  try {
    const script = await store.sieveScripts.getActiveScript(user.id);
    if (script === undefined) return KEEP;
    const mailboxes = (await store.mailboxes.listMailboxes(user.id)).map((mailbox) => mailbox.name);
    const result = evaluate(compile(script.source), {
      message,
      envelope: { from: envelope.from, to: envelope.to },
      environment: { mailboxes, ...(envelope.spam ? { spam: spamtestScore(envelope.spam) } : {}) },
    });
    if (result.status === "error") {
      logger.warn(
        { user: user.address, script: script.name, error: result.error.message },
        "sieve: script failed; kept in INBOX",
      );
      return KEEP;
    }
    const plan = planActions(result.actions, receivedCount(message));
    if (plan.unsupported.length > 0) {
      logger.info(
        { user: user.address, script: script.name, actions: plan.unsupported },
        "sieve: actions not carried out; kept in INBOX",
      );
    }
    return plan;
  } catch (err) {
    logger.warn({ err, user: user.address }, "sieve: script could not be run; kept in INBOX");
    return KEEP;
  }
}

/** The Received fields of the header block: the hops the message made (RFC 5321 §6.3). */
export function receivedCount(message: Buffer): number {
  const text = message.subarray(0, 256 * 1024).toString("latin1");
  const end = text.search(/\r?\n\r?\n/);
  return (text.slice(0, end === -1 ? text.length : end).match(/^received:/gim) ?? []).length;
}

/** The message's bytes, when some user has an active script (else null, and nothing is read). */
export async function messageForScripts(
  store: SieveDeliveryStore,
  users: readonly User[],
  messageId: string,
): Promise<Buffer | null> {
  for (const user of users) {
    if ((await store.sieveScripts.getActiveScript(user.id).catch(() => undefined)) !== undefined) {
      return store.blobs.readBlobBytes(messageId);
    }
  }
  return null;
}
