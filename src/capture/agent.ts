// Capture mode's DeliveryAgent: every recipient is local (its inbox made on first use), any sender is
// accepted, and every message also lands in the catch-all account. Wraps the ordinary agent, so the
// commit, trace fields and mailboxes are exactly those of a real delivery.

import type { AcceptedMessage, DeliveryAgent, RecipientVerdict } from "../delivery/types.js";
import { CATCH_ALL_ADDRESS, type Provisioner } from "./provision.js";

export function captureAgent(base: DeliveryAgent, provisioner: Provisioner): DeliveryAgent {
  async function checkRecipient(address: string): Promise<RecipientVerdict> {
    const user = await provisioner.ensureUser(address).catch(() => undefined);
    if (user === undefined) {
      return {
        kind: "reject",
        code: 451,
        enhanced: "4.3.0",
        text: `<${address}>: temporary failure creating this inbox; try again later`,
      };
    }
    if (user === null) {
      return {
        kind: "reject",
        code: 553,
        enhanced: "5.1.3",
        text: `<${address}>: mailroom cannot keep mail for this address (quoted or malformed local part)`,
      };
    }
    return { kind: "local" };
  }

  async function commit(message: AcceptedMessage) {
    // The catch-all user exists before the commit resolves it; a recipient inbox removed since RCPT
    // comes back, as nothing in capture mode is meant to bounce.
    await provisioner.ensureUser(CATCH_ALL_ADDRESS);
    for (const recipient of message.recipients) await provisioner.ensureUser(recipient.address);
    const listed = message.recipients.some(
      (recipient) => recipient.address.trim().toLowerCase() === CATCH_ALL_ADDRESS,
    );
    const recipients = listed ? message.recipients : [...message.recipients, { address: CATCH_ALL_ADDRESS }];
    return base.commit({ ...message, recipients });
  }

  return {
    checkRecipient,
    // Any reverse path and any From: is taken: test code sends as whoever it likes. No DKIM signing.
    checkSender: async () => ({ kind: "accept" }),
    commit,
    createBlobWriter: () => base.createBlobWriter(),
  };
}
