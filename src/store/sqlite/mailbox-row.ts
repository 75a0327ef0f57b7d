// A `mailboxes` row as SQLite returns it, and the Mailbox it stands for; shared by the store and the import
// functions so the two cannot read a row differently.

import type { Mailbox, SpecialUse } from "../types.js";

export interface MailboxRow {
  id: number;
  user_id: number;
  name: string;
  special_use: string | null;
  subscribed: number;
  uid_validity: number;
  uid_next: number;
  highest_modseq: number;
}

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
