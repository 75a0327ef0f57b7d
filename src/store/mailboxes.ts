// Mailboxes and subscriptions: the folders a user sees, with the IMAP numbers (UIDVALIDITY, UIDNEXT,
// HIGHESTMODSEQ) that name their state. Names are UTF-8 with "/" as hierarchy separator; "INBOX" is
// case-insensitive (RFC 9051 §5.1). IMAP numbers are JS numbers: they stay below 2^53.

export type SpecialUse = "\\Drafts" | "\\Sent" | "\\Trash" | "\\Junk" | "\\Archive" | "\\All" | "\\Flagged";

/** Mailboxes created for every new user (IMAP SPECIAL-USE, RFC 6154). */
export const DEFAULT_MAILBOXES: ReadonlyArray<{ name: string; specialUse: SpecialUse | null }> = [
  { name: "INBOX", specialUse: null },
  { name: "Drafts", specialUse: "\\Drafts" },
  { name: "Sent", specialUse: "\\Sent" },
  { name: "Trash", specialUse: "\\Trash" },
  { name: "Junk", specialUse: "\\Junk" },
  { name: "Archive", specialUse: "\\Archive" },
];

export interface Mailbox {
  id: number;
  userId: number;
  name: string;
  specialUse: SpecialUse | null;
  subscribed: boolean;
  uidValidity: number;
  /** The UID the next message appended will get. */
  uidNext: number;
  /** RFC 7162: the highest MODSEQ of any change in this mailbox (starts at 1). */
  highestModseq: number;
}

export interface MailboxStatus {
  messages: number;
  /** Messages without \Seen. */
  unseen: number;
  /** Messages with \Recent are not tracked: IMAP4rev2 dropped \Recent (RFC 9051 §2.3.2). */
  size: number;
  uidNext: number;
  uidValidity: number;
  highestModseq: number;
}

export interface MailboxStore {
  listMailboxes(userId: number): Promise<Mailbox[]>;
  getMailbox(userId: number, name: string): Promise<Mailbox | null>;
  getMailboxById(mailboxId: number): Promise<Mailbox | null>;
  createMailbox(userId: number, name: string, specialUse?: SpecialUse | null): Promise<Mailbox>;
  /** Renaming INBOX moves its messages into a new mailbox and leaves INBOX empty (RFC 9051 §6.3.6). */
  renameMailbox(userId: number, from: string, to: string): Promise<void>;
  deleteMailbox(userId: number, name: string): Promise<void>;
  /**
   * Subscriptions are names, kept apart from mailboxes (RFC 9051 §6.3.9): a name may be subscribed
   * whether or not its mailbox exists, deleteMailbox keeps it, renameMailbox moves it (with the
   * inferiors' names), and new mailboxes start subscribed. "not-found" only for an unknown user.
   */
  setSubscribed(userId: number, name: string, subscribed: boolean): Promise<void>;
  /** The user's subscribed names, existing mailboxes or not, sorted by name. */
  listSubscriptions(userId: number): Promise<string[]>;
  mailboxStatus(mailboxId: number): Promise<MailboxStatus>;
}
