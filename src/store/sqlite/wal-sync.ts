// Makes commits durable without holding the event loop. better-sqlite3 is synchronous: with
// synchronous = FULL every COMMIT would fsync the WAL on the main thread, and no other connection could
// be read, parsed or written meanwhile. Instead transactions commit with synchronous = NORMAL (their
// frames are written to the WAL, not synced) and their callers wait here for an fsync of the WAL file on
// the thread pool. fsync(2) flushes the file whatever descriptor it is given, and the WAL's frames are in
// commit order, so one fsync makes every commit before it durable: callers that arrive while one runs
// share the next. The WAL header itself SQLite still syncs on its own when it restarts the log (that
// sync does not depend on the synchronous setting), and checkpoints sync the WAL before copying it back.

import { close as closeFd, fsync as fsFsync, open as openFd } from "node:fs";

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

export interface WalSyncOptions {
  /** fsync(2) of a descriptor; replaceable so tests can count calls or make them fail. */
  fsync?: (fd: number, done: (error: Error | null) => void) => void;
}

export class WalSync {
  private fd: number | null = null;
  private running: Promise<void> | null = null;
  /** Arrived after the running fsync started: their commits may not be in it, so they wait for the next. */
  private waiting: Waiter[] = [];
  private readonly fsync: NonNullable<WalSyncOptions["fsync"]>;

  constructor(
    private readonly walPath: string,
    options: WalSyncOptions = {},
  ) {
    this.fsync = options.fsync ?? fsFsync;
  }

  /** Settles once everything committed to the WAL before the call is on disk, or the fsync failed. */
  sync(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.start();
    });
  }

  /** Waits for every fsync asked for, then lets the WAL file go. */
  async close(): Promise<void> {
    while (this.running !== null) await this.running.catch(() => undefined);
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    await new Promise<void>((resolve) => closeFd(fd, () => resolve()));
  }

  private start(): void {
    if (this.running !== null || this.waiting.length === 0) return;
    const batch = this.waiting;
    this.waiting = [];
    this.running = this.syncOnce().then(
      () => {
        for (const waiter of batch) waiter.resolve();
      },
      (error: unknown) => {
        for (const waiter of batch) waiter.reject(error);
      },
    );
    void this.running.finally(() => {
      this.running = null;
      this.start();
    });
  }

  private async syncOnce(): Promise<void> {
    // Opened once: SQLite keeps the WAL file (the same inode, truncated at most) while this process
    // holds its connection, and deletes it only when the last connection closes.
    if (this.fd === null) {
      this.fd = await new Promise<number>((resolve, reject) =>
        openFd(this.walPath, "r", (error, fd) => (error ? reject(error) : resolve(fd))),
      );
    }
    const fd = this.fd;
    await new Promise<void>((resolve, reject) =>
      this.fsync(fd, (error) => (error ? reject(error) : resolve())),
    );
  }
}
