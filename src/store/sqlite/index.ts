import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { Logger } from "pino";
import { fileError } from "../blobs/errors.js";
import { FileBlobStore } from "../blobs/file-blob-store.js";
import { makeDataDirPrivate, tightenDataDir } from "../private-dir.js";
import { sqliteError } from "./errors.js";
import type { GroupCommitOptions } from "./group-commit.js";
import { checkSchemaVersion, migrate } from "./schema.js";
import { SqliteStore } from "./sqlite-store.js";

/** How long a writer waits for another process (the admin CLI, the server) to release the database. */
const BUSY_TIMEOUT_MS = 5000;

export async function openSqliteStore(options: {
  dataDir: string;
  logger: Logger;
  groupCommit?: Partial<GroupCommitOptions>;
}): Promise<SqliteStore> {
  const { dataDir, logger } = options;
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw fileError(error, dataDir, "creating the data directory");
  }
  try {
    await tightenDataDir(dataDir, logger);
  } catch (error) {
    throw fileError(error, dataDir, "making the data directory private");
  }
  const path = join(dataDir, "mailroom.db");
  let db: Database.Database | undefined;
  try {
    db = new Database(path);
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // Checked before anything writes: a database from a newer build is left exactly as it is.
    checkSchemaVersion(db, path);
    db.pragma("journal_mode = WAL");
    // FULL: in WAL mode every commit is fsynced, so a resolved deliver() survives a power loss.
    db.pragma("synchronous = FULL");
    db.pragma("foreign_keys = ON");
    migrate(db, path);
  } catch (error) {
    db?.close();
    throw sqliteError(error, path);
  }
  const blobs = new FileBlobStore({ root: dataDir, logger });
  try {
    await blobs.init();
    // Files SQLite and init() have just created (the -wal and -shm of a new database among them).
    await makeDataDirPrivate(dataDir);
  } catch (error) {
    db.close();
    throw fileError(error, dataDir, "making the data directory private");
  }
  logger.debug({ path }, "sqlite store open");
  return new SqliteStore(db, path, blobs, logger, options.groupCommit);
}
