// The ids clients see for mailboxes, emails and threads, the same in IMAP OBJECTID (RFC 8474) and JMAP
// (RFC 8620 §1.2: 1-255 characters of A-Za-z0-9-_), so a client speaking both can match them. Each kind
// has its own letter; the numbers behind them are the store's.

export function mailboxIdOf(mailbox: { id: number }): string {
  return `M${mailbox.id}`;
}

export function emailIdOf(emailId: number): string {
  return `E${emailId}`;
}

export function threadIdOf(threadId: number): string {
  return `T${threadId}`;
}

/** The number after `prefix`, or null when `id` is not one of that kind. */
export function numberAfter(prefix: string, id: string): number | null {
  if (!id.startsWith(prefix) || !/^\d{1,15}$/.test(id.slice(1))) return null;
  return Number(id.slice(1));
}
