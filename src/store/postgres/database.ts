// The mechanics every part of the PostgreSQL store shares: the pools, the transaction helper that
// retries deadlocks and serialization failures and publishes the transaction's events on commit, reads
// with their errors mapped, and the removal of bodies nothing references any more.

import pg from "pg";
import type { Logger } from "pino";
import type { MailboxEvent } from "../types.js";
import { isConnectionError, isRetryable, type ServerAddress, toStoreError } from "./errors.js";
import { NotifyEventBus, type Published } from "./events.js";

const MAX_ATTEMPTS = 5;
/** A server that cannot be reached should fail a request in seconds, not after TCP's minutes. */
const CONNECT_TIMEOUT_MS = 10_000;
/** Bodies nobody finished or nobody references are swept once they are this old. */
const ORPHAN_BLOB_AGE = "1 day";

export interface Tx {
  client: pg.PoolClient;
  events: MailboxEvent[];
}

export interface PostgresDatabaseOptions {
  url: string;
  logger: Logger;
  server: ServerAddress;
}

export class PostgresDatabase {
  readonly pool: pg.Pool;
  /** Maildrop locks keep a connection each for as long as they are held; they get their own pool. */
  readonly lockPool: pg.Pool;
  readonly events: NotifyEventBus;
  readonly server: ServerAddress;
  readonly logger: Logger;

  constructor(options: PostgresDatabaseOptions) {
    this.server = options.server;
    this.logger = options.logger;
    const connection = { connectionString: options.url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS };
    this.pool = new pg.Pool({ ...connection, application_name: "mailroom", max: 10 });
    this.lockPool = new pg.Pool({ ...connection, application_name: "mailroom-maildrop-lock", max: 200 });
    for (const pool of [this.pool, this.lockPool]) {
      pool.on("error", (error) => this.logger.warn({ err: error }, "an idle PostgreSQL connection failed"));
    }
    this.events = new NotifyEventBus({ ...connection, application_name: "mailroom-events" }, options.logger);
  }

  async end(): Promise<void> {
    await Promise.all([this.pool.end(), this.lockPool.end()]);
  }

  async tx<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let client: pg.PoolClient;
      try {
        client = await this.pool.connect();
      } catch (error) {
        throw toStoreError(error, this.server);
      }
      const tx: Tx = { client, events: [] };
      let published: Published[] = [];
      try {
        await client.query("BEGIN");
        const result = await work(tx);
        published = await this.events.publish(client, tx.events);
        await client.query("COMMIT");
        client.release();
        await this.events.delivered(published);
        return result;
      } catch (error) {
        this.events.discard(published);
        if (isConnectionError(error)) {
          client.release(error as Error);
        } else {
          await client.query("ROLLBACK").then(
            () => client.release(),
            (rollbackError: Error) => client.release(rollbackError),
          );
        }
        if (isRetryable(error) && attempt < MAX_ATTEMPTS) {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
          continue;
        }
        throw toStoreError(error, this.server);
      }
    }
  }

  async read<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    try {
      return (await this.pool.query<R>(sql, params)).rows;
    } catch (error) {
      throw toStoreError(error, this.server);
    }
  }

  async sweepOrphanBlobs(): Promise<void> {
    try {
      const result = await this.pool.query(
        `DELETE FROM blobs b WHERE b.created_at < now() - interval '${ORPHAN_BLOB_AGE}'
           AND (NOT b.complete OR (NOT EXISTS (SELECT 1 FROM messages m WHERE m.message_id = b.id)
                                   AND NOT EXISTS (SELECT 1 FROM queue q WHERE q.message_id = b.id)
                                   AND NOT EXISTS (SELECT 1 FROM uploads u WHERE u.blob_id = b.id)))`,
      );
      if (result.rowCount) this.logger.info({ count: result.rowCount }, "removed orphaned message bodies");
    } catch (error) {
      this.logger.warn({ err: error }, "could not sweep orphaned message bodies; will try at next start");
    }
  }
}

/** Deletes the bodies among `ids` that nothing references any more. */
export async function dropUnreferencedBlobs(tx: Tx, ids: string[]): Promise<void> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return;
  await tx.client.query("SAVEPOINT drop_blobs");
  try {
    await tx.client.query(
      `DELETE FROM blobs b WHERE b.id = ANY($1::text[])
         AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.message_id = b.id)
         AND NOT EXISTS (SELECT 1 FROM queue q WHERE q.message_id = b.id)
         AND NOT EXISTS (SELECT 1 FROM uploads u WHERE u.blob_id = b.id)`,
      [unique],
    );
    await tx.client.query("RELEASE SAVEPOINT drop_blobs");
  } catch (error) {
    // Another node's transaction referenced one of the bodies meanwhile: they stay, for now.
    if ((error as { code?: string }).code !== "23503") throw error;
    await tx.client.query("ROLLBACK TO SAVEPOINT drop_blobs");
  }
}
