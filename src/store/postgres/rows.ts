// Database rows and their conversion to the Store's types. pg returns int8 columns as strings (they may
// exceed 2^53 in general); mailroom's numbers stay below it, so they become JS numbers here.

import type {
  Alias,
  Domain,
  EnvelopeDsn,
  Mailbox,
  MailboxMessage,
  QueueEntry,
  QueueState,
  RecipientDsn,
  SpecialUse,
  User,
} from "../types.js";

export interface DomainRow {
  id: string;
  name: string;
  created_at: Date;
}

export interface UserRow {
  id: string;
  address: string;
  domain_id: string;
  password_hash: string;
  scram_sha256: string;
  admin: boolean;
  disabled: boolean;
  name: string | null;
  created_at: Date;
}

export interface AliasRow {
  id: string;
  source: string;
  destination: string;
}

export interface MailboxRow {
  id: string;
  user_id: string;
  name: string;
  special_use: string | null;
  subscribed: boolean;
  uid_validity: string;
  uid_next: string;
  highest_modseq: string;
}

export interface MessageRow {
  mailbox_id: string;
  uid: string;
  message_id: string;
  flags: string[];
  internal_date: Date;
  saved_at: Date | null;
  size: string;
  modseq: string;
  email_id: string;
  thread_id: string;
  created_modseq: string;
}

export interface QueueRow {
  id: string;
  message_id: string;
  sender: string;
  recipient: string;
  dsn: RecipientDsn;
  envelope_dsn: EnvelopeDsn;
  state: QueueState;
  attempts: number;
  created_at: Date;
  next_attempt_at: Date;
  last_error: string | null;
  claimed_until: Date | null;
  delay_notified: boolean;
  hold_until: Date | null;
  local: boolean;
}

export function toDomain(row: DomainRow): Domain {
  return { id: Number(row.id), name: row.name, createdAt: row.created_at };
}

export function toUser(row: UserRow): User {
  return {
    id: Number(row.id),
    address: row.address,
    domainId: Number(row.domain_id),
    passwordHash: row.password_hash,
    scramSha256: row.scram_sha256,
    admin: row.admin,
    disabled: row.disabled,
    name: row.name,
    createdAt: row.created_at,
  };
}

export function toAlias(row: AliasRow): Alias {
  return { id: Number(row.id), source: row.source, destination: row.destination };
}

export function toMailbox(row: MailboxRow): Mailbox {
  return {
    id: Number(row.id),
    userId: Number(row.user_id),
    name: row.name,
    specialUse: row.special_use as SpecialUse | null,
    subscribed: row.subscribed,
    uidValidity: Number(row.uid_validity),
    uidNext: Number(row.uid_next),
    highestModseq: Number(row.highest_modseq),
  };
}

export function toMessage(row: MessageRow): MailboxMessage {
  return {
    mailboxId: Number(row.mailbox_id),
    uid: Number(row.uid),
    messageId: row.message_id,
    flags: row.flags,
    internalDate: row.internal_date,
    savedDate: row.saved_at ?? row.internal_date,
    size: Number(row.size),
    modseq: Number(row.modseq),
    emailId: Number(row.email_id),
    threadId: Number(row.thread_id),
  };
}

export function toQueueEntry(row: QueueRow): QueueEntry {
  return {
    id: row.id,
    messageId: row.message_id,
    sender: row.sender,
    recipient: row.recipient,
    dsn: row.dsn,
    envelopeDsn: row.envelope_dsn,
    state: row.state,
    attempts: row.attempts,
    createdAt: row.created_at,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    claimedUntil: row.claimed_until,
    delayNotified: row.delay_notified,
    holdUntil: row.hold_until,
    local: row.local,
  };
}
