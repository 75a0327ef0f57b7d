// One `mailroom serve` per data directory: two servers on one SQLite file and one blob directory would
// each believe their in-process locks (POP3 maildrops, the queue) were the only ones.

import { link, readFile, rm, unlink, writeFile } from "node:fs/promises";
import path from "node:path";

export const LOCK_FILE_NAME = "serve.pid";

export class InstanceLockError extends Error {
  constructor(
    message: string,
    readonly holderPid: number | null,
  ) {
    super(message);
    this.name = "InstanceLockError";
  }
}

export interface InstanceLock {
  readonly path: string;
  /** Removes the lock file if it is still ours; safe to call twice. */
  release(): Promise<void>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user, which still makes it the holder.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function readHolder(lockPath: string): Promise<number | null> {
  try {
    const text = await readFile(lockPath, "utf8");
    const pid = Number.parseInt(text.trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

/** The pid of a live process holding dataDir's lock; null when none does (no lock, or a dead one's). */
export async function liveLockHolder(dataDir: string): Promise<number | null> {
  const holder = await readHolder(path.join(dataDir, LOCK_FILE_NAME)).catch(() => null);
  return holder !== null && holder !== process.pid && isAlive(holder) ? holder : null;
}

/**
 * Takes <dataDir>/serve.pid. The pid is written to a private file first and hard-linked into place, so
 * the lock appears atomically (link fails with EEXIST like O_EXCL) and never exists without its pid.
 */
export async function acquireInstanceLock(dataDir: string): Promise<InstanceLock> {
  const lockPath = path.join(dataDir, LOCK_FILE_NAME);
  const candidate = path.join(dataDir, `${LOCK_FILE_NAME}.${process.pid}.tmp`);
  const pidText = `${process.pid}\n`;
  await writeFile(candidate, pidText, { flag: "w", mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await link(candidate, lockPath);
        return makeLock(lockPath, pidText);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      const holder = await readHolder(lockPath);
      if (holder !== null && holder !== process.pid && isAlive(holder)) {
        throw new InstanceLockError(
          `another mailroom serve (pid ${holder}) is using data dir ${dataDir}; stop it first or choose another --data-dir`,
          holder,
        );
      }
      // The holder died without cleaning up (crash, SIGKILL, power loss): the lock is stale.
      await rm(lockPath, { force: true });
    }
    throw new InstanceLockError(
      `could not take the lock ${lockPath}: another mailroom serve keeps starting on data dir ${dataDir}`,
      null,
    );
  } finally {
    await rm(candidate, { force: true });
  }
}

function makeLock(lockPath: string, pidText: string): InstanceLock {
  let released = false;
  return {
    path: lockPath,
    async release() {
      if (released) return;
      released = true;
      const current = await readFile(lockPath, "utf8").catch(() => null);
      if (current === pidText) await unlink(lockPath).catch(() => undefined);
    },
  };
}
