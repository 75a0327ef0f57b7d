// The METADATA part of the SQLite store: table metadata.

import {
  descendantPattern,
  type MetadataChange,
  type MetadataDepth,
  type MetadataEntry,
  type MetadataStore,
  withinDepth,
} from "../metadata.js";
import { StoreError } from "../types.js";
import type { SqliteDatabase } from "./database.js";

export class SqliteMetadata implements MetadataStore {
  constructor(private readonly database: SqliteDatabase) {}

  getMetadata(
    userId: number,
    mailboxId: number | null,
    entries: readonly string[],
    depth: MetadataDepth,
  ): Promise<MetadataEntry[]> {
    return this.database.read(() => {
      const found = new Map<string, Buffer>();
      for (const entry of entries) {
        const rows = this.database.all<{ entry: string; value: Buffer }>(
          `SELECT entry, value FROM metadata WHERE user_id = ? AND mailbox_id IS ?
             AND (entry = ? OR (? AND entry LIKE ? ESCAPE '\\'))`,
          userId,
          mailboxId,
          entry,
          depth === 0 ? 0 : 1,
          descendantPattern(entry),
        );
        for (const row of rows) if (withinDepth(entry, row.entry, depth)) found.set(row.entry, row.value);
      }
      return [...found].sort(([a], [b]) => (a < b ? -1 : 1)).map(([entry, value]) => ({ entry, value }));
    });
  }

  setMetadata(
    userId: number,
    mailboxId: number | null,
    changes: readonly MetadataChange[],
    maxEntries: number,
  ): Promise<void> {
    return this.database.write((effects) => {
      if (
        mailboxId !== null &&
        !this.database.get("SELECT 1 FROM mailboxes WHERE id = ? AND user_id = ?", mailboxId, userId)
      ) {
        throw new StoreError("not-found", `mailbox ${mailboxId} is not this user's`);
      }
      for (const { entry, value } of changes) {
        this.database.run(
          "DELETE FROM metadata WHERE user_id = ? AND mailbox_id IS ? AND entry = ?",
          userId,
          mailboxId,
          entry,
        );
        if (value !== null) {
          this.database.run(
            "INSERT INTO metadata (user_id, mailbox_id, entry, value) VALUES (?, ?, ?, ?)",
            userId,
            mailboxId,
            entry,
            value,
          );
        }
      }
      const held = this.database.get<{ n: number }>(
        "SELECT count(*) AS n FROM metadata WHERE user_id = ?",
        userId,
      );
      if ((held?.n ?? 0) > maxEntries) {
        throw new StoreError("full", `more than ${maxEntries} metadata entries`);
      }
      // IMAP NOTIFY's MailboxMetadataChange and ServerMetadataChange (RFC 5465 §5.6, §5.7).
      effects.events.push({ kind: "metadata", userId, mailboxId, entries: changes.map((c) => c.entry) });
    });
  }
}
