// What a protocol session that accepts mail (SMTP today; later the HTTP API) needs from delivery: a
// verdict per recipient, a place to stream the body, and the commit behind the final "250". Sessions get
// a DeliveryAgent and never touch the store directly.

import type { AuthenticatedUser } from "../auth/types.js";
import type {
  BlobRef,
  BlobWriter,
  DeliveryResult,
  EnvelopeDsn,
  RecipientDsn,
  SpamScan,
} from "../store/types.js";
import type { SessionFacts } from "./trace.js";

export interface RecipientContext {
  /** The SASL-authenticated user of the session, if any: only they may relay to other domains. */
  authenticated: AuthenticatedUser | null;
  remoteAddress: string;
}

export type RecipientVerdict =
  /** A local domain and someone (user, alias or catch-all) takes the mail. */
  | { kind: "local" }
  /** Another domain, and this client may relay there. */
  | { kind: "remote" }
  /** Refused: the SMTP reply to send, e.g. 550 5.1.1 or 554 5.7.1. */
  | { kind: "reject"; code: number; enhanced: string; text: string };

export type SenderVerdict =
  | { kind: "accept" }
  /** Refused: the SMTP reply to send, e.g. 550 5.7.1. */
  | { kind: "reject"; code: number; enhanced: string; text: string };

export interface SigningContext {
  /** The session's user: mail is signed only for them, and only when they own the From: address. */
  authenticated: AuthenticatedUser;
  /**
   * Octets at the start of the blob that this server prepended (trace fields): the signature goes after
   * them, so Return-Path stays first (RFC 5321 §4.4).
   */
  traceLength: number;
  /**
   * The same trace fields with `id` in the Received field: the signed copy is a new blob with its own id,
   * and that id is the one the 250 reply, the logs and the queue name.
   */
  traceFor(id: string): Buffer;
}

/** A message rewritten with a signature: a new, finished blob, and how to throw it away unused. */
export interface SignedMessage {
  blob: BlobRef;
  discard(): Promise<void>;
}

export interface AcceptedRecipient {
  /** As given in RCPT TO (lower-casing and +tag handling are delivery's business). */
  address: string;
  dsn?: RecipientDsn;
}

export interface AcceptedMessage {
  blob: BlobRef;
  /** The reverse path; "" for the null sender <>. */
  sender: string;
  recipients: AcceptedRecipient[];
  envelopeDsn?: EnvelopeDsn;
  receivedAt: Date;
  /** The trust policy quarantined it: local copies that would go to INBOX go to the Junk mailbox. */
  junk?: boolean;
  /** rspamd's verdict, when it scanned the message: stored with it, and Sieve's spamtest score. */
  spam?: SpamScan;
  /**
   * RFC 4865 future release: nothing is delivered anywhere before this time. Every recipient, local
   * ones too, waits in the queue; local mailboxes get the message (Sieve, vacation and all) at release.
   */
  holdUntil?: Date;
  /** The session that brought it, for the delivery trace. */
  origin?: SessionFacts;
  /** Recipients refused in the same transaction (RCPT), with the reply and when, for the trace. */
  refused?: Array<{ address: string; reply: string; at: Date }>;
  /**
   * The caller can still refuse the message in its protocol (SMTP at the end of DATA): when every
   * recipient's Sieve script rejects it, commit then throws ScriptRefusal instead of sending notices.
   */
  canRefuse?: boolean;
}

/**
 * Every recipient's Sieve script refused the message (reject/ereject, RFC 5429 §2.1.1): nothing was
 * committed, and the session answers with `text`, the script's reason.
 */
export class ScriptRefusal extends Error {
  readonly code = 550;
  readonly enhanced = "5.7.1";
  constructor(readonly text: string) {
    super(text);
    this.name = "ScriptRefusal";
  }
}

export interface DeliveryAgent {
  checkRecipient(address: string, context: RecipientContext): Promise<RecipientVerdict>;
  createBlobWriter(): Promise<BlobWriter>;
  /**
   * Makes the message durable for every recipient: local mailboxes and queue entries in one store
   * transaction. Resolves only when all of it is on disk; rejects (StoreError, or ScriptRefusal when
   * `canRefuse`) with nothing committed.
   */
  commit(message: AcceptedMessage): Promise<DeliveryResult>;
  /**
   * MAIL FROM of an authenticated session: may this user send as this reverse path ("" for <>)?
   * Optional: without it every sender is accepted.
   */
  checkSender?(address: string, context: RecipientContext): Promise<SenderVerdict>;
  /**
   * The header fields that name the author of an authenticated user's message (From:, and Sender: when
   * present): may this user put them there? Asked once the message is received, before signing.
   * Optional: without it the header is not checked.
   */
  checkHeaderSenders?(blob: BlobRef, context: RecipientContext): Promise<SenderVerdict>;
  /**
   * DKIM-signs a finished message when its From: domain is served here and has a key, and the user owns
   * the From: address. Null when the message is not to be signed. Rejects when signing failed.
   */
  sign?(blob: BlobRef, context: SigningContext): Promise<SignedMessage | null>;
}
