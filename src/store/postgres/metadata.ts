// The METADATA part of the PostgreSQL store: table metadata.

import {
  descendantPattern,
  type MetadataChange,
  type MetadataDepth,
  type MetadataEntry,
  type MetadataStore,
  withinDepth,
} from "../metadata.js";
import { StoreError } from "../types.js";
import type { PostgresDatabase } from "./database.js";

export class PostgresMetadata implements MetadataStore {
  constructor(private readonly database: PostgresDatabase) {}

  async getMetadata(
    userId: number,
    mailboxId: number | null,
    entries: readonly string[],
    depth: MetadataDepth,
  ): Promise<MetadataEntry[]> {
    if (entries.length === 0) return [];
    const rows = await this.database.read<{ entry: string; value: Buffer }>(
      `SELECT entry, value FROM metadata
        WHERE user_id = $1 AND mailbox_id IS NOT DISTINCT FROM $2
          AND (entry = ANY ($3::text[]) OR ($4 AND entry LIKE ANY ($5::text[])))`,
      [userId, mailboxId, entries, depth !== 0, entries.map(descendantPattern)],
    );
    return rows
      .filter((row) => entries.some((entry) => withinDepth(entry, row.entry, depth)))
      .sort((a, b) => (a.entry < b.entry ? -1 : 1));
  }

  async setMetadata(
    userId: number,
    mailboxId: number | null,
    changes: readonly MetadataChange[],
    maxEntries: number,
  ): Promise<void> {
    await this.database.tx(async (tx) => {
      // The user's row, locked: two sessions setting entries at once count against one limit.
      await tx.client.query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", [userId]);
      if (mailboxId !== null) {
        const owned = await tx.client.query("SELECT 1 FROM mailboxes WHERE id = $1 AND user_id = $2", [
          mailboxId,
          userId,
        ]);
        if (owned.rowCount === 0)
          throw new StoreError("not-found", `mailbox ${mailboxId} is not this user's`);
      }
      for (const { entry, value } of changes) {
        await tx.client.query(
          "DELETE FROM metadata WHERE user_id = $1 AND mailbox_id IS NOT DISTINCT FROM $2 AND entry = $3",
          [userId, mailboxId, entry],
        );
        if (value !== null) {
          await tx.client.query(
            "INSERT INTO metadata (user_id, mailbox_id, entry, value) VALUES ($1, $2, $3, $4)",
            [userId, mailboxId, entry, value],
          );
        }
      }
      const held = await tx.client.query<{ n: string }>(
        "SELECT count(*) AS n FROM metadata WHERE user_id = $1",
        [userId],
      );
      if (Number(held.rows[0]?.n ?? 0) > maxEntries) {
        throw new StoreError("full", `more than ${maxEntries} metadata entries`);
      }
      // IMAP NOTIFY's MailboxMetadataChange and ServerMetadataChange (RFC 5465 §5.6, §5.7).
      tx.events.push({ kind: "metadata", userId, mailboxId, entries: changes.map((c) => c.entry) });
    });
  }
}
