// The mailbox part of the PostgreSQL store: mailboxes, their subscriptions and their status.

import {
  type Mailbox,
  type MailboxStatus,
  type MailboxStore,
  type SpecialUse,
  StoreError,
} from "../types.js";
import { dropUnreferencedBlobs, type PostgresDatabase, type Tx } from "./database.js";
import { allocate, insertMailboxes } from "./mailbox-rows.js";
import { normalizeMailboxName } from "./names.js";
import { type MailboxRow, toMailbox } from "./rows.js";

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
      const user = await tx.client.query("SELECT 1 FROM users WHERE id = $1 FOR KEY SHARE", [userId]);
      if (user.rows.length === 0) throw new StoreError("not-found", `no user with id ${userId}`);
      const taken = await tx.client.query("SELECT 1 FROM mailboxes WHERE user_id = $1 AND name = $2", [
        userId,
        normalized,
      ]);
      if (taken.rows.length > 0) throw new StoreError("exists", `mailbox ${normalized} already exists`);
      const [mailbox] = await insertMailboxes(tx, userId, [{ name: normalized, specialUse }]);
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
      if (source === "INBOX") await this.moveInboxTo(tx, mailbox, target);
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
          `UPDATE mailboxes SET name = $3 || substr(name, length($2) + 1)
           WHERE user_id = $1 AND (name = $2 OR left(name, length($2) + 1) = $2 || '/')`,
          [userId, source, target],
        );
      }
      tx.events.push({ kind: "mailboxes", userId });
    });
  }

  /** RFC 9051 §6.3.6: renaming INBOX moves its messages to a new mailbox and leaves INBOX empty. */
  private async moveInboxTo(tx: Tx, inbox: MailboxRow, target: string): Promise<void> {
    const userId = Number(inbox.user_id);
    const [created] = await insertMailboxes(tx, userId, [{ name: target, specialUse: null }]);
    const mailbox = created as Mailbox;
    await tx.client.query("UPDATE mailboxes SET uid_next = $2, highest_modseq = $3 WHERE id = $1", [
      mailbox.id,
      inbox.uid_next,
      inbox.highest_modseq,
    ]);
    const moved = await tx.client.query<{ uid: string }>(
      "UPDATE messages SET mailbox_id = $2 WHERE mailbox_id = $1 RETURNING uid",
      [inbox.id, mailbox.id],
    );
    if (moved.rows.length === 0) return;
    const { modseq } = await allocate(tx, Number(inbox.id), 0);
    const uids = moved.rows.map((row) => Number(row.uid)).sort((a, b) => a - b);
    await tx.client.query(
      "INSERT INTO expunged (mailbox_id, uid, modseq) SELECT $1, unnest($2::bigint[]), $3",
      [inbox.id, uids, modseq],
    );
    tx.events.push({ kind: "expunge", userId, mailboxId: Number(inbox.id), uids, modseq });
  }

  async deleteMailbox(userId: number, name: string): Promise<void> {
    const normalized = normalizeMailboxName(name);
    if (normalized === "INBOX") throw new StoreError("invalid", "INBOX cannot be deleted (RFC 9051 §6.3.5)");
    await this.database.tx(async (tx) => {
      const found = await tx.client.query<{ id: string }>(
        "SELECT id FROM mailboxes WHERE user_id = $1 AND name = $2 FOR UPDATE",
        [userId, normalized],
      );
      const id = found.rows[0]?.id;
      if (id === undefined) throw new StoreError("not-found", `no mailbox ${normalized}`);
      const bodies = await tx.client.query<{ message_id: string }>(
        "SELECT DISTINCT message_id FROM messages WHERE mailbox_id = $1",
        [id],
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
      const user = await tx.client.query("SELECT 1 FROM users WHERE id = $1 FOR KEY SHARE", [userId]);
      if (user.rows.length === 0) throw new StoreError("not-found", `no user with id ${userId}`);
      await tx.client.query(
        subscribed
          ? "INSERT INTO subscriptions (user_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING"
          : "DELETE FROM subscriptions WHERE user_id = $1 AND name = $2",
        [userId, normalized],
      );
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
