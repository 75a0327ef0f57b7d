// Notices to the sender (RFC 3464 reports) about a queue entry: failed, delayed, or relayed. A notice
// is a new message from the null sender <>, committed like any other: into the sender's INBOX when the
// sender is local, else into the queue for the sender's domain.

import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Logger } from "pino";
import { generatedTargets } from "../delivery/route.js";
import { traceEvents } from "../delivery/trace.js";
import { type DsnRecipient, deliveryReport } from "../mail/dsn.js";
import type { DeliveryInput, DeliveryResult, QueueEntry, Store } from "../store/types.js";
import { hasEightBitBytes, ReturnPathStripper } from "./body.js";

/** What a notice needs to know about the message it reports on: a queue entry, or a local delivery. */
/** The message a notice is about; `holdUntil` when it was held for a future release (RFC 4865). */
export type NoticeSubject = Pick<QueueEntry, "messageId" | "sender" | "envelopeDsn" | "createdAt"> &
  Partial<Pick<QueueEntry, "holdUntil">>;

export interface NoticeContext {
  store: Pick<Store, "directory" | "blobs" | "mailboxes">;
  logger: Logger;
  hostname: string;
  deliver: (input: DeliveryInput) => Promise<DeliveryResult>;
}

/** The stored message without the Return-Path added at acceptance. */
export function outgoingBody(store: Pick<Store, "blobs">, messageId: string): Readable {
  const stripper = new ReturnPathStripper();
  // pipeline destroys the stripper with the source's error, so the reader sees a failed read.
  pipeline(store.blobs.readBlob(messageId), stripper).catch(() => {});
  return stripper;
}

/**
 * Sends one report about `recipients`, all of which belong to `entry`'s message (same sender and
 * envelope). Returns the new message's id, or null when nothing was sent (null sender, or a sender
 * that no longer resolves to anyone).
 */
export async function sendNotice(
  context: NoticeContext,
  entry: NoticeSubject,
  recipients: DsnRecipient[],
  now: Date,
): Promise<string | null> {
  const { store, logger } = context;
  if (entry.sender === "") {
    // RFC 5321 §4.5.5 / RFC 3461 §6.2: a notice about a notice would loop; it is dropped.
    logger.warn(
      { messageId: entry.messageId, recipients: recipients.map((each) => each.finalRecipient) },
      "queue: not reporting on a message from the null sender <> (a notice is never sent to <>)",
    );
    return null;
  }
  const targets = await generatedTargets(store, entry.sender);
  if (targets.mailboxes.length === 0 && targets.queue.length === 0) {
    logger.warn(
      { sender: entry.sender, messageId: entry.messageId },
      "queue: the sender of a failed message cannot be reached; notice dropped",
    );
    return null;
  }
  const failed = recipients.some((each) => each.action === "failed");
  // RFC 3461 §4.3: RET governs failure reports; other reports carry the header only.
  const ret = failed ? (entry.envelopeDsn.ret ?? "FULL") : "HDRS";
  const eightBit = await hasEightBitBytes(outgoingBody(store, entry.messageId));
  const writer = await store.blobs.createBlobWriter();
  try {
    // Stored like every other accepted message: with the Return-Path of its (null) sender first.
    await writer.write(Buffer.from("Return-Path: <>\r\n"));
    const report = deliveryReport(
      {
        reportingMta: context.hostname,
        to: entry.sender,
        ...(entry.envelopeDsn.envid !== undefined ? { envid: entry.envelopeDsn.envid } : {}),
        arrivalDate: entry.createdAt,
        ...(entry.holdUntil ? { futureRelease: entry.holdUntil } : {}),
        recipients,
        ret,
        originalEightBit: eightBit,
        date: now,
      },
      outgoingBody(store, entry.messageId),
    );
    for await (const chunk of report) await writer.write(chunk);
    const blob = await writer.finish();
    const result = await context.deliver({
      blob,
      sender: "",
      internalDate: now,
      ...targets,
      trace: [
        traceEvents.notice(
          now,
          entry.messageId,
          [...new Set(recipients.map((each) => each.action))].join(", "),
        ),
        ...(targets.mailboxes.length > 0 ? [traceEvents.mailbox(now, entry.sender, "INBOX", false)] : []),
        ...targets.queue.map((target) => traceEvents.queued(now, target.recipient)),
      ],
    });
    logger.info(
      {
        notice: result.messageId,
        about: entry.messageId,
        to: entry.sender,
        actions: recipients.map((each) => each.action),
      },
      "queue: delivery notice sent",
    );
    return result.messageId;
  } catch (err) {
    await writer.abort();
    throw err;
  }
}
