import type { Logger } from "pino";
import type { GroupCommitOptions } from "./sqlite/group-commit.js";
import { openSqliteStore } from "./sqlite/index.js";
import { type Store, StoreError } from "./types.js";

/**
 * Opens the backend named by the `store` setting: "sqlite", or a postgres:// URL. `create: false`
 * refuses a PostgreSQL database without mailroom's schema (NoStoreError); a SQLite data directory is
 * checked for its database file by the caller, before anything is created there.
 */
export async function openStore(options: {
  store: string;
  dataDir: string;
  logger: Logger;
  create?: boolean;
  /** The SQLite store's group commit ([commit]); its defaults when absent. */
  groupCommit?: Partial<GroupCommitOptions>;
}): Promise<Store> {
  const { store, dataDir, logger } = options;
  if (store === "sqlite") {
    return openSqliteStore({
      dataDir,
      logger,
      ...(options.groupCommit ? { groupCommit: options.groupCommit } : {}),
    });
  }
  if (/^postgres(ql)?:\/\//i.test(store)) {
    // Loaded only when asked for, so SQLite installs never load the PostgreSQL driver.
    const { openPostgresStore } = await import("./postgres/index.js");
    return openPostgresStore({ url: store, logger, ...(options.create === false ? { create: false } : {}) });
  }
  throw new StoreError(
    "invalid",
    `store "${store}" is not known; use "sqlite" or a PostgreSQL URL like postgres://user:password@host/db`,
  );
}
