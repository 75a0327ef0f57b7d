// The EmailSubmissions a user made over JMAP (RFC 8621 §7): each names the message the submission
// committed (`messageId`, which its queue entries carry), so the relay can record each recipient's
// outcome here as it happens. Destroyed submissions stay as tombstones for EmailSubmission/changes, the
// way identities do; the state is the highest change number of the user's submissions.

import { StoreError } from "./errors.js";
import type { ChangeRow, IdentityChanges } from "./identities.js";

export interface SubmissionAddress {
  email: string;
  /** SMTP parameters (RFC 8621 §7 Address), e.g. {"NOTIFY": "SUCCESS"}; null for none. */
  parameters: Record<string, string | null> | null;
}

export interface SubmissionEnvelope {
  mailFrom: SubmissionAddress;
  rcptTo: SubmissionAddress[];
}

/** RFC 8621 §7 DeliveryStatus. */
export interface DeliveryStatus {
  smtpReply: string;
  delivered: "queued" | "yes" | "no" | "unknown";
  displayed: "unknown" | "yes";
}

export interface SubmissionFields {
  identityId: string;
  emailId: string;
  threadId: string;
  envelope: SubmissionEnvelope;
  sendAt: Date;
  messageId: string;
  /** By recipient address, lower-cased. */
  deliveryStatus: Record<string, DeliveryStatus>;
  /** Canceled before any recipient got it (RFC 8621 §7 undoStatus "canceled"); false when absent. */
  canceled?: boolean;
}

export interface StoredSubmission extends SubmissionFields {
  id: number;
}

export interface SubmissionStore {
  /** The user's live submissions, oldest first, and the state they are at (0 before any change). */
  list(userId: number): Promise<{ state: number; submissions: StoredSubmission[] }>;
  create(userId: number, fields: SubmissionFields): Promise<{ state: number; submission: StoredSubmission }>;
  /** Forgets the record (the mail is not recalled); `not-found` for one the user does not have. */
  destroy(userId: number, id: number): Promise<{ state: number }>;
  /** What changed after `sinceState`; null when that state is in the future. */
  changes(userId: number, sinceState: number): Promise<IdentityChanges | null>;
  /**
   * The relay's outcome for one recipient of message `messageId`: changes the live submission of that
   * message that has this recipient. Nothing when there is none (mail sent by SMTP, or destroyed).
   */
  recordDelivery(messageId: string, recipient: string, status: DeliveryStatus): Promise<void>;
  /**
   * Marks the user's live submission canceled with these final statuses (its queue entries are the
   * queue part's to take back first); `not-found` for one the user does not have.
   */
  markCanceled(
    userId: number,
    id: number,
    deliveryStatus: Record<string, DeliveryStatus>,
  ): Promise<{ state: number }>;
}

/** The row as both backends keep it: envelope and statuses as JSON text. */
export interface SubmissionRow extends ChangeRow {
  message_id: string;
  identity_id: string;
  email_id: string;
  thread_id: string;
  envelope: string;
  send_at: number | string | Date;
  delivery_status: string;
  canceled: number | boolean;
  state: number | string;
}

export function toSubmission(row: SubmissionRow): StoredSubmission {
  return {
    id: Number(row.id),
    identityId: row.identity_id,
    emailId: row.email_id,
    threadId: row.thread_id,
    envelope: JSON.parse(row.envelope) as SubmissionEnvelope,
    sendAt: row.send_at instanceof Date ? row.send_at : new Date(Number(row.send_at)),
    messageId: row.message_id,
    deliveryStatus: JSON.parse(row.delivery_status) as Record<string, DeliveryStatus>,
    canceled: row.canceled === true || row.canceled === 1,
  };
}

/** message_id, identity_id, email_id, thread_id, envelope, send_at (ms), delivery_status, canceled, checked. */
export function submissionValues(fields: SubmissionFields): unknown[] {
  if (fields.envelope.rcptTo.length === 0)
    throw new StoreError("invalid", "a submission needs at least one recipient");
  return [
    fields.messageId,
    fields.identityId,
    fields.emailId,
    fields.threadId,
    JSON.stringify(fields.envelope),
    fields.sendAt.getTime(),
    JSON.stringify(fields.deliveryStatus),
    fields.canceled === true,
  ];
}
