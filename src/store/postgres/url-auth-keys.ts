// The URLAUTH part of the PostgreSQL store: table mailbox_access_keys.

import type { UrlAuthKeyStore } from "../url-auth-keys.js";
import type { PostgresDatabase } from "./database.js";

const FIND = `SELECT k.access_key FROM mailbox_access_keys k JOIN mailboxes m ON m.id = k.mailbox_id
  WHERE k.mailbox_id = $1 AND m.user_id = $2`;

export class PostgresUrlAuthKeys implements UrlAuthKeyStore {
  constructor(private readonly database: PostgresDatabase) {}

  async accessKey(userId: number, mailboxId: number, candidate: Buffer | null): Promise<Buffer | null> {
    if (candidate === null) {
      const rows = await this.database.read<{ access_key: Buffer }>(FIND, [mailboxId, userId]);
      return rows[0]?.access_key ?? null;
    }
    return this.database.tx(async (tx) => {
      await tx.client.query(
        `INSERT INTO mailbox_access_keys (mailbox_id, access_key)
           SELECT id, $3 FROM mailboxes WHERE id = $1 AND user_id = $2
         ON CONFLICT DO NOTHING`,
        [mailboxId, userId, candidate],
      );
      const found = await tx.client.query<{ access_key: Buffer }>(FIND, [mailboxId, userId]);
      return found.rows[0]?.access_key ?? null;
    });
  }

  async resetAccessKeys(userId: number, mailboxId: number | null): Promise<void> {
    await this.database.tx(async (tx) => {
      await tx.client.query(
        `DELETE FROM mailbox_access_keys
          WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE user_id = $1 AND ($2::bigint IS NULL OR id = $2))`,
        [userId, mailboxId],
      );
    });
  }
}
