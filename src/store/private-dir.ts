// The data directory holds DKIM private keys, password hashes and SCRAM keys: it is 0700 and what is in
// it 0600, whatever the umask and whoever created it (`serve`, a CLI command, an older build). mkdir's
// and open's modes are masked by the umask and leave an existing entry alone, so modes are set with
// chmod; SQLite gives its -wal and -shm files the database file's mode, so the database comes first.

import { chmod, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";

const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;
/** Entries of the data directory that are files of ours; everything else there is left alone. */
const DATA_FILES = ["mailroom.db", "mailroom.db-wal", "mailroom.db-shm", "serve.pid", "tls/key.pem"];
/** Directories of ours; messages/ also has one level of fan-out directories below it. */
const DATA_DIRS = ["", "messages", "tmp", "tls"];

async function tighten(path: string, wanted: number, changed: string[]): Promise<void> {
  let mode: number;
  try {
    mode = (await stat(path)).mode & 0o777;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  // Only ever removes bits: an owner who made a file stricter keeps it so.
  if ((mode & ~wanted) === 0) return;
  await chmod(path, mode & wanted);
  changed.push(path);
}

/**
 * Gives the data directory and mailroom's files in it private modes. Returns the paths whose mode was
 * looser and was tightened (an installation from before this rule, or files made under a wide umask).
 */
export async function makeDataDirPrivate(dataDir: string): Promise<string[]> {
  const changed: string[] = [];
  for (const dir of DATA_DIRS) await tighten(join(dataDir, dir), PRIVATE_DIR, changed);
  for (const file of DATA_FILES) await tighten(join(dataDir, file), PRIVATE_FILE, changed);
  let fanOut: string[] = [];
  try {
    fanOut = await readdir(join(dataDir, "messages"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  for (const name of fanOut) await tighten(join(dataDir, "messages", name), PRIVATE_DIR, changed);
  return changed;
}

/**
 * makeDataDirPrivate with the one log line an operator needs when something was tightened. Run by
 * `serve` for every backend (a PostgreSQL installation keeps its TLS key here too) and by the SQLite
 * store's open.
 */
export async function tightenDataDir(dataDir: string, logger: Logger): Promise<void> {
  const tightened = await makeDataDirPrivate(dataDir);
  if (tightened.length === 0) return;
  logger.warn(
    { dataDir, paths: tightened },
    `tightened the permissions of ${tightened.length} path(s) under ${dataDir} that other local users could read (now 0700 directories, 0600 files)`,
  );
}
