// What happens to an authenticated user's message once its body is stored, whether it came by SMTP
// submission after DATA/BDAT or by JMAP EmailSubmission/set: the header's From:/Sender: checked against
// what the user owns, the message DKIM-signed, and committed to local mailboxes and the outbound queue.
// One path, so both ways of sending obey the same rules.

import type { AuthenticatedUser } from "../auth/types.js";
import { type BlobWriter, type DeliveryResult, StoreError } from "../store/types.js";
import type { AcceptedMessage, DeliveryAgent, SignedMessage } from "./types.js";

export type SubmitOutcome =
  | { kind: "committed"; result: DeliveryResult }
  /** The header names a sender the user does not own: the SMTP reply that says so. */
  | { kind: "refused"; code: number; enhanced: string; text: string };

/** DKIM signing failed for a reason other than the store: the message is refused, not sent unsigned. */
export class SigningFailure extends Error {
  constructor(readonly reason: unknown) {
    super("DKIM signing failed");
    this.name = "SigningFailure";
  }
}

export interface SubmitOptions {
  /** Null for mail from another MTA: it is committed as received, neither checked nor signed. */
  authenticated: AuthenticatedUser | null;
  remoteAddress: string;
  /** The octets of trace fields this server wrote first, and the same fields naming another blob id. */
  traceLength: number;
  traceFor(id: string): Buffer;
}

/**
 * Commits the message in `writer` (finished; `message.blob` is what it finished with). The writer's blob
 * is removed when the message is refused or fails, and when a signed copy took its place.
 */
export async function submitReceived(
  agent: DeliveryAgent,
  writer: BlobWriter,
  message: AcceptedMessage,
  options: SubmitOptions,
): Promise<SubmitOutcome> {
  const user = options.authenticated;
  let signed: SignedMessage | null = null;
  try {
    if (user !== null && agent.checkHeaderSenders !== undefined) {
      const verdict = await agent.checkHeaderSenders(message.blob, {
        authenticated: user,
        remoteAddress: options.remoteAddress,
      });
      if (verdict.kind === "reject") {
        await writer.abort().catch(() => undefined);
        return { kind: "refused", code: verdict.code, enhanced: verdict.enhanced, text: verdict.text };
      }
    }
    if (user !== null && agent.sign !== undefined) {
      signed = await agent
        .sign(message.blob, {
          authenticated: user,
          traceLength: options.traceLength,
          traceFor: options.traceFor,
        })
        .catch((error: unknown) => {
          throw error instanceof StoreError ? error : new SigningFailure(error);
        });
    }
    const result = await agent.commit({ ...message, blob: signed?.blob ?? message.blob });
    // The unsigned original is referenced by nothing now: abort removes it.
    if (signed !== null) await writer.abort().catch(() => undefined);
    return { kind: "committed", result };
  } catch (error) {
    if (signed !== null) await signed.discard().catch(() => undefined);
    await writer.abort().catch(() => undefined);
    throw error;
  }
}
