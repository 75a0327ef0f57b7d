// Vacation auto-replies at local delivery (JMAP VacationResponse, RFC 8621 §8): after a message is
// committed, each local recipient whose vacation is on answers its sender once per period, under RFC
// 3834's rules (mail/auto-reply.ts). The reply is committed like a delivery notice: into the sender's
// INBOX when the sender is local, else into the outbound queue the relay sends from; DKIM-signed when the
// user's domain has a key.

import { createHash } from "node:crypto";
import type { Logger } from "pino";
import { parseAddresses } from "../mail/address-list.js";
import { buildAutoReply, noReplyReason, vacationActive } from "../mail/auto-reply.js";
import { headerFields, removeHeader, splitMessage, toCrlf } from "../mail/compose.js";
import { signMessage } from "../mail/dkim.js";
import { readHeaderBlock } from "../mail/headers.js";
import type { VacationAction } from "../sieve/index.js";
import type { Store, User } from "../store/types.js";
import { HEADER_BLOCK_LIMIT } from "../store/types.js";
import { generatedTargets, ownsAddress, splitAddress } from "./route.js";

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
      const to = message.sender;
      await commitReply(context, user, to, now, () =>
        buildAutoReply({ from: user.address, to, fields: fields ?? [], setting, now }),
      );
    } catch (err) {
      context.logger.warn(
        { err, user: user.address, sender: message.sender, messageId: message.messageId },
        "vacation: auto-reply could not be sent",
      );
    }
  }
}

/**
 * A Sieve script's vacation action (RFC 5230), for a message already committed: the same RFC 3834
 * checks and the same reply log as VacationResponse, with the script's period, subject, :from,
 * :addresses, :mime body and :handle. Never rejects, like sendAutoReplies.
 */
export async function sendScriptReply(
  context: Omit<VacationContext, "period">,
  message: Omit<DeliveredMessage, "recipients">,
  recipient: { user: User; address: string },
  action: VacationAction,
): Promise<void> {
  const { user, address } = recipient;
  const to = message.sender;
  try {
    if (to === "") return;
    const fields = headerFields(
      toCrlf(
        await readHeaderBlock(context.store.blobs.readBlob(message.messageId), HEADER_BLOCK_LIMIT),
      ).toString("utf8"),
    );
    const reason = noReplyReason({
      envelopeSender: to,
      fields,
      userAddresses: [user.address, address, ...action.addresses],
    });
    if (reason !== null) {
      context.logger.debug({ user: user.address, sender: to, reason }, "sieve vacation: no reply");
      return;
    }
    const now = new Date();
    // RFC 5230 §4.2: one memory per :handle, so two vacation actions with different texts each answer
    // once. Kept in the same log as VacationResponse, under a key of their own.
    const key = `${to}#sieve:${createHash("sha256").update(action.handle).digest("hex").slice(0, 16)}`;
    if (!(await context.store.vacation.claimReply(user.id, key, now, action.seconds * 1000))) return;
    const from = await replyFrom(context.store, user, action.from);
    await commitReply(context, user, to, now, async () => {
      const original = fields.find(([name]) => name.toLowerCase() === "subject")?.[1].trim() ?? "";
      // RFC 5230 §4.4: without :subject, "Auto:" and the original subject.
      const subject = action.subject ?? `Auto: ${original}`.trim();
      const reply = await buildAutoReply({
        from,
        to,
        fields,
        setting: { subject, textBody: action.mime ? "" : action.reason, htmlBody: null },
        now,
      });
      return action.mime ? withMimeBody(reply, action.reason) : reply;
    });
  } catch (err) {
    context.logger.warn(
      { err, user: user.address, sender: to, messageId: message.messageId },
      "sieve vacation: auto-reply could not be sent",
    );
  }
}

/**
 * RFC 5230 §4.3 lets the site refuse a :from that is not the user's: one the user may not send as
 * (delivery's ownsAddress, the rule of port 587) is replaced by their own address, logged.
 */
async function replyFrom(store: VacationDeliveryStore, user: User, from: string | null): Promise<string> {
  if (from === null) return user.address;
  const [address] = parseAddresses(from);
  if (
    address !== undefined &&
    (await ownsAddress(store, address, { userId: user.id, address: user.address }))
  )
    return from;
  return user.address;
}

/**
 * RFC 5230 §5.8: with :mime the reason is a MIME entity (its own header fields, then its body); it takes
 * the place of the reply's body and content fields.
 */
function withMimeBody(reply: Buffer, entity: string): Buffer {
  let { header } = splitMessage(reply);
  for (const name of ["content-type", "content-transfer-encoding", "mime-version"]) {
    header = removeHeader(header, name);
  }
  const body = toCrlf(Buffer.from(entity.replace(/^\s*\n/, ""), "utf8"));
  return Buffer.concat([Buffer.from(`${header}MIME-Version: 1.0\r\n`, "latin1"), body]);
}

async function commitReply(
  context: Omit<VacationContext, "period">,
  user: User,
  to: string,
  now: Date,
  build: () => Promise<Buffer>,
): Promise<void> {
  const { store, logger } = context;
  const targets = await generatedTargets(store, to);
  if (targets.mailboxes.length === 0 && targets.queue.length === 0) return;
  const reply = await build();
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
