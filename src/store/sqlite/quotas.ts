// The quotas part of the SQLite store: table quotas, usage summed from mailbox_messages.

import { StoreError } from "../errors.js";
import type { QuotaStore, StorageQuota } from "../quotas.js";
import type { SqliteDatabase } from "./database.js";

export class SqliteQuotas implements QuotaStore {
  constructor(private readonly database: SqliteDatabase) {}

  getQuota(userId: number): Promise<StorageQuota> {
    return this.database.read(() => {
      const row = this.database.get<{ storage_limit: number }>(
        "SELECT storage_limit FROM quotas WHERE user_id = ?",
        userId,
      );
      const used = this.database.get<{ used: number }>(
        `SELECT COALESCE(SUM(mm.size), 0) AS used FROM mailbox_messages mm
         JOIN mailboxes m ON m.id = mm.mailbox_id WHERE m.user_id = ?`,
        userId,
      );
      return { limit: row?.storage_limit ?? null, used: used?.used ?? 0 };
    });
  }

  getLimit(userId: number): Promise<number | null> {
    return this.database.read(
      () =>
        this.database.get<{ storage_limit: number }>(
          "SELECT storage_limit FROM quotas WHERE user_id = ?",
          userId,
        )?.storage_limit ?? null,
    );
  }

  setQuota(userId: number, limit: number | null): Promise<void> {
    return this.database.write(() => {
      if (this.database.get("SELECT 1 FROM users WHERE id = ?", userId) === undefined) {
        throw new StoreError("not-found", `no user with id ${userId}`);
      }
      if (limit === null) this.database.run("DELETE FROM quotas WHERE user_id = ?", userId);
      else {
        this.database.run(
          `INSERT INTO quotas (user_id, storage_limit) VALUES (?, ?)
           ON CONFLICT (user_id) DO UPDATE SET storage_limit = excluded.storage_limit`,
          userId,
          limit,
        );
      }
    });
  }
}
