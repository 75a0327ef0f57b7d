// Capture mode's relay transport: the queue runner hands it what it would send to another domain, and
// it files the message into each recipient's own (auto-created) inbox and the catch-all instead. It
// has no way to open a connection — no resolver, no SMTP client — so nothing leaves in capture mode
// whatever reaches the queue (remote recipients, notices, redirects, JMAP submissions).

import type { Logger } from "pino";
import type { RecipientResult, RelayMessage, Transport } from "../queue/transport.js";
import type { Store } from "../store/types.js";
import { CATCH_ALL_ADDRESS, type Provisioner } from "./provision.js";

/** Message ids remembered as already in the catch-all. */
const FILED_MEMORY = 10_000;

export type CaptureTransportStore = Pick<Store, "blobs" | "messages" | "mailboxes">;

export function createCaptureTransport(options: {
  store: CaptureTransportStore;
  provisioner: Provisioner;
  logger: Logger;
}): Transport {
  const { store, provisioner, logger } = options;
  // The runner hands a message over once per recipient domain; the catch-all takes its first copy
  // only. Kept in memory and bounded: after a restart between two domains it may get a second one.
  const filed = new Set<string>();
  const remember = (messageId: string): void => {
    filed.add(messageId);
    if (filed.size > FILED_MEMORY) filed.delete(filed.values().next().value as string);
  };

  function results(message: RelayMessage, result: Omit<RecipientResult, "address">): RecipientResult[] {
    return message.recipients.map(({ address }) => ({ address, ...result }));
  }

  async function capture(message: RelayMessage): Promise<number> {
    const addresses = message.recipients.map((recipient) => recipient.address);
    const id = message.messageId;
    const first = id === undefined || !filed.has(id);
    if (first) addresses.push(CATCH_ALL_ADDRESS);
    // Claimed before the commit: the runner delivers a message's domains in parallel.
    if (first && id !== undefined) remember(id);
    try {
      return await file(message, addresses);
    } catch (err) {
      if (first && id !== undefined) filed.delete(id);
      throw err;
    }
  }

  async function file(message: RelayMessage, addresses: string[]): Promise<number> {
    const mailboxes: Array<{ mailboxId: number }> = [];
    for (const address of addresses) {
      const user = await provisioner.ensureUser(address);
      const inbox = user === null ? null : await store.mailboxes.getMailbox(user.id, "INBOX");
      if (inbox !== null && !mailboxes.some((entry) => entry.mailboxId === inbox.id)) {
        mailboxes.push({ mailboxId: inbox.id });
      }
    }
    const writer = await store.blobs.createBlobWriter();
    try {
      // The queue's copy has its Return-Path removed for sending; a mailbox copy keeps one (RFC 5321 §4.4).
      await writer.write(Buffer.from(`Return-Path: <${message.sender}>\r\n`));
      if (Buffer.isBuffer(message.body)) await writer.write(message.body);
      else for await (const chunk of message.body()) await writer.write(chunk as Buffer);
      const blob = await writer.finish();
      await store.messages.deliver({
        blob,
        sender: message.sender,
        internalDate: new Date(),
        mailboxes,
        queue: [],
      });
      return mailboxes.length;
    } catch (err) {
      await writer.abort().catch(() => undefined);
      throw err;
    }
  }

  return {
    async deliver(domain, message) {
      try {
        const copies = await capture(message);
        logger.info(
          { domain, recipients: message.recipients.map((recipient) => recipient.address), copies },
          "capture: outbound message kept here, not sent",
        );
        return results(message, {
          status: "delivered",
          enhanced: "2.0.0",
          detail: "250 2.0.0 captured by mailroom capture mode; not sent",
          fromRemote: false,
          remoteMta: null,
          remoteHandlesDsn: false,
        });
      } catch (err) {
        logger.warn({ err, domain }, "capture: could not keep an outbound message; retrying");
        return results(message, {
          status: "temporary",
          enhanced: "4.3.0",
          detail: "capture mode could not store the message; it is retried",
          fromRemote: false,
          remoteMta: null,
          remoteHandlesDsn: false,
        });
      }
    },
    async close() {},
  };
}
