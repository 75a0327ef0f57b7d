// The lock part of the PostgreSQL store: POP3 maildrop locks as session-level advisory locks, each held
// on a connection of its own, so a lock lives exactly as long as its holder's connection.

import type pg from "pg";
import type { LockStore, MaildropLock } from "../types.js";
import type { PostgresDatabase } from "./database.js";
import { toStoreError } from "./errors.js";

/** Class id of maildrop advisory locks (two-int4 keys: this, user id); distinct from int8 keys. */
const MAILDROP_LOCK_CLASS = 0x6d64;

export class PostgresLocks implements LockStore {
  private readonly heldLocks = new Set<MaildropLock>();

  constructor(private readonly database: PostgresDatabase) {}

  /** close() gives up the locks still held, so that their connections can end. */
  async releaseAll(): Promise<void> {
    await Promise.all([...this.heldLocks].map((lock) => lock.release()));
  }

  async lockMaildrop(userId: number): Promise<MaildropLock | null> {
    let client: pg.PoolClient;
    try {
      client = await this.database.lockPool.connect();
    } catch (error) {
      throw toStoreError(error, this.database.server);
    }
    // A checked-out client's errors would otherwise be unhandled; losing it also frees the lock.
    const onError = (error: Error) =>
      this.database.logger.warn(
        { err: error, userId },
        "the connection holding a maildrop lock failed; lock lost",
      );
    client.on("error", onError);
    // The int4 key wraps user ids beyond 2^31, which only matters past two billion users.
    const key = userId | 0;
    let acquired: boolean;
    try {
      const result = await client.query<{ locked: boolean }>(
        "SELECT pg_try_advisory_lock($1, $2) AS locked",
        [MAILDROP_LOCK_CLASS, key],
      );
      acquired = result.rows[0]?.locked === true;
    } catch (error) {
      client.off("error", onError);
      client.release(error as Error);
      throw toStoreError(error, this.database.server);
    }
    if (!acquired) {
      client.off("error", onError);
      client.release();
      return null;
    }
    let released: Promise<void> | null = null;
    const lock: MaildropLock = {
      release: () => {
        released ??= (async () => {
          this.heldLocks.delete(lock);
          try {
            await client.query("SELECT pg_advisory_unlock($1, $2)", [MAILDROP_LOCK_CLASS, key]);
            client.off("error", onError);
            client.release();
          } catch (error) {
            // Dropping the connection releases the lock all the same.
            client.off("error", onError);
            client.release(error as Error);
          }
        })();
        return released;
      },
    };
    this.heldLocks.add(lock);
    return lock;
  }
}
