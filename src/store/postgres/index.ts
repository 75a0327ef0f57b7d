// Opens the PostgreSQL store: brings the schema up to date (safely when several nodes start at once),
// starts the event listener, and hands back the Store.

import type { Logger } from "pino";
import { describeServer, toStoreError } from "./errors.js";
import { migrate } from "./schema.js";
import { PostgresStore } from "./store.js";

/** `create: false` refuses a database without mailroom's schema (NoStoreError) instead of setting it up. */
export async function openPostgresStore(options: {
  url: string;
  logger: Logger;
  create?: boolean;
}): Promise<PostgresStore> {
  const server = describeServer(options.url);
  const store = new PostgresStore({ url: options.url, logger: options.logger, server });
  try {
    const client = await store.connect();
    try {
      const { from, to } = await migrate(client, { create: options.create !== false });
      if (from !== to) options.logger.info({ from, to }, "upgraded the PostgreSQL schema");
    } finally {
      client.release();
    }
    await store.start();
  } catch (error) {
    await store.close().catch(() => {});
    throw toStoreError(error, server);
  }
  options.logger.debug(
    { host: server.host, port: server.port, database: server.database },
    "opened PostgreSQL store",
  );
  return store;
}
