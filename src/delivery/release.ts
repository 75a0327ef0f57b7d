// The release of a held message's local recipients (RFC 4865 future release): the queue runner hands
// them here instead of to the relay once their time has come. Each is committed through the delivery
// agent as a message that has just arrived — routing, Sieve, quotas, auto-replies and success notices
// as for any delivery — from a copy of the queued body with its Return-Path put back (RFC 5321 §4.4:
// the final delivery adds it; the queue keeps bodies without one).

import type { Logger } from "pino";
import type { RecipientResult, RelayMessage, Transport } from "../queue/transport.js";
import { type BlobWriter, StoreError } from "../store/types.js";
import type { DeliveryAgent } from "./types.js";

export function createLocalRelease(options: { agent: DeliveryAgent; logger: Logger }): Transport {
  const { agent, logger } = options;

  async function copyOf(message: RelayMessage): Promise<BlobWriter> {
    const writer = await agent.createBlobWriter();
    try {
      await writer.write(Buffer.from(`Return-Path: <${message.sender}>\r\n`));
      if (Buffer.isBuffer(message.body)) await writer.write(message.body);
      else for await (const chunk of message.body()) await writer.write(chunk as Buffer);
      return writer;
    } catch (error) {
      await writer.abort().catch(() => undefined);
      throw error;
    }
  }

  async function release(
    message: RelayMessage,
    recipient: RelayMessage["recipients"][number],
  ): Promise<RecipientResult> {
    const base = { address: recipient.address, fromRemote: false, remoteMta: null };
    let writer: BlobWriter | null = null;
    try {
      writer = await copyOf(message);
      const blob = await writer.finish();
      const result = await agent.commit({
        blob,
        sender: message.sender,
        // The DSN parameters go with it: the agent sends the success notice NOTIFY=SUCCESS asks for.
        recipients: [{ address: recipient.address, dsn: recipient.dsn }],
        envelopeDsn: message.envelopeDsn,
        receivedAt: new Date(),
      });
      return {
        ...base,
        status: "delivered",
        enhanced: "2.0.0",
        detail: `250 2.0.0 released and delivered here as ${result.messageId}`,
        // The commit above reported success to whoever asked: the runner must not send "relayed" too.
        remoteHandlesDsn: true,
      };
    } catch (error) {
      await writer?.abort().catch(() => undefined);
      if (error instanceof StoreError && error.code === "not-found") {
        return {
          ...base,
          status: "permanent",
          enhanced: "5.1.1",
          detail: `550 5.1.1 <${recipient.address}>: no longer exists here`,
          remoteHandlesDsn: false,
        };
      }
      logger.warn({ err: error, to: recipient.address }, "release: local delivery failed; retrying");
      return {
        ...base,
        status: "temporary",
        enhanced: "4.3.0",
        detail: "451 4.3.0 the released message could not be stored; it is retried",
        remoteHandlesDsn: false,
      };
    }
  }

  return {
    async deliver(_domain, message) {
      const results: RecipientResult[] = [];
      // One commit per recipient, so one that is gone or full does not hold back the others.
      for (const recipient of message.recipients) results.push(await release(message, recipient));
      return results;
    },
    async close() {},
  };
}
