// The locks part of the SQLite store.

import type { LockStore, MaildropLock } from "../types.js";
import type { SqliteDatabase } from "./database.js";

export class SqliteLocks implements LockStore {
  private readonly heldMaildrops = new Set<number>();

  constructor(private readonly database: SqliteDatabase) {}

  async lockMaildrop(userId: number): Promise<MaildropLock | null> {
    this.database.assertOpen();
    // In-process only: the server refuses to start a second `mailroom serve` on the same data dir.
    if (this.heldMaildrops.has(userId)) return null;
    this.heldMaildrops.add(userId);
    let held = true;
    return {
      release: async () => {
        if (!held) return;
        held = false;
        this.heldMaildrops.delete(userId);
      },
    };
  }
}
