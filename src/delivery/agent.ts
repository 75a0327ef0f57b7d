// The DeliveryAgent behind SMTP: recipient verdicts from routing, and the single-transaction commit of
// an accepted message to local mailboxes and the outbound queue.

import type { Logger } from "pino";
import type { BlobWriter, DeliveryResult, QueueInput, RecipientDsn, Store } from "../store/types.js";
import { StoreError } from "../store/types.js";
import { resolveRecipient } from "./route.js";
import type { AcceptedMessage, DeliveryAgent, RecipientContext, RecipientVerdict } from "./types.js";

export function createDeliveryAgent(options: { store: Store; logger: Logger }): DeliveryAgent {
  const { store, logger } = options;

  async function checkRecipient(address: string, context: RecipientContext): Promise<RecipientVerdict> {
    let resolution: Awaited<ReturnType<typeof resolveRecipient>>;
    try {
      resolution = await resolveRecipient(store, address);
    } catch (err) {
      logger.warn({ err, recipient: address }, "recipient lookup failed");
      return {
        kind: "reject",
        code: 451,
        enhanced: "4.3.0",
        text: `<${address}>: temporary failure looking up this recipient; try again later`,
      };
    }
    if (resolution.truncated.length > 0) {
      logger.warn({ recipient: address, cutAt: resolution.truncated }, "alias chain too deep; cut short");
    }
    if (resolution.localDomain) {
      if (resolution.users.length > 0 || resolution.remote.length > 0) return { kind: "local" };
      return { kind: "reject", code: 550, enhanced: "5.1.1", text: `<${address}>: no such user here` };
    }
    // Only authenticated users may relay: anything else would make this an open relay.
    if (context.authenticated) return { kind: "remote" };
    return { kind: "reject", code: 554, enhanced: "5.7.1", text: `<${address}>: relay access denied` };
  }

  async function commit(message: AcceptedMessage): Promise<DeliveryResult> {
    const mailboxes: Array<{ mailboxId: number }> = [];
    const seenUsers = new Set<number>();
    const queue: QueueInput[] = [];
    const queued = new Set<string>();

    for (const recipient of message.recipients) {
      const resolution = await resolveRecipient(store, recipient.address);
      if (resolution.users.length === 0 && resolution.remote.length === 0) {
        // Accepted at RCPT time but gone since (user or alias removed): refuse rather than drop it.
        throw new StoreError("not-found", `<${recipient.address}>: no longer exists here`);
      }
      for (const user of resolution.users) {
        if (seenUsers.has(user.id)) continue;
        seenUsers.add(user.id);
        const inbox = await store.getMailbox(user.id, "INBOX");
        if (!inbox) throw new StoreError("not-found", `${user.address} has no INBOX`);
        mailboxes.push({ mailboxId: inbox.id });
      }
      const given = recipient.address.trim().toLowerCase();
      for (const target of resolution.remote) {
        if (queued.has(target)) continue;
        queued.add(target);
        queue.push({ recipient: target, dsn: forwardedDsn(recipient.dsn, given, target) });
      }
    }

    const result = await store.deliver({
      blob: message.blob,
      sender: message.sender,
      internalDate: message.receivedAt,
      mailboxes,
      queue,
      ...(message.envelopeDsn ? { envelopeDsn: message.envelopeDsn } : {}),
    });
    logger.debug(
      { messageId: result.messageId, mailboxes: mailboxes.length, queued: queue.length },
      "message committed",
    );
    return result;
  }

  return {
    checkRecipient,
    commit,
    createBlobWriter: (): Promise<BlobWriter> => store.createBlobWriter(),
  };
}

/**
 * The DSN parameters a queue entry carries. When an alias sent the message on to another address, the
 * original recipient is kept as ORCPT, so a bounce names the address the sender actually used
 * (RFC 3461 §4.2: ORCPT "is to be used to convey the original recipient address").
 */
function forwardedDsn(
  dsn: RecipientDsn | undefined,
  given: string,
  target: string,
): RecipientDsn | undefined {
  if (given === target) return dsn;
  return { ...dsn, orcpt: dsn?.orcpt ?? `rfc822;${given}` };
}
