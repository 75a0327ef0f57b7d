// Change notification: what a committed transaction changed, for IMAP IDLE and for sessions with a
// mailbox selected. In-process for SQLite; LISTEN/NOTIFY for PostgreSQL, so every node hears it.

/** What changed in a mailbox; published after the change is committed. */
export type MailboxEvent =
  | { kind: "exists"; userId: number; mailboxId: number; uids: number[]; modseq: number }
  /** `modseq` is the MODSEQ the change gave every one of `uids` (IMAP reads less knowing it). */
  | { kind: "flags"; userId: number; mailboxId: number; uids: number[]; modseq: number }
  | { kind: "expunge"; userId: number; mailboxId: number; uids: number[]; modseq: number }
  | { kind: "mailboxes"; userId: number }
  /** The user's JMAP identities, or the display name the default one takes its name from, changed. */
  | { kind: "identities"; userId: number }
  /** METADATA entries (RFC 5464) set or removed on a mailbox, or on the server when mailboxId is null. */
  | { kind: "metadata"; userId: number; mailboxId: number | null; entries: string[] }
  /** The user's Sieve scripts changed (any protocol): JMAP push reports the SieveScript state. */
  | { kind: "sieve"; userId: number };

/** The events that name messages of one mailbox by UID. */
export type MessageEvent = Extract<MailboxEvent, { uids: number[] }>;

export function isMessageEvent(event: MailboxEvent): event is MessageEvent {
  return event.kind === "exists" || event.kind === "flags" || event.kind === "expunge";
}

export interface MailboxEvents {
  /** Returns the function that unsubscribes. Listeners must not throw. */
  subscribe(listener: (event: MailboxEvent) => void): () => void;
}
