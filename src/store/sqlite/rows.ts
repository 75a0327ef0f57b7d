// Rows as SQLite returns them, and the objects they stand for; shared by every part and the import
// functions so no two places can read a row differently.

import type {
  DkimKey,
  Domain,
  EnvelopeDsn,
  Mailbox,
  MailboxMessage,
  QueueEntry,
  RecipientDsn,
  SpecialUse,
  User,
} from "../types.js";

export interface DomainRow {
  id: number;
  name: string;
  created_at: number;
}
export interface DkimKeyRow {
  selector: string;
  private_key_pem: string;
  algorithm: DkimKey["algorithm"];
  created_at: number;
}
export interface UserRow {
  id: number;
  address: string;
  domain_id: number;
  password_hash: string;
  scram_sha256: string;
  admin: number;
  disabled: number;
  name: string | null;
  created_at: number;
}
export interface AliasRow {
  id: number;
  source: string;
  destination: string;
}
export interface MailboxRow {
  id: number;
  user_id: number;
  name: string;
  special_use: string | null;
  subscribed: number;
  uid_validity: number;
  uid_next: number;
  highest_modseq: number;
  created_modseq: number;
}
export interface MessageRow {
  mailbox_id: number;
  uid: number;
  message_id: string;
  flags: string;
  internal_date: number;
  saved_at: number | null;
  size: number;
  modseq: number;
  email_id: number;
  thread_id: number;
  created_modseq: number;
}
export interface QueueRow {
  id: string;
  message_id: string;
  sender: string;
  recipient: string;
  dsn: string;
  envelope_dsn: string;
  state: "queued" | "delivering";
  attempts: number;
  created_at: number;
  next_attempt_at: number;
  last_error: string | null;
  claimed_until: number | null;
  delay_notified: number;
  hold_until: number | null;
  local: number;
}

export const toDomain = (row: DomainRow): Domain => ({
  id: row.id,
  name: row.name,
  createdAt: new Date(row.created_at),
});
export const toUser = (row: UserRow): User => ({
  id: row.id,
  address: row.address,
  domainId: row.domain_id,
  passwordHash: row.password_hash,
  scramSha256: row.scram_sha256,
  admin: row.admin === 1,
  disabled: row.disabled === 1,
  name: row.name,
  createdAt: new Date(row.created_at),
});
export const toMailbox = (row: MailboxRow): Mailbox => ({
  id: row.id,
  userId: row.user_id,
  name: row.name,
  specialUse: row.special_use as SpecialUse | null,
  subscribed: row.subscribed === 1,
  uidValidity: row.uid_validity,
  uidNext: row.uid_next,
  highestModseq: row.highest_modseq,
});
export const toMessage = (row: MessageRow): MailboxMessage => ({
  mailboxId: row.mailbox_id,
  uid: row.uid,
  messageId: row.message_id,
  flags: JSON.parse(row.flags) as string[],
  internalDate: new Date(row.internal_date),
  savedDate: new Date(row.saved_at ?? row.internal_date),
  size: row.size,
  modseq: row.modseq,
  emailId: row.email_id,
  threadId: row.thread_id,
});
export const toQueueEntry = (row: QueueRow): QueueEntry => ({
  id: row.id,
  messageId: row.message_id,
  sender: row.sender,
  recipient: row.recipient,
  dsn: JSON.parse(row.dsn) as RecipientDsn,
  envelopeDsn: JSON.parse(row.envelope_dsn) as EnvelopeDsn,
  state: row.state,
  attempts: row.attempts,
  createdAt: new Date(row.created_at),
  nextAttemptAt: new Date(row.next_attempt_at),
  lastError: row.last_error,
  claimedUntil: row.claimed_until === null ? null : new Date(row.claimed_until),
  delayNotified: row.delay_notified === 1,
  holdUntil: row.hold_until === null ? null : new Date(row.hold_until),
  local: row.local === 1,
});
