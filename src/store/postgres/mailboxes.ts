// The mailbox part of the PostgreSQL store: mailboxes, their subscriptions and their status.

import {
  type Mailbox,
  type MailboxStatus,
  type MailboxStore,
  type SpecialUse,
  StoreError,
} from "../types.js";
import { dropUnreferencedBlobs, type PostgresDatabase, type Tx } from "./database.js";
import { insertMailboxes, nextUserModseq } from "./mailbox-rows.js";
import { recordExpunged } from "./messages.js";
import { normalizeMailboxName } from "./names.js";
import { type MailboxRow, type MessageRow, toMailbox } from "./rows.js";

/** Mailbox rows with `subscribed` read from the subscriptions table, which holds the truth since schema 3. */
const MAILBOX_SELECT = `SELECT id, user_id, name, special_use,
    EXISTS (SELECT 1 FROM subscriptions s WHERE s.user_id = mailboxes.user_id AND s.name = mailboxes.name)
      AS subscribed,
    uid_validity, uid_next, highest_modseq
  FROM mailboxes`;

export class PostgresMailboxes implements MailboxStore {
  constructor(private readonly database: PostgresDatabase) {}

  async listMailboxes(userId: number): Promise<Mailbox[]> {
    const rows = await this.database.read<MailboxRow>(
      `${MAILBOX_SELECT} WHERE user_id = $1 ORDER BY name <> 'INBOX', name`,
      [userId],
    );
    return rows.map(toMailbox);
  }

  async getMailbox(userId: number, name: string): Promise<Mailbox | null> {
    let normalized: string;
    try {
      normalized = normalizeMailboxName(name);
    } catch {
      return null;
    }
    const rows = await this.database.read<MailboxRow>(`${MAILBOX_SELECT} WHERE user_id = $1 AND name = $2`, [
      userId,
      normalized,
    ]);
    return rows[0] ? toMailbox(rows[0]) : null;
  }

  async getMailboxById(mailboxId: number): Promise<Mailbox | null> {
    const rows = await this.database.read<MailboxRow>(`${MAILBOX_SELECT} WHERE id = $1`, [mailboxId]);
    return rows[0] ? toMailbox(rows[0]) : null;
  }

  async createMailbox(userId: number, name: string, specialUse: SpecialUse | null = null): Promise<Mailbox> {
    const normalized = normalizeMailboxName(name);
    return this.database.tx(async (tx) => {
      const modseq = await nextUserModseq(tx, userId);
      const taken = await tx.client.query("SELECT 1 FROM mailboxes WHERE user_id = $1 AND name = $2", [
        userId,
        normalized,
      ]);
      if (taken.rows.length > 0) throw new StoreError("exists", `mailbox ${normalized} already exists`);
      const [mailbox] = await insertMailboxes(tx, userId, [{ name: normalized, specialUse }], modseq);
      tx.events.push({ kind: "mailboxes", userId });
      return mailbox as Mailbox;
    });
  }

  async renameMailbox(userId: number, from: string, to: string): Promise<void> {
    const source = normalizeMailboxName(from);
    const target = normalizeMailboxName(to);
    await this.database.tx(async (tx) => {
      const found = await tx.client.query<MailboxRow>(
        "SELECT * FROM mailboxes WHERE user_id = $1 AND name = $2 FOR UPDATE",
        [userId, source],
      );
      const mailbox = found.rows[0];
      if (!mailbox) throw new StoreError("not-found", `no mailbox ${source}`);
      if (target === source || target.startsWith(`${source}/`)) {
        throw new StoreError("invalid", `cannot rename ${source} to ${target}, which is itself or inside it`);
      }
      const taken = await tx.client.query("SELECT 1 FROM mailboxes WHERE user_id = $1 AND name = $2", [
        userId,
        target,
      ]);
      if (taken.rows.length > 0) throw new StoreError("exists", `mailbox ${target} already exists`);
      const modseq = await nextUserModseq(tx, userId);
      if (source === "INBOX") await this.moveInboxTo(tx, mailbox, target, modseq);
      else {
        // Subscriptions move with the mailboxes; a new name already subscribed stays subscribed.
        const moved = await tx.client.query<{ name: string }>(
          `DELETE FROM subscriptions WHERE user_id = $1 AND name IN (
             SELECT name FROM mailboxes WHERE user_id = $1 AND (name = $2 OR left(name, length($2) + 1) = $2 || '/'))
           RETURNING name`,
          [userId, source],
        );
        await tx.client.query(
          `INSERT INTO subscriptions (user_id, name)
           SELECT $1, $3 || substr(old, length($2) + 1) FROM unnest($4::text[]) AS old ON CONFLICT DO NOTHING`,
          [userId, source, target, moved.rows.map((row) => row.name)],
        );
        // RFC 9051 §6.3.6: inferior hierarchical names are renamed along with the mailbox.
        await tx.client.query(
          `UPDATE mailboxes SET name = $3 || substr(name, length($2) + 1), highest_modseq = $4
           WHERE user_id = $1 AND (name = $2 OR left(name, length($2) + 1) = $2 || '/')`,
          [userId, source, target, modseq],
        );
      }
      tx.events.push({ kind: "mailboxes", userId });
    });
  }

  /**
   * RFC 9051 §6.3.6: renaming INBOX moves its messages to a new mailbox and leaves INBOX empty. The rows
   * move, UIDs and email ids kept: JMAP sees the same emails in another mailbox.
   */
  private async moveInboxTo(tx: Tx, inbox: MailboxRow, target: string, modseq: number): Promise<void> {
    const userId = Number(inbox.user_id);
    const [created] = await insertMailboxes(tx, userId, [{ name: target, specialUse: null }], modseq);
    const mailbox = created as Mailbox;
    await tx.client.query("UPDATE mailboxes SET uid_next = $2 WHERE id = $1", [mailbox.id, inbox.uid_next]);
    const moved = await tx.client.query<MessageRow>(
      "UPDATE messages SET mailbox_id = $2, modseq = $3 WHERE mailbox_id = $1 RETURNING *",
      [inbox.id, mailbox.id, modseq],
    );
    if (moved.rows.length === 0) return;
    await tx.client.query("UPDATE mailboxes SET highest_modseq = $2 WHERE id = $1", [inbox.id, modseq]);
    const rows = moved.rows.sort((a, b) => Number(a.uid) - Number(b.uid));
    await recordExpunged(tx, Number(inbox.id), rows, modseq);
    const uids = rows.map((row) => Number(row.uid));
    tx.events.push({ kind: "expunge", userId, mailboxId: Number(inbox.id), uids, modseq });
  }

  async deleteMailbox(userId: number, name: string): Promise<void> {
    const normalized = normalizeMailboxName(name);
    if (normalized === "INBOX") throw new StoreError("invalid", "INBOX cannot be deleted (RFC 9051 §6.3.5)");
    await this.database.tx(async (tx) => {
      const found = await tx.client.query<{ id: string; created_modseq: string }>(
        "SELECT id, created_modseq FROM mailboxes WHERE user_id = $1 AND name = $2 FOR UPDATE",
        [userId, normalized],
      );
      const id = found.rows[0]?.id;
      if (id === undefined) throw new StoreError("not-found", `no mailbox ${normalized}`);
      const modseq = await nextUserModseq(tx, userId);
      // The entries stay as expunge records beside the tombstone, so JMAP clients learn they are gone.
      const bodies = await tx.client.query<{ message_id: string }>(
        `WITH gone AS (
           INSERT INTO expunged (mailbox_id, uid, modseq, email_id, thread_id, created_modseq)
           SELECT mailbox_id, uid, $2, email_id, thread_id, created_modseq FROM messages WHERE mailbox_id = $1
           ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = excluded.modseq)
         SELECT DISTINCT message_id FROM messages WHERE mailbox_id = $1`,
        [id, modseq],
      );
      await tx.client.query(
        "INSERT INTO mailbox_tombstones (mailbox_id, user_id, created_modseq, modseq) VALUES ($1, $2, $3, $4)",
        [id, userId, found.rows[0]?.created_modseq, modseq],
      );
      await tx.client.query("DELETE FROM mailboxes WHERE id = $1", [id]);
      await dropUnreferencedBlobs(
        tx,
        bodies.rows.map((row) => row.message_id),
      );
      tx.events.push({ kind: "mailboxes", userId });
    });
  }

  // RFC 9051 §6.3.9: a name may be subscribed whether or not a mailbox of that name exists.
  async setSubscribed(userId: number, name: string, subscribed: boolean): Promise<void> {
    const normalized = normalizeMailboxName(name);
    await this.database.tx(async (tx) => {
      const modseq = await nextUserModseq(tx, userId);
      await tx.client.query(
        subscribed
          ? "INSERT INTO subscriptions (user_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING"
          : "DELETE FROM subscriptions WHERE user_id = $1 AND name = $2",
        [userId, normalized],
      );
      // isSubscribed is a property of the JMAP Mailbox: the mailbox of that name, if any, changed.
      await tx.client.query("UPDATE mailboxes SET highest_modseq = $3 WHERE user_id = $1 AND name = $2", [
        userId,
        normalized,
        modseq,
      ]);
      tx.events.push({ kind: "mailboxes", userId });
    });
  }

  async listSubscriptions(userId: number): Promise<string[]> {
    const rows = await this.database.read<{ name: string }>(
      // Byte order, as SQLite sorts, whatever the database's collation.
      'SELECT name FROM subscriptions WHERE user_id = $1 ORDER BY name COLLATE "C"',
      [userId],
    );
    return rows.map((row) => row.name);
  }

  async mailboxStatus(mailboxId: number): Promise<MailboxStatus> {
    const rows = await this.database.read<MailboxRow & { messages: string; unseen: string; size: string }>(
      `SELECT b.*, s.messages, s.unseen, s.size FROM mailboxes b,
         LATERAL (SELECT count(*) AS messages,
                         count(*) FILTER (WHERE NOT ('\\Seen' = ANY (m.flags))) AS unseen,
                         coalesce(sum(m.size), 0) AS size
                  FROM messages m WHERE m.mailbox_id = b.id) s
       WHERE b.id = $1`,
      [mailboxId],
    );
    const row = rows[0];
    if (!row) throw new StoreError("not-found", `no mailbox with id ${mailboxId}`);
    return {
      messages: Number(row.messages),
      unseen: Number(row.unseen),
      size: Number(row.size),
      uidNext: Number(row.uid_next),
      uidValidity: Number(row.uid_validity),
      highestModseq: Number(row.highest_modseq),
    };
  }
}
