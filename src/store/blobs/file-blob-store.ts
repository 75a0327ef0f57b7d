// Message bodies as files: <root>/messages/<fan-out>/<id>. A body is written to <root>/tmp first and
// renamed into place when finished; finish() resolves only once its data and name are fsynced, and only
// then can a row name it, so a crash leaves complete referenced bodies plus garbage the sweeps remove.

import {
  closeSync,
  constants,
  close as fsClose,
  open as fsOpen,
  type promises as fsp,
  read as fsRead,
} from "node:fs";
import { lstat, mkdir, open, readdir, readFile, rename, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { Logger } from "pino";
import { HeaderCapture } from "../header-capture.js";
import { isStoreId, newMessageId } from "../ids.js";
import { type BlobRef, type BlobWriter, type FinishOptions, StoreError } from "../types.js";
import { BodyReadThreads } from "./body-read-thread.js";
import { fileError } from "./errors.js";

type FileHandle = fsp.FileHandle;

const READ_CHUNK = 64 * 1024;
/** Body ids per `referenced` question during a sweep: bounds the query and the memory one batch holds. */
const SWEEP_BATCH = 500;

/** Unlinks in flight at once when removing many bodies: the libuv pool has 4 threads by default. */
const REMOVE_PARALLELISM = 8;

export interface OrphanSweepOptions {
  /** Which of the given ids a committed row names; those bodies are kept whatever their age. */
  referenced: (ids: string[]) => Set<string>;
  /** Files last modified at or after this time (ms since the epoch) are kept: a delivery may hold them. */
  cutoff: number;
  /** Asked between directories and batches; true ends the sweep early (the store is closing). */
  stop?: () => boolean;
}

/** What a sweep removed. */
export interface OrphanSweepResult {
  files: number;
  bytes: number;
}

export interface FileBlobStoreOptions {
  root: string;
  logger: Logger;
  /** Opens a temp file for writing; replaceable so tests can make writes fail like a full disk. */
  openTemp?: (path: string) => Promise<FileHandle>;
  /** Makes a directory's entries durable; replaceable so tests can make directory fsyncs slow or fail. */
  fsyncDirectory?: (path: string) => Promise<void>;
}

export class FileBlobStore {
  readonly messagesDir: string;
  readonly tmpDir: string;
  private readonly logger: Logger;
  private readonly openTemp: (path: string) => Promise<FileHandle>;
  private readonly fanOut: FanOutDirectories;
  private readonly readThreads: BodyReadThreads;

  constructor(options: FileBlobStoreOptions) {
    this.messagesDir = join(options.root, "messages");
    this.tmpDir = join(options.root, "tmp");
    this.logger = options.logger;
    this.openTemp = options.openTemp ?? ((path) => open(path, "wx", 0o600));
    this.fanOut = new FanOutDirectories(this.messagesDir, options.fsyncDirectory ?? fsyncDirectory);
    this.readThreads = new BodyReadThreads(readKnownSize, this.logger);
  }

  /** Stops the body-reading threads; later reads still work, on the main thread. */
  close(): void {
    this.readThreads.close();
  }

  /** Creates the directories and removes temp files left by processes that are gone. */
  async init(): Promise<void> {
    try {
      await mkdir(this.messagesDir, { recursive: true, mode: 0o700 });
      await mkdir(this.tmpDir, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw fileError(error, this.messagesDir, "creating the message directories");
    }
    await this.sweepTemp();
  }

  // Temp files carry their writer's pid: the admin CLI and the server share a data directory, so a
  // temp file is only garbage when the process that writes it no longer exists.
  private async sweepTemp(): Promise<void> {
    const names = await readdir(this.tmpDir);
    for (const name of names) {
      const pid = Number(name.split(".")[1]);
      if (Number.isInteger(pid) && pid > 0 && (pid === process.pid || processAlive(pid))) continue;
      try {
        await unlink(join(this.tmpDir, name));
      } catch (error) {
        this.logger.warn({ err: error, file: name }, "could not remove a stale temp body");
      }
    }
  }

  /**
   * Removes finished bodies no row references once they are old enough, one fan-out directory at a
   * time with a turn of the event loop between directories, so a large store never stalls the process.
   * Failures are logged and skipped: the next sweep tries again.
   */
  async sweepOrphans(options: OrphanSweepOptions): Promise<OrphanSweepResult> {
    const removed: OrphanSweepResult = { files: 0, bytes: 0 };
    let dirs: string[];
    try {
      dirs = await readdir(this.messagesDir);
    } catch (error) {
      this.logger.warn({ err: error, dir: this.messagesDir }, "could not list message bodies to sweep");
      return removed;
    }
    for (const dir of dirs) {
      if (options.stop?.()) break;
      await this.sweepDirectory(join(this.messagesDir, dir), options, removed);
      await yieldToEventLoop();
    }
    return removed;
  }

  private async sweepDirectory(dir: string, options: OrphanSweepOptions, removed: OrphanSweepResult) {
    let names: string[];
    try {
      names = (await readdir(dir, { withFileTypes: true }))
        .filter((entry) => entry.isFile() && isStoreId(entry.name))
        .map((entry) => entry.name);
    } catch (error) {
      // A stray non-directory in messages/ is not ours to judge.
      if ((error as NodeJS.ErrnoException).code !== "ENOTDIR") {
        this.logger.warn({ err: error, dir }, "could not list message bodies to sweep");
      }
      return;
    }
    for (let start = 0; start < names.length; start += SWEEP_BATCH) {
      if (options.stop?.()) return;
      const batch = names.slice(start, start + SWEEP_BATCH);
      const referenced = options.referenced(batch);
      for (const id of batch) {
        if (referenced.has(id)) continue;
        const path = join(dir, id);
        try {
          const stats = await lstat(path);
          if (!stats.isFile() || stats.mtimeMs >= options.cutoff) continue;
          await unlink(path);
          removed.files++;
          removed.bytes += stats.size;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
            this.logger.warn({ err: error, messageId: id }, "could not remove an orphaned message body");
          }
        }
      }
    }
  }

  pathOf(id: string): string {
    if (!isStoreId(id)) throw new StoreError("not-found", `no message body with id "${id}"`);
    // The id starts with its creation time, which changes slowly; the random tail spreads the files.
    return join(this.messagesDir, id.slice(-2), id);
  }

  /**
   * `isReferenced` tells whether a committed row names the body: abort() after a successful finish()
   * (the delivery that was to reference it failed) removes the file only when nothing does.
   */
  async createWriter(
    isReferenced: (id: string) => boolean = () => true,
    id: string = newMessageId(),
  ): Promise<FileBlobWriter> {
    const tmpPath = join(this.tmpDir, `${id}.${process.pid}`);
    let handle: FileHandle;
    try {
      handle = await this.openTemp(tmpPath);
    } catch (error) {
      throw fileError(error, tmpPath, "creating a temp file for a message body");
    }
    return new FileBlobWriter(id, tmpPath, this.pathOf(id), handle, isReferenced, this.fanOut);
  }

  /** The size of a finished body, or null when there is none. */
  async sizeOf(id: string): Promise<number | null> {
    if (!isStoreId(id)) return null;
    let handle: FileHandle | undefined;
    try {
      handle = await open(this.pathOf(id), constants.O_RDONLY);
      return (await handle.stat()).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw fileError(error, this.pathOf(id), "checking a message body");
    } finally {
      await handle?.close();
    }
  }

  /**
   * `size` (the size the database recorded) lets the stream stop after that many octets instead of
   * spending one more trip to the thread pool on a read that only reports the end of the file.
   */
  read(id: string, size?: number): Readable {
    const path = this.pathOf(id);
    async function* chunks(): AsyncGenerator<Buffer> {
      let fd: number;
      try {
        fd = await openForReading(path);
      } catch (error) {
        throw fileError(error, path, "reading a message body");
      }
      try {
        let left = size ?? Number.POSITIVE_INFINITY;
        while (left > 0) {
          const length = Math.min(READ_CHUNK, left);
          const buffer = Buffer.allocUnsafe(length);
          const bytesRead = await readInto(fd, buffer, 0, null);
          if (bytesRead === 0) return;
          left -= bytesRead;
          yield buffer.subarray(0, bytesRead);
        }
      } catch (error) {
        throw fileError(error, path, "reading a message body");
      } finally {
        await closeFd(fd);
      }
    }
    return Readable.from(chunks(), { objectMode: false });
  }

  /**
   * The whole body in one buffer. With `size` known, bodies up to a megabyte are read in batches on a
   * worker thread (body-read-thread.ts); the rest, and every read once that thread has failed, take
   * readKnownSize below.
   */
  async readBytes(id: string, size?: number): Promise<Buffer> {
    const path = this.pathOf(id);
    try {
      if (size === undefined || !Number.isSafeInteger(size) || size < 0) return await readFile(path);
      return await this.readThreads.read(path, size);
    } catch (error) {
      throw fileError(error, path, "reading a message body");
    }
  }

  /** Removes bodies no database row references any more; a failure only leaves harmless garbage. */
  async remove(ids: Iterable<string>): Promise<void> {
    const removeOne = async (id: string): Promise<void> => {
      try {
        await unlink(this.pathOf(id));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
          this.logger.warn({ err: error, messageId: id }, "could not remove an unreferenced message body");
        }
      }
    };
    // A batch (the relay's completed entries, an expunge) goes to the thread pool a few at a time
    // rather than one after the other, each unlink being a round trip of its own.
    const all = [...ids];
    for (let at = 0; at < all.length; at += REMOVE_PARALLELISM)
      await Promise.all(all.slice(at, at + REMOVE_PARALLELISM).map(removeOne));
  }
}

// The callback forms of open/read/close: each is one trip to the thread pool like the FileHandle forms,
// without a FileHandle object to create, track and release per body (measured in bench/store/blob-read.ts).
/**
 * Two trips to the thread pool (open, one read into a buffer of the known size) instead of readFile's
 * four or more (it also fstat()s, reads until end of file and closes there); see
 * bench/store/blob-read.ts. Open and read stay asynchronous: a synchronous read of a body that is not
 * in the page cache would stall every connection of the process. The close is synchronous: closing a
 * descriptor opened read-only writes nothing back and never waits for the disk (close(2)), while a
 * trip to the thread pool costs the event loop more.
 */
async function readKnownSize(path: string, size: number): Promise<Buffer> {
  const fd = await openForReading(path);
  try {
    const buffer = Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const bytesRead = await readInto(fd, buffer, filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === size ? buffer : buffer.subarray(0, filled);
  } finally {
    closeSync(fd);
  }
}

function openForReading(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    fsOpen(path, constants.O_RDONLY, (error, fd) => (error ? reject(error) : resolve(fd)));
  });
}

/** Reads into buffer[offset..] at `position` (null: the file's current position); resolves octets read. */
function readInto(fd: number, buffer: Buffer, offset: number, position: number | null): Promise<number> {
  return new Promise((resolve, reject) => {
    fsRead(fd, buffer, offset, buffer.length - offset, position, (error, bytesRead) =>
      error ? reject(error) : resolve(bytesRead),
    );
  });
}

function closeFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsClose(fd, (error) => (error ? reject(error) : resolve())));
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function fsyncDirectory(path: string): Promise<void> {
  const handle = await open(path, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

interface FanOutDirectory {
  /** The directory exists: a body can be renamed into it. */
  exists: Promise<void>;
  /** Its entry in messages/ is durable too: a body in it can count as on disk. */
  durable: Promise<void>;
}

const KNOWN_DURABLE: FanOutDirectory = { exists: Promise.resolve(), durable: Promise.resolve() };

/**
 * The fan-out directories' durability, shared by every writer of a store. Without it a writer that
 * found a directory already there trusted it, while the writer that had just created it might still be
 * fsyncing messages/: the second body could be acknowledged inside a directory a crash would lose.
 */
class FanOutDirectories {
  /** Creations (and fsyncs of messages/) in flight; an entry goes once settled, so a failure is retried. */
  private readonly pending = new Map<string, FanOutDirectory>();
  /**
   * Directories whose entry this process has fsynced. A directory that merely exists is not enough:
   * another process sharing the data directory (the admin CLI), or one killed before its fsync, may
   * have created it, and its entry may still be only in the page cache. So each directory costs one
   * fsync of messages/ per process, and the set holds at most 32 × 32 names (the fan-out alphabet).
   * A directory in it is not created again either: nothing removes one (the sweeps remove files).
   */
  private readonly durable = new Set<string>();

  constructor(
    private readonly parent: string,
    readonly fsync: (path: string) => Promise<void>,
  ) {}

  prepare(dir: string): FanOutDirectory {
    if (this.durable.has(dir)) return KNOWN_DURABLE;
    const known = this.pending.get(dir);
    if (known !== undefined) return known;
    const exists = mkdir(dir, { recursive: true, mode: 0o700 }).then(() => undefined);
    const durable = exists.then(() => this.fsync(this.parent));
    const entry = { exists, durable };
    this.pending.set(dir, entry);
    durable.then(
      () => {
        this.durable.add(dir);
        this.pending.delete(dir);
      },
      // The writers waiting get the error themselves; a writer without fsyncs (a scratch body) or
      // one whose rename failed does not wait, and the rejection must not go unhandled.
      () => this.pending.delete(dir),
    );
    return entry;
  }
}

type WriterState = "open" | "finishing" | "finished" | "failed" | "aborted";

export class FileBlobWriter implements BlobWriter {
  private size = 0;
  private readonly header = new HeaderCapture();
  private state: WriterState = "open";
  private handleOpen = true;

  constructor(
    readonly id: string,
    private readonly tmpPath: string,
    private readonly finalPath: string,
    private readonly handle: FileHandle,
    private readonly isReferenced: (id: string) => boolean,
    private readonly fanOut: FanOutDirectories,
  ) {}

  async write(chunk: Uint8Array): Promise<void> {
    if (this.state !== "open") {
      throw new StoreError("invalid", `message body ${this.id} is ${this.state}; it takes no more bytes`);
    }
    try {
      let offset = 0;
      while (offset < chunk.byteLength) {
        const { bytesWritten } = await this.handle.write(chunk, offset, chunk.byteLength - offset, null);
        offset += bytesWritten;
      }
      this.size += chunk.byteLength;
      this.header.feed(chunk);
    } catch (error) {
      // Part of the chunk may be on disk: the body is unusable, only abort() remains.
      this.state = "failed";
      throw fileError(error, this.tmpPath, "writing a message body");
    }
  }

  async finish(options?: FinishOptions): Promise<BlobRef> {
    if (this.state !== "open") {
      throw new StoreError("invalid", `message body ${this.id} is ${this.state}; it cannot be finished`);
    }
    this.state = "finishing";
    const durable = options?.durable ?? true;
    try {
      const dir = dirname(this.finalPath);
      const directory = this.fanOut.prepare(dir);
      await directory.exists;
      // Renamed before the fsyncs, so that one journal commit can carry the data and the new name
      // together and the directory's fsync finds little left to do. Until finish() resolves nothing
      // references the body (the row naming it is committed only then), so a crash that leaves it cut
      // short under its final name leaves garbage for the orphan sweep, never a short message. A
      // scratch body is renamed all the same, so it is read like any other.
      await rename(this.tmpPath, this.finalPath);
      if (durable) {
        await Promise.all([this.handle.sync(), this.fanOut.fsync(dir), directory.durable]);
      }
      await this.closeHandle();
    } catch (error) {
      this.state = "failed";
      throw fileError(error, this.tmpPath, "saving a message body");
    }
    this.state = "finished";
    return { id: this.id, size: this.size };
  }

  /** The message's header block (see BlobStore.readHeaderBlocks) once finished; null when unknown. */
  headerBlock(): Buffer | null {
    return this.state === "finished" ? this.header.result() : null;
  }

  async abort(): Promise<void> {
    if (this.state === "aborted") return;
    if (this.state === "finished") {
      if (this.isReferenced(this.id)) return;
      this.state = "aborted";
      await unlink(this.finalPath).catch(() => undefined);
      return;
    }
    const failed = this.state === "failed";
    this.state = "aborted";
    await this.closeHandle().catch(() => undefined);
    await unlink(this.tmpPath).catch(() => undefined);
    // finish() may have failed after the rename (at the directory fsync): no caller got a reference.
    if (failed) await unlink(this.finalPath).catch(() => undefined);
  }

  private async closeHandle(): Promise<void> {
    if (!this.handleOpen) return;
    this.handleOpen = false;
    await this.handle.close();
  }
}
