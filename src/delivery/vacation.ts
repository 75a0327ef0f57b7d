// Vacation auto-replies at local delivery (JMAP VacationResponse, RFC 8621 §8): after a message is
// committed, each local recipient whose vacation is on answers its sender once per period, under RFC
// 3834's rules (mail/auto-reply.ts). The reply is committed like a delivery notice: into the sender's
// INBOX when the sender is local, else into the outbound queue the relay sends from; DKIM-signed when the
// user's domain has a key.

import type { Logger } from "pino";
import { buildAutoReply, noReplyReason, vacationActive } from "../mail/auto-reply.js";
import { headerFields, toCrlf } from "../mail/compose.js";
import { signMessage } from "../mail/dkim.js";
import { readHeaderBlock } from "../mail/headers.js";
import type { Store, User } from "../store/types.js";
import { HEADER_BLOCK_LIMIT } from "../store/types.js";
import { generatedTargets, splitAddress } from "./route.js";

export type VacationDeliveryStore = Pick<
  Store,
  "directory" | "mailboxes" | "messages" | "blobs" | "vacation"
>;

export interface VacationContext {
  store: VacationDeliveryStore;
  logger: Logger;
  /** Milliseconds: one reply per sender per user in this period ([smtp] vacation_period). */
  period: number;
  /** Called after a reply was queued for a remote sender, so the relay can start at once. */
  onQueued?: () => void;
}

export interface DeliveredMessage {
  /** The committed message's id: its stored bytes are read for the header fields. */
  messageId: string;
  /** The envelope sender; "" for <>. */
  sender: string;
  /** Each local user that got a copy, with the address the mail was sent to (an alias, a +tag…). */
  recipients: ReadonlyArray<{ user: User; address: string }>;
}

/**
 * Sends the auto-replies a committed message calls for. Never rejects: the delivery it follows is
 * already committed and acknowledged, so a reply that cannot be made is only logged.
 */
export async function sendAutoReplies(context: VacationContext, message: DeliveredMessage): Promise<void> {
  // Cheapest first: most mail comes from a real sender to users who are not away, and then nothing
  // but the settings is read.
  if (message.sender === "") return;
  let fields: Array<[string, string]> | null = null;
  for (const { user, address } of message.recipients) {
    try {
      const now = new Date();
      const setting = await context.store.vacation.getVacation(user.id);
      if (!vacationActive(setting, now)) continue;
      fields ??= headerFields(
        toCrlf(
          await readHeaderBlock(context.store.blobs.readBlob(message.messageId), HEADER_BLOCK_LIMIT),
        ).toString("utf8"),
      );
      const reason = noReplyReason({
        envelopeSender: message.sender,
        fields,
        userAddresses: [user.address, address],
      });
      if (reason !== null) {
        context.logger.debug({ user: user.address, sender: message.sender, reason }, "vacation: no reply");
        continue;
      }
      // Claimed before it is built: a reply that then fails is one reply missed in the period, never two
      // sent (RFC 3834 §2 asks for at most one).
      if (!(await context.store.vacation.claimReply(user.id, message.sender, now, context.period))) {
        continue;
      }
      await commitReply(context, user, message.sender, fields, setting, now);
    } catch (err) {
      context.logger.warn(
        { err, user: user.address, sender: message.sender, messageId: message.messageId },
        "vacation: auto-reply could not be sent",
      );
    }
  }
}

async function commitReply(
  context: VacationContext,
  user: User,
  to: string,
  fields: ReadonlyArray<readonly [string, string]>,
  setting: Parameters<typeof buildAutoReply>[0]["setting"],
  now: Date,
): Promise<void> {
  const { store, logger } = context;
  const targets = await generatedTargets(store, to);
  if (targets.mailboxes.length === 0 && targets.queue.length === 0) return;
  const reply = await buildAutoReply({ from: user.address, to, fields, setting, now });
  // Signed as the user's submitted mail is: the reply's From: is the user's own address, and without a
  // signature a domain with a DMARC policy would have its own replies refused or filed as spam.
  const domain = splitAddress(user.address)?.domain;
  const key = domain === undefined ? null : await store.directory.getDkimKey(domain);
  const signature = domain === undefined || key === null ? "" : await signMessage(reply, domain, key, now);
  const writer = await store.blobs.createBlobWriter();
  try {
    // RFC 3834 §3.3: sent from the null reverse path, so no bounce or other responder answers it. Stored
    // like every accepted message, with its Return-Path first (the relay strips it).
    await writer.write(Buffer.from(`Return-Path: <>\r\n${signature}`));
    await writer.write(reply);
    const blob = await writer.finish();
    const result = await store.messages.deliver({ blob, sender: "", internalDate: now, ...targets });
    logger.info({ reply: result.messageId, user: user.address, to }, "vacation: auto-reply sent");
    if (targets.queue.length > 0) context.onQueued?.();
  } catch (err) {
    await writer.abort().catch(() => undefined);
    throw err;
  }
}
