// The quotas part of the PostgreSQL store: table quotas, usage summed from messages.

import { StoreError } from "../errors.js";
import type { QuotaStore, StorageQuota } from "../quotas.js";
import type { PostgresDatabase } from "./database.js";

export class PostgresQuotas implements QuotaStore {
  constructor(private readonly database: PostgresDatabase) {}

  async getQuota(userId: number): Promise<StorageQuota> {
    const [row] = await this.database.read<{ storage_limit: string | null; used: string }>(
      `SELECT (SELECT storage_limit FROM quotas WHERE user_id = $1) AS storage_limit,
              (SELECT COALESCE(SUM(mm.size), 0) FROM messages mm
                 JOIN mailboxes m ON m.id = mm.mailbox_id WHERE m.user_id = $1) AS used`,
      [userId],
    );
    return {
      limit: row?.storage_limit == null ? null : Number(row.storage_limit),
      used: Number(row?.used ?? 0),
    };
  }

  async getLimit(userId: number): Promise<number | null> {
    const [row] = await this.database.read<{ storage_limit: string }>(
      "SELECT storage_limit FROM quotas WHERE user_id = $1",
      [userId],
    );
    return row === undefined ? null : Number(row.storage_limit);
  }

  async setQuota(userId: number, limit: number | null): Promise<void> {
    const [user] = await this.database.read("SELECT 1 FROM users WHERE id = $1", [userId]);
    if (user === undefined) throw new StoreError("not-found", `no user with id ${userId}`);
    if (limit === null) await this.database.read("DELETE FROM quotas WHERE user_id = $1", [userId]);
    else {
      await this.database.read(
        `INSERT INTO quotas (user_id, storage_limit) VALUES ($1, $2)
         ON CONFLICT (user_id) DO UPDATE SET storage_limit = excluded.storage_limit`,
        [userId, limit],
      );
    }
  }
}
