// Message bodies of the SQLite store: one file each, with a `messages` row (size, header block) from its
// first reference on. The header block a writer captured waits here until the row that keeps it is written.

import { Readable } from "node:stream";
import { headerBlockEntries, isHeaderBlockFor, notAHeaderBlock } from "../header-capture.js";
import { isStoreId } from "../ids.js";
import { sortInputEntries } from "../sort-inputs.js";
import { structureEntries } from "../structure.js";
import {
  type BlobRef,
  type BlobStore,
  type BlobWriter,
  type ReadableBlob,
  StoreError,
  type Upload,
} from "../types.js";
import type { Effects, SqliteDatabase } from "./database.js";

/**
 * Header blocks of finished bodies wait in memory for the deliver()/append() that stores their row.
 * Past this many bytes the oldest are dropped: such a message merely has no header block kept.
 */
const FINISHED_HEADER_BYTES = 16 * 1024 * 1024;

/**
 * A finished body up to this size is also kept in memory until its delivery commits or it is thrown
 * away: right after the final dot it is read whole once or twice (inbound authentication, the
 * full-text document), and each read from its file is three trips to the thread pool per message.
 */
const SMALL_BODY_BYTES = 64 * 1024;
/** All such bodies together at most; past it the oldest are read from their files again. */
const FINISHED_BODY_BYTES = 16 * 1024 * 1024;

export class SqliteBlobs implements BlobStore {
  /** Header blocks of finished bodies whose message row is not written yet, by body id. */
  private readonly finishedHeaders = new Map<string, Buffer>();
  private finishedHeaderBytes = 0;
  /** Small finished bodies whose delivery has not committed yet, by id (see SMALL_BODY_BYTES). */
  private readonly finishedBodies = new Map<string, Buffer>();
  private finishedBodyBytes = 0;

  constructor(private readonly database: SqliteDatabase) {}

  async createBlobWriter(options?: { id?: string }): Promise<BlobWriter> {
    const { database } = this;
    database.assertOpen();
    const isReferenced = (id: string) =>
      database.closed || database.get("SELECT 1 FROM messages WHERE id = ?", id) !== undefined;
    const id = options?.id;
    if (id !== undefined) checkImportBlobId(id, isReferenced);
    const writer = await database.files.createWriter(isReferenced, id);
    let small: Buffer[] | null = [];
    let smallBytes = 0;
    return {
      id: writer.id,
      write: async (chunk) => {
        await writer.write(chunk);
        if (small === null) return;
        smallBytes += chunk.byteLength;
        if (smallBytes > SMALL_BODY_BYTES) small = null;
        // A copy: the caller may reuse its buffer once the write resolved.
        else small.push(Buffer.from(chunk));
      },
      finish: async (options) => {
        const ref = await writer.finish(options);
        this.rememberHeader(ref.id, writer.headerBlock());
        if (small !== null) this.rememberBody(ref.id, Buffer.concat(small, smallBytes));
        small = null;
        return ref;
      },
      abort: () => {
        this.forgetHeader(writer.id);
        return writer.abort();
      },
    };
  }

  private rememberHeader(id: string, header: Buffer | null): void {
    if (header === null) return;
    this.finishedHeaders.set(id, header);
    this.finishedHeaderBytes += header.length;
    for (const [oldest, block] of this.finishedHeaders) {
      if (this.finishedHeaderBytes <= FINISHED_HEADER_BYTES) break;
      this.finishedHeaders.delete(oldest);
      this.finishedHeaderBytes -= block.length;
    }
  }

  private rememberBody(id: string, body: Buffer): void {
    this.finishedBodies.set(id, body);
    this.finishedBodyBytes += body.length;
    for (const [oldest, bytes] of this.finishedBodies) {
      if (this.finishedBodyBytes <= FINISHED_BODY_BYTES) break;
      this.finishedBodies.delete(oldest);
      this.finishedBodyBytes -= bytes.length;
    }
  }

  /** Once the body's row is committed, the row keeps its header block and the file its bytes. */
  forgetHeader(id: string): void {
    const body = this.finishedBodies.get(id);
    if (body !== undefined) {
      this.finishedBodies.delete(id);
      this.finishedBodyBytes -= body.length;
    }
    const header = this.finishedHeaders.get(id);
    if (header === undefined) return;
    this.finishedHeaders.delete(id);
    this.finishedHeaderBytes -= header.length;
  }

  /** The header block captured when the body was written here, if still remembered. */
  headerOf(id: string): Buffer | null {
    return this.finishedHeaders.get(id) ?? null;
  }

  /**
   * The body's row, written with its first reference, in the caller's transaction; returns the header
   * block it keeps (read back only when this process no longer remembers it).
   */
  insertMessageRow(blob: BlobRef): Buffer | null {
    const header = this.headerOf(blob.id);
    this.database.run(
      "INSERT INTO messages (id, size, created_at, header) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
      blob.id,
      blob.size,
      Date.now(),
      header,
    );
    if (header !== null) return header;
    return this.database
      .stmt("SELECT header FROM messages WHERE id = ?")
      .pluck(true)
      .get(blob.id) as Buffer | null;
  }

  readHeaderBlocks(messageIds: readonly string[]): Promise<Map<string, Buffer>> {
    return this.database.read(() => {
      if (!Array.isArray(messageIds) || messageIds.some((id) => typeof id !== "string")) {
        throw new StoreError("invalid", "readHeaderBlocks needs a list of message ids (strings)");
      }
      const found = new Map<string, Buffer>();
      // One statement for any number of ids: the list travels as one JSON text bound to json_each
      // (measured a little faster than batches of 512 bound parameters, and no statement per size).
      const rows = this.database
        .stmt(
          "SELECT id, header FROM messages WHERE header IS NOT NULL AND id IN (SELECT value FROM json_each(?))",
        )
        .raw(true)
        .all(JSON.stringify(messageIds)) as Array<[string, Buffer]>;
      for (const [id, header] of rows) found.set(id, header);
      return found;
    });
  }

  async saveHeaderBlocks(blocks: ReadonlyMap<string, Buffer>): Promise<void> {
    this.database.assertOpen();
    const entries = headerBlockEntries(blocks);
    if (entries.length === 0) return;
    await this.database.write(() => {
      for (const [id, block] of entries) {
        const row = this.database.get<{ size: number }>("SELECT size FROM messages WHERE id = ?", id);
        if (row === undefined) continue;
        if (!isHeaderBlockFor(block, row.size)) throw notAHeaderBlock(id);
        this.database.run("UPDATE messages SET header = ? WHERE id = ? AND header IS NULL", block, id);
      }
    });
  }

  readStructures(messageIds: readonly string[]): Promise<Map<string, Buffer>> {
    return this.database.read(() => {
      if (!Array.isArray(messageIds) || messageIds.some((id) => typeof id !== "string")) {
        throw new StoreError("invalid", "readStructures needs a list of message ids (strings)");
      }
      const found = new Map<string, Buffer>();
      const rows = this.database
        .stmt(
          "SELECT id, structure FROM messages WHERE structure IS NOT NULL AND id IN (SELECT value FROM json_each(?))",
        )
        .raw(true)
        .all(JSON.stringify(messageIds)) as Array<[string, Buffer]>;
      for (const [id, structure] of rows) found.set(id, structure);
      return found;
    });
  }

  async saveStructures(structures: ReadonlyMap<string, Buffer>): Promise<void> {
    this.database.assertOpen();
    const entries = structureEntries(structures);
    if (entries.length === 0) return;
    await this.database.write(() => {
      for (const [id, structure] of entries) {
        this.database.run(
          "UPDATE messages SET structure = ? WHERE id = ? AND structure IS NULL",
          structure,
          id,
        );
      }
    });
  }

  readSortInputs(messageIds: readonly string[]): Promise<Map<string, string>> {
    return this.database.read(() => {
      if (!Array.isArray(messageIds) || messageIds.some((id) => typeof id !== "string")) {
        throw new StoreError("invalid", "readSortInputs needs a list of message ids (strings)");
      }
      const rows = this.database
        .stmt(
          "SELECT id, sort_inputs FROM messages WHERE sort_inputs IS NOT NULL AND id IN (SELECT value FROM json_each(?))",
        )
        .raw(true)
        .all(JSON.stringify(messageIds)) as Array<[string, string]>;
      return new Map(rows);
    });
  }

  async saveSortInputs(inputs: ReadonlyMap<string, string>): Promise<void> {
    this.database.assertOpen();
    const entries = sortInputEntries(inputs);
    if (entries.length === 0) return;
    await this.database.write(() => {
      for (const [id, encoded] of entries) {
        this.database.run(
          "UPDATE messages SET sort_inputs = ? WHERE id = ? AND sort_inputs IS NULL",
          encoded,
          id,
        );
      }
    });
  }

  readBlob(messageId: string): Readable {
    const body = this.finishedBodies.get(messageId);
    if (body !== undefined) return Readable.from([body], { objectMode: false });
    return this.database.files.read(messageId, this.recordedSize(messageId));
  }

  readBlobBytes(messageId: string, size?: number): Promise<Buffer> {
    const body = this.finishedBodies.get(messageId);
    // A copy: the cached bytes must stay as the file has them whatever the caller does with its own.
    if (body !== undefined) return Promise.resolve(Buffer.from(body));
    const known = Number.isSafeInteger(size) && (size as number) >= 0 ? size : this.recordedSize(messageId);
    return this.database.files.readBytes(messageId, known);
  }

  async recordUpload(upload: {
    userId: number;
    blobId: string;
    type: string;
    expiresAt: Date;
  }): Promise<Upload> {
    const { userId, blobId, type, expiresAt } = upload;
    if (typeof type !== "string" || type === "" || !(expiresAt instanceof Date) || Number.isNaN(+expiresAt)) {
      throw new StoreError("invalid", "an upload needs a media type and an expiry date");
    }
    const size =
      typeof blobId === "string" && isStoreId(blobId) ? await this.database.files.sizeOf(blobId) : null;
    if (size === null) throw new StoreError("not-found", `no finished body ${String(blobId)}`);
    return this.database.write((effects) => {
      if (!this.database.get("SELECT 1 FROM users WHERE id = ?", userId)) {
        throw new StoreError("not-found", `no user with id ${userId}`);
      }
      const expired = this.database
        .all<{ blob_id: string }>("DELETE FROM uploads WHERE expires_at <= ? RETURNING blob_id", Date.now())
        .map((row) => row.blob_id);
      this.database.run(
        `INSERT INTO uploads (blob_id, user_id, type, size, expires_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (user_id, blob_id) DO UPDATE SET type = excluded.type, expires_at = excluded.expires_at`,
        blobId,
        userId,
        type,
        size,
        expiresAt.getTime(),
      );
      forgetUploadBodies(this.database, expired, effects);
      return { blobId, userId, type, size, expiresAt: new Date(expiresAt.getTime()) };
    });
  }

  uploadUsage(userId: number, now: Date): Promise<{ count: number; bytes: number }> {
    return this.database.read(() => {
      const row = this.database.get<{ count: number; bytes: number | null }>(
        "SELECT count(*) AS count, sum(size) AS bytes FROM uploads WHERE user_id = ? AND expires_at > ?",
        userId,
        now.getTime(),
      );
      return { count: row?.count ?? 0, bytes: row?.bytes ?? 0 };
    });
  }

  findReadableBlob(userId: number, blobId: string, now: Date): Promise<ReadableBlob | null> {
    return this.database.read(() => {
      if (typeof blobId !== "string" || !isStoreId(blobId)) return null;
      const message = this.database.get<{ size: number }>(
        `SELECT m.size FROM messages m WHERE m.id = ? AND EXISTS (
           SELECT 1 FROM mailbox_messages e JOIN mailboxes b ON b.id = e.mailbox_id
            WHERE e.message_id = m.id AND b.user_id = ?)`,
        blobId,
        userId,
      );
      if (message) return { blobId, size: message.size, type: null };
      const upload = this.database.get<{ size: number; type: string }>(
        "SELECT size, type FROM uploads WHERE user_id = ? AND blob_id = ? AND expires_at > ?",
        userId,
        blobId,
        now.getTime(),
      );
      return upload ? { blobId, size: upload.size, type: upload.type } : null;
    });
  }

  /**
   * The size the messages row records, which saves the file reads an fstat and an end-of-file read
   * (a few µs here against a thread-pool trip each); undefined for a body no message references yet.
   */
  private recordedSize(messageId: string): number | undefined {
    if (this.database.closed || typeof messageId !== "string") return undefined;
    try {
      return this.database.get<{ size: number }>("SELECT size FROM messages WHERE id = ?", messageId)?.size;
    } catch {
      // Only an optimisation: the file read still works (and reports its own errors) without it.
      return undefined;
    }
  }

  /** A body may only be referenced once its file is complete: check it exists with the size claimed. */
  async checkBlob(blob: BlobRef): Promise<void> {
    if (typeof blob !== "object" || blob === null || typeof blob.id !== "string") {
      throw new StoreError("invalid", "a message needs a body reference from BlobWriter.finish()");
    }
    const size = await this.database.files.sizeOf(blob.id);
    if (size === null) {
      throw new StoreError(
        "not-found",
        `message body ${blob.id} does not exist; was BlobWriter.finish() awaited?`,
      );
    }
    if (size !== blob.size) {
      throw new StoreError(
        "invalid",
        `message body ${blob.id} has ${size} bytes, not the ${blob.size} claimed`,
      );
    }
  }
}

/** An id given for an imported body: the form of a store id, and not a body this store already has. */
function checkImportBlobId(id: string, exists: (id: string) => boolean): void {
  if (typeof id !== "string" || !isStoreId(id)) {
    throw new StoreError("invalid", `"${String(id)}" is not a message id of the form mailroom gives them`);
  }
  if (exists(id)) throw new StoreError("exists", `message body ${id} is already in this store`);
}

/** Bodies of forgotten uploads go after the commit, unless a message or another upload names them. */
export function forgetUploadBodies(
  database: SqliteDatabase,
  blobIds: Iterable<string>,
  effects: Effects,
): void {
  for (const id of blobIds) {
    const kept =
      database.get("SELECT 1 FROM messages WHERE id = ?", id) ??
      database.get("SELECT 1 FROM uploads WHERE blob_id = ?", id);
    if (kept === undefined) effects.unreferenced.add(id);
  }
}
