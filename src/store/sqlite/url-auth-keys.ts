// The URLAUTH part of the SQLite store: table mailbox_access_keys.

import type { UrlAuthKeyStore } from "../url-auth-keys.js";
import type { SqliteDatabase } from "./database.js";

export class SqliteUrlAuthKeys implements UrlAuthKeyStore {
  constructor(private readonly database: SqliteDatabase) {}

  accessKey(userId: number, mailboxId: number, candidate: Buffer | null): Promise<Buffer | null> {
    const find = () =>
      this.database.get<{ access_key: Buffer }>(
        `SELECT k.access_key FROM mailbox_access_keys k JOIN mailboxes m ON m.id = k.mailbox_id
          WHERE k.mailbox_id = ? AND m.user_id = ?`,
        mailboxId,
        userId,
      )?.access_key ?? null;
    if (candidate === null) return this.database.read(find);
    return this.database.write(() => {
      if (!this.database.get("SELECT 1 FROM mailboxes WHERE id = ? AND user_id = ?", mailboxId, userId)) {
        return null;
      }
      this.database.run(
        "INSERT INTO mailbox_access_keys (mailbox_id, access_key) VALUES (?, ?) ON CONFLICT DO NOTHING",
        mailboxId,
        candidate,
      );
      return find();
    });
  }

  resetAccessKeys(userId: number, mailboxId: number | null): Promise<void> {
    return this.database.write(() => {
      this.database.run(
        `DELETE FROM mailbox_access_keys
          WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE user_id = ? AND (? IS NULL OR id = ?))`,
        userId,
        mailboxId,
        mailboxId,
      );
    });
  }
}
