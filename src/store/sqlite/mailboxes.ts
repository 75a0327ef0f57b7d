// The mailboxes part of the SQLite store: mailboxes with their IMAP numbers, subscriptions, status.

import {
  type Mailbox,
  type MailboxStatus,
  type MailboxStore,
  type SpecialUse,
  StoreError,
} from "../types.js";
import type { SqliteDatabase } from "./database.js";
import { copyWithin, nextUserModseq, recordExpunged } from "./entries.js";
import { insertMailbox, requireMailbox, subscribe } from "./mailbox-rows.js";
import { type MailboxRow, type MessageRow, toMailbox } from "./rows.js";
import { isInbox, normalizeMailboxName } from "./validate.js";

/** Mailbox rows with `subscribed` read from the subscriptions table, which holds the truth since schema 3. */
const MAILBOX_SELECT = `SELECT id, user_id, name, special_use,
    EXISTS (SELECT 1 FROM subscriptions s WHERE s.user_id = mailboxes.user_id AND s.name = mailboxes.name)
      AS subscribed,
    uid_validity, uid_next, highest_modseq
  FROM mailboxes`;

export class SqliteMailboxes implements MailboxStore {
  constructor(private readonly database: SqliteDatabase) {}

  /** Moves subscriptions along with renamed mailboxes; a new name already subscribed stays subscribed. */
  private moveSubscriptions(userId: number, renames: ReadonlyArray<[from: string, to: string]>): void {
    const moved = renames.filter(
      ([from]) =>
        this.database.run("DELETE FROM subscriptions WHERE user_id = ? AND name = ?", userId, from).changes >
        0,
    );
    for (const [, to] of moved) subscribe(this.database, userId, to);
  }

  private mailboxRow(userId: number, name: string): MailboxRow | undefined {
    return this.database.get<MailboxRow>(
      "SELECT * FROM mailboxes WHERE user_id = ? AND name = ?",
      userId,
      name,
    );
  }

  private requireNamedMailbox(userId: number, name: string): MailboxRow {
    const row = this.mailboxRow(userId, name);
    if (!row) throw new StoreError("not-found", `mailbox "${name}" does not exist`);
    return row;
  }

  listMailboxes(userId: number): Promise<Mailbox[]> {
    return this.database.read(() =>
      this.database
        .all<MailboxRow>(`${MAILBOX_SELECT} WHERE user_id = ? ORDER BY name`, userId)
        .map(toMailbox),
    );
  }

  getMailbox(userId: number, name: string): Promise<Mailbox | null> {
    return this.database.read(() => {
      const row = this.database.get<MailboxRow>(
        `${MAILBOX_SELECT} WHERE user_id = ? AND name = ?`,
        userId,
        normalizeMailboxName(name),
      );
      return row ? toMailbox(row) : null;
    });
  }

  getMailboxById(mailboxId: number): Promise<Mailbox | null> {
    return this.database.read(() => {
      const row = this.database.get<MailboxRow>(`${MAILBOX_SELECT} WHERE id = ?`, mailboxId);
      return row ? toMailbox(row) : null;
    });
  }

  createMailbox(userId: number, name: string, specialUse: SpecialUse | null = null): Promise<Mailbox> {
    return this.database.write((effects) => {
      const normalized = normalizeMailboxName(name);
      if (!this.database.get("SELECT 1 FROM users WHERE id = ?", userId)) {
        throw new StoreError("not-found", `user ${userId} does not exist`);
      }
      const row = insertMailbox(
        this.database,
        userId,
        normalized,
        specialUse,
        nextUserModseq(this.database, userId),
      );
      effects.events.push({ kind: "mailboxes", userId });
      return toMailbox(row);
    });
  }

  renameMailbox(userId: number, from: string, to: string): Promise<void> {
    return this.database.write((effects) => {
      const source = normalizeMailboxName(from);
      const target = normalizeMailboxName(to);
      const row = this.requireNamedMailbox(userId, source);
      if (this.mailboxRow(userId, target))
        throw new StoreError("exists", `mailbox "${target}" already exists`);
      const modseq = nextUserModseq(this.database, userId);
      if (isInbox(source)) {
        // RFC 9051 §6.3.6: renaming INBOX moves its messages to the new name and leaves INBOX, empty,
        // in place; INBOX's inferior names are not renamed.
        // The messages move: JMAP sees the same emails in a new mailbox.
        const created = insertMailbox(this.database, userId, target, null, modseq);
        const uids = this.database
          .all<{ uid: number }>("SELECT uid FROM mailbox_messages WHERE mailbox_id = ?", row.id)
          .map((r) => r.uid);
        copyWithin(this.database, row, uids, created, effects, true);
      } else {
        if (target.startsWith(`${source}/`)) {
          throw new StoreError("invalid", `cannot rename "${source}" to "${target}", a name inside itself`);
        }
        const prefix = `${source}/`;
        const inferiors = this.database
          .all<MailboxRow>("SELECT * FROM mailboxes WHERE user_id = ?", userId)
          .filter((m) => m.name.startsWith(prefix));
        // RFC 9051 §6.3.6: inferior hierarchical names are renamed with their parent.
        for (const inferior of inferiors) {
          const renamed = target + inferior.name.slice(source.length);
          if (this.mailboxRow(userId, renamed))
            throw new StoreError("exists", `mailbox "${renamed}" already exists`);
        }
        const rename = "UPDATE mailboxes SET name = ?, highest_modseq = ? WHERE id = ?";
        this.database.run(rename, target, modseq, row.id);
        const renames: Array<[string, string]> = [[source, target]];
        for (const inferior of inferiors) {
          const renamed = target + inferior.name.slice(source.length);
          this.database.run(rename, renamed, modseq, inferior.id);
          renames.push([inferior.name, renamed]);
        }
        this.moveSubscriptions(userId, renames);
      }
      effects.events.push({ kind: "mailboxes", userId });
    });
  }

  deleteMailbox(userId: number, name: string): Promise<void> {
    return this.database.write((effects) => {
      const normalized = normalizeMailboxName(name);
      if (isInbox(normalized)) {
        throw new StoreError(
          "invalid",
          "INBOX cannot be deleted (RFC 9051 §6.3.4); expunge its messages instead",
        );
      }
      const row = this.requireNamedMailbox(userId, normalized);
      const modseq = nextUserModseq(this.database, userId);
      const entries = this.database.all<MessageRow>(
        "SELECT * FROM mailbox_messages WHERE mailbox_id = ?",
        row.id,
      );
      // The entries stay as expunge records beside the tombstone, so JMAP clients learn they are gone.
      recordExpunged(this.database, entries, modseq);
      this.database.run("DELETE FROM mailbox_messages WHERE mailbox_id = ?", row.id);
      this.database.run("DELETE FROM mailboxes WHERE id = ?", row.id);
      this.database.run(
        "INSERT INTO mailbox_tombstones (mailbox_id, user_id, created_modseq, modseq) VALUES (?, ?, ?, ?)",
        row.id,
        userId,
        row.created_modseq,
        modseq,
      );
      const messageIds = new Set(entries.map((entry) => entry.message_id));
      this.database.dropUnreferenced(messageIds, effects);
      effects.events.push({ kind: "mailboxes", userId });
    });
  }

  // RFC 9051 §6.3.9: a name may be subscribed whether or not a mailbox of that name exists.
  setSubscribed(userId: number, name: string, subscribed: boolean): Promise<void> {
    return this.database.write((effects) => {
      const normalized = normalizeMailboxName(name);
      if (!this.database.get("SELECT 1 FROM users WHERE id = ?", userId)) {
        throw new StoreError("not-found", `user ${userId} does not exist`);
      }
      if (subscribed) subscribe(this.database, userId, normalized);
      else this.database.run("DELETE FROM subscriptions WHERE user_id = ? AND name = ?", userId, normalized);
      // isSubscribed is a property of the JMAP Mailbox: the mailbox of that name, if any, changed.
      this.database.run(
        "UPDATE mailboxes SET highest_modseq = ? WHERE user_id = ? AND name = ?",
        nextUserModseq(this.database, userId),
        userId,
        normalized,
      );
      effects.events.push({ kind: "mailboxes", userId });
    });
  }

  listSubscriptions(userId: number): Promise<string[]> {
    return this.database.read(() =>
      this.database
        .all<{ name: string }>("SELECT name FROM subscriptions WHERE user_id = ? ORDER BY name", userId)
        .map((row) => row.name),
    );
  }

  mailboxStatus(mailboxId: number): Promise<MailboxStatus> {
    return this.database.read(() => {
      const row = requireMailbox(this.database, mailboxId);
      const counts = this.database.get<{ messages: number; unseen: number; size: number }>(
        `SELECT count(*) AS messages, coalesce(sum(1 - seen), 0) AS unseen, coalesce(sum(size), 0) AS size
         FROM mailbox_messages WHERE mailbox_id = ?`,
        mailboxId,
      )!;
      return {
        messages: counts.messages,
        unseen: counts.unseen,
        size: counts.size,
        uidNext: row.uid_next,
        uidValidity: row.uid_validity,
        highestModseq: row.highest_modseq,
      };
    });
  }
}
