// Sieve reject/ereject at delivery (RFC 5429). When every recipient's script refuses the message and
// the session can still say so, the SMTP reply carries the reason (agent.ts throws ScriptRefusal).
// Otherwise the message is committed for the others and each refusing recipient's sender is told by a
// notice from <>: an MDN for reject (§2.1.2), a DSN for ereject, whose refusal belongs to the transport
// (§2.1.1) and so is reported as a failed delivery. Never to <>: a notice about a notice would loop.

import type { Logger } from "pino";
import { splitMessage } from "../mail/compose.js";
import { refusalReport } from "../mail/mdn.js";
import { sendNotice } from "../queue/bounce.js";
import type { EnvelopeDsn, Store, User } from "../store/types.js";
import { generatedTargets } from "./route.js";

export type RefusalStore = Pick<Store, "directory" | "mailboxes" | "messages" | "blobs">;

export interface Refusal {
  user: User;
  /** The address the mail was sent to (an alias, a +tag…): the one the sender knows. */
  address: string;
  reason: string;
  extended: boolean;
}

/** SMTP reply lines are 7-bit and bounded (RFC 5321 §4.5.3.1.5): the reason flattened for one line. */
export function refusalReplyText(reason: string): string {
  const flat = reason
    .replace(/\s+/g, " ")
    .replace(/[^\x20-\x7e]/g, "?")
    .trim();
  if (flat === "") return "Rejected by the recipient's mail filter";
  return flat.length > 400 ? `${flat.slice(0, 397)}...` : flat;
}

export interface RefusedMessage {
  messageId: string;
  /** The envelope sender; "" for <>. */
  sender: string;
  envelopeDsn: EnvelopeDsn;
  receivedAt: Date;
  /** The message as stored (the scripts read it), its Return-Path first. */
  bytes: Buffer;
}

/**
 * Tells the sender of each refusal. Never rejects: the message is committed for the other recipients,
 * so a notice that cannot be made is only logged.
 */
export async function sendRefusalNotices(
  context: { store: RefusalStore; logger: Logger; hostname: string; onQueued?: () => void },
  message: RefusedMessage,
  refusals: readonly Refusal[],
): Promise<void> {
  const { store, logger } = context;
  if (refusals.length === 0) return;
  if (message.sender === "") {
    logger.info(
      { messageId: message.messageId, recipients: refusals.map((each) => each.address) },
      "sieve: rejected a message from the null sender <>; no notice sent",
    );
    return;
  }
  const now = new Date();
  const extended = refusals.filter((each) => each.extended);
  if (extended.length > 0) {
    await sendNotice(
      { store, logger, hostname: context.hostname, deliver: (input) => store.messages.deliver(input) },
      {
        messageId: message.messageId,
        sender: message.sender,
        envelopeDsn: message.envelopeDsn,
        createdAt: message.receivedAt,
      },
      extended.map((each) => ({
        finalRecipient: each.address,
        action: "failed" as const,
        status: "5.7.1",
        diagnostic: `rejected by the recipient's mail filter: ${each.reason}`,
        diagnosticType: "x-mailroom" as const,
      })),
      now,
    )
      .then((id) => {
        if (id !== null) context.onQueued?.();
      })
      .catch((err: unknown) =>
        logger.warn({ err, messageId: message.messageId }, "sieve: ereject notice could not be sent"),
      );
  }
  const header = withoutReturnPath(splitMessage(message.bytes).header);
  for (const each of refusals.filter((refusal) => !refusal.extended)) {
    try {
      const targets = await generatedTargets(store, message.sender);
      if (targets.mailboxes.length === 0 && targets.queue.length === 0) return;
      const notice = refusalReport({
        reportingHost: context.hostname,
        to: message.sender,
        finalRecipient: each.address,
        reason: each.reason,
        originalHeader: Buffer.from(header, "latin1"),
        date: now,
      });
      const writer = await store.blobs.createBlobWriter();
      try {
        await writer.write(Buffer.from("Return-Path: <>\r\n"));
        await writer.write(notice);
        const blob = await writer.finish();
        const result = await store.messages.deliver({ blob, sender: "", internalDate: now, ...targets });
        logger.info(
          { notice: result.messageId, about: message.messageId, to: message.sender, user: each.user.address },
          "sieve: reject notice sent",
        );
        if (targets.queue.length > 0) context.onQueued?.();
      } catch (err) {
        await writer.abort().catch(() => undefined);
        throw err;
      }
    } catch (err) {
      logger.warn(
        { err, messageId: message.messageId, user: each.user.address },
        "sieve: reject notice could not be sent",
      );
    }
  }
}

/** The header block without the Return-Path this server put first (RFC 5321 §4.4). */
function withoutReturnPath(header: string): string {
  return header.replace(/^return-path:[^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*/i, "");
}
