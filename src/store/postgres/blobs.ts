// Message bodies as rows of blob_chunks (see the schema for why). A writer keeps at most one chunk in
// memory: every full chunk is inserted as it fills, in its own transaction with synchronous_commit off
// (no fsync wait per chunk), while the blob row stays "not complete" and so invisible. finish() inserts
// the last chunk and marks the blob complete in one synchronously committed transaction; its WAL flush
// also covers every earlier chunk, because WAL is written in order. Readers fetch a small body (and the
// first chunks of a large one) together with its head in one statement, the rest one chunk per query.

import { Readable } from "node:stream";
import type pg from "pg";
import { HeaderCapture, headerBlockEntries, isHeaderBlockFor, notAHeaderBlock } from "../header-capture.js";
import { isStoreId, newMessageId } from "../ids.js";
import { sortInputEntries } from "../sort-inputs.js";
import { structureEntries } from "../structure.js";
import {
  type BlobRef,
  type BlobStore,
  type BlobWriter,
  type FinishOptions,
  type ReadableBlob,
  StoreError,
  type Upload,
} from "../types.js";
import { dropUnreferencedBlobs, type PostgresDatabase } from "./database.js";
import { type ServerAddress, toStoreError } from "./errors.js";
import { claimBlobId } from "./import.js";

export const CHUNK_BYTES = 256 * 1024;

export class PostgresBlobWriter implements BlobWriter {
  private buffer = Buffer.alloc(CHUNK_BYTES);
  private filled = 0;
  private size = 0;
  private nextSeq = 0;
  private rowInserted = false;
  private readonly header = new HeaderCapture();
  private state: "open" | "finished" | "aborted" = "open";
  /** Operations run one after another even when a caller does not await each write. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly pool: pg.Pool,
    private readonly server: ServerAddress,
    readonly id: string = newMessageId(),
  ) {}

  write(chunk: Uint8Array): Promise<void> {
    return this.serially(async () => {
      this.assertOpen();
      this.header.feed(chunk);
      let offset = 0;
      while (offset < chunk.byteLength) {
        const take = Math.min(CHUNK_BYTES - this.filled, chunk.byteLength - offset);
        this.buffer.set(chunk.subarray(offset, offset + take), this.filled);
        this.filled += take;
        offset += take;
        this.size += take;
        if (this.filled === CHUNK_BYTES) await this.flushFullChunk();
      }
    });
  }

  finish(options?: FinishOptions): Promise<BlobRef> {
    return this.serially(async () => {
      this.assertOpen();
      await this.inTransaction(async (client) => {
        // A scratch body (BlobWriter.finish) need not wait for the WAL flush.
        if (options?.durable === false) await client.query("SET LOCAL synchronous_commit = off");
        await this.insertPending(client);
        // The header block (Store.readHeaderBlocks) becomes visible with the body, in the same commit.
        await client.query("UPDATE blobs SET complete = true, size = $2, header = $3 WHERE id = $1", [
          this.id,
          this.size,
          this.header.result(),
        ]);
      });
      this.state = "finished";
      this.buffer = Buffer.alloc(0);
      return { id: this.id, size: this.size };
    });
  }

  abort(): Promise<void> {
    // Runs after whatever is in flight, and whatever that did; a referenced body is left alone.
    const run = async () => {
      this.state = "aborted";
      this.buffer = Buffer.alloc(0);
      try {
        await this.pool.query(
          `DELETE FROM blobs b WHERE b.id = $1
             AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.message_id = b.id)
             AND NOT EXISTS (SELECT 1 FROM queue q WHERE q.message_id = b.id)`,
          [this.id],
        );
      } catch (error) {
        // A delivery referencing the body committed meanwhile (foreign key): the body stays.
        if ((error as { code?: string }).code !== "23503") throw toStoreError(error, this.server);
      }
    };
    const next = this.tail.then(run, run);
    this.tail = next.catch(() => {});
    return next;
  }

  private serially<T>(operation: () => Promise<T>): Promise<T> {
    const next = this.tail.then(operation);
    this.tail = next.catch(() => {});
    return next;
  }

  private assertOpen(): void {
    if (this.state !== "open") {
      throw new StoreError("invalid", `the body writer for ${this.id} is already ${this.state}`);
    }
  }

  private async flushFullChunk(): Promise<void> {
    await this.inTransaction(async (client) => {
      // Durability comes from finish(): its synchronous commit flushes this transaction's WAL too.
      await client.query("SET LOCAL synchronous_commit = off");
      await this.insertPending(client);
    });
  }

  /** Inserts the blob row if needed and the buffered bytes as the next chunk. */
  private async insertPending(client: pg.PoolClient): Promise<void> {
    if (!this.rowInserted) {
      await client.query("INSERT INTO blobs (id) VALUES ($1)", [this.id]);
    }
    if (this.filled > 0) {
      await client.query("INSERT INTO blob_chunks (blob_id, seq, bytes) VALUES ($1, $2, $3)", [
        this.id,
        this.nextSeq,
        this.buffer.subarray(0, this.filled),
      ]);
    }
    this.rowInserted = true;
    if (this.filled > 0) this.nextSeq++;
    this.filled = 0;
  }

  private async inTransaction(work: (client: pg.PoolClient) => Promise<void>): Promise<void> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw toStoreError(error, this.server);
    }
    try {
      await client.query("BEGIN");
      await work(client);
      await client.query("COMMIT");
      client.release();
    } catch (error) {
      await client.query("ROLLBACK").then(
        () => client.release(),
        (rollbackError: Error) => client.release(rollbackError),
      );
      throw toStoreError(error, this.server);
    }
  }
}

/**
 * A body of at most this many chunks is read with one statement. A single statement sees one snapshot
 * (also under READ COMMITTED), so the head and its chunks agree without BEGIN/COMMIT round trips; the
 * bound keeps what that statement buffers to 1 MiB. Larger bodies take the transactional path.
 */
export const SINGLE_QUERY_CHUNKS = 4;

/** Larger than any body: the stream takes the first chunks of every body, however large. */
const ANY_SIZE = "9223372036854775807";

interface HeadWithChunkRow {
  size: string;
  chunks: string;
  seq: number | null;
  bytes: Buffer | null;
}

interface HeadWithFirstChunks {
  size: number;
  /** How many chunks the body has in all. */
  chunks: number;
  /** Chunks 0, 1, … in order, as many as were asked for and exist; empty when the body was too large. */
  first: Buffer[];
}

/**
 * The complete blob's head and its chunks with seq < SINGLE_QUERY_CHUNKS, when its size is at most
 * maxSize, in one statement. The LEFT JOIN keeps the head row for a body with no chunks (empty) or too
 * large a size. A chunk missing among the first ends `first` there; callers notice by counting.
 */
async function readHeadWithFirstChunks(
  pool: pg.Pool,
  id: string,
  maxSize: string,
): Promise<HeadWithFirstChunks> {
  const result = await pool.query<HeadWithChunkRow>({
    name: "mailroom-blob-head-first-chunks",
    text: `SELECT b.size, (SELECT count(*) FROM blob_chunks n WHERE n.blob_id = b.id) AS chunks, c.seq, c.bytes
             FROM blobs b
             LEFT JOIN blob_chunks c ON c.blob_id = b.id AND c.seq < $2 AND b.size <= $3
            WHERE b.id = $1 AND b.complete
            ORDER BY c.seq`,
    values: [id, SINGLE_QUERY_CHUNKS, maxSize],
  });
  const head = result.rows[0];
  if (!head) throw new StoreError("not-found", `no message body with id ${id}`);
  const first: Buffer[] = [];
  for (const row of result.rows) {
    if (row.seq !== first.length || row.bytes === null) break;
    first.push(row.bytes);
  }
  return { size: Number(head.size), chunks: Number(head.chunks), first };
}

interface BlobHead {
  size: string;
  complete: boolean;
  chunks: string;
}

async function readHead(pool: pg.Pool | pg.PoolClient, id: string): Promise<{ chunks: number }> {
  const result = await pool.query<BlobHead>(
    "SELECT size, complete, (SELECT count(*) FROM blob_chunks WHERE blob_id = $1) AS chunks FROM blobs WHERE id = $1",
    [id],
  );
  const head = result.rows[0];
  if (!head?.complete) throw new StoreError("not-found", `no message body with id ${id}`);
  return { chunks: Number(head.chunks) };
}

export function readBlobStream(pool: pg.Pool, server: ServerAddress, id: string): Readable {
  async function* chunks(): AsyncGenerator<Buffer> {
    try {
      const { chunks: count, first } = await readHeadWithFirstChunks(pool, id, ANY_SIZE);
      yield* first;
      for (let seq = first.length; seq < count; seq++) {
        const result = await pool.query<{ bytes: Buffer }>(
          "SELECT bytes FROM blob_chunks WHERE blob_id = $1 AND seq = $2",
          [id, seq],
        );
        const row = result.rows[0];
        if (!row) throw new StoreError("not-found", `message body ${id} was deleted while being read`);
        yield row.bytes;
      }
    } catch (error) {
      throw toStoreError(error, server);
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}

export async function readBlobBytes(pool: pg.Pool, server: ServerAddress, id: string): Promise<Buffer> {
  try {
    const head = await readHeadWithFirstChunks(pool, id, String(SINGLE_QUERY_CHUNKS * CHUNK_BYTES));
    if (head.first.length === head.chunks) {
      const bytes = Buffer.concat(head.first);
      // Complete and consistent in one snapshot. A size that disagrees means damaged rows, which the
      // transactional path returns as they are, as it always has.
      if (bytes.length === head.size) return bytes;
    }
    return await readBlobBytesInTransaction(pool, id);
  } catch (error) {
    throw toStoreError(error, server);
  }
}

async function readBlobBytesInTransaction(pool: pg.Pool, id: string): Promise<Buffer> {
  const client = await pool.connect();
  try {
    // One snapshot for the head and the chunks, so a concurrent delete cannot leave a gap.
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    await readHead(client, id);
    const result = await client.query<{ bytes: Buffer }>(
      "SELECT bytes FROM blob_chunks WHERE blob_id = $1 ORDER BY seq",
      [id],
    );
    await client.query("COMMIT");
    client.release();
    return Buffer.concat(result.rows.map((row) => row.bytes));
  } catch (error) {
    await client.query("ROLLBACK").then(
      () => client.release(),
      (rollbackError: Error) => client.release(rollbackError),
    );
    throw error;
  }
}

/** The BlobStore part of the PostgreSQL store, on the writer and readers above. */
export class PostgresBlobs implements BlobStore {
  constructor(private readonly database: PostgresDatabase) {}

  async createBlobWriter(options?: { id?: string }): Promise<BlobWriter> {
    const id = options?.id;
    if (id !== undefined) await this.database.tx(({ client }) => claimBlobId(client, id));
    return new PostgresBlobWriter(this.database.pool, this.database.server, id);
  }

  readBlob(messageId: string): Readable {
    return readBlobStream(this.database.pool, this.database.server, messageId);
  }

  // The size is not needed: the head row read with the first chunks has it.
  readBlobBytes(messageId: string, _size?: number): Promise<Buffer> {
    return readBlobBytes(this.database.pool, this.database.server, messageId);
  }

  async readHeaderBlocks(messageIds: readonly string[]): Promise<Map<string, Buffer>> {
    if (!Array.isArray(messageIds) || messageIds.some((id) => typeof id !== "string")) {
      throw new StoreError("invalid", "readHeaderBlocks needs a list of message ids (strings)");
    }
    const found = new Map<string, Buffer>();
    if (messageIds.length === 0) return found;
    const rows = await this.database.read<{ id: string; header: Buffer }>(
      "SELECT id, header FROM blobs WHERE id = ANY($1::text[]) AND complete AND header IS NOT NULL",
      [[...new Set(messageIds)]],
    );
    for (const row of rows) found.set(row.id, row.header);
    return found;
  }

  async saveHeaderBlocks(blocks: ReadonlyMap<string, Buffer>): Promise<void> {
    const entries = headerBlockEntries(blocks);
    if (entries.length === 0) return;
    await this.database.tx(async ({ client }) => {
      const ids = entries.map(([id]) => id);
      const sizes = await client.query<{ id: string; size: string }>(
        "SELECT id, size FROM blobs WHERE id = ANY($1::text[]) AND complete",
        [ids],
      );
      const known = new Map(sizes.rows.map((row) => [row.id, Number(row.size)]));
      const kept = entries.filter(([id]) => known.has(id));
      for (const [id, block] of kept) {
        if (!isHeaderBlockFor(block, known.get(id) as number)) throw notAHeaderBlock(id);
      }
      if (kept.length === 0) return;
      await client.query(
        `UPDATE blobs SET header = given.header
           FROM unnest($1::text[], $2::bytea[]) AS given(id, header)
          WHERE blobs.id = given.id AND blobs.header IS NULL`,
        [kept.map(([id]) => id), kept.map(([, block]) => block)],
      );
    });
  }

  async readStructures(messageIds: readonly string[]): Promise<Map<string, Buffer>> {
    if (!Array.isArray(messageIds) || messageIds.some((id) => typeof id !== "string")) {
      throw new StoreError("invalid", "readStructures needs a list of message ids (strings)");
    }
    const found = new Map<string, Buffer>();
    if (messageIds.length === 0) return found;
    const rows = await this.database.read<{ id: string; structure: Buffer }>(
      "SELECT id, structure FROM blobs WHERE id = ANY($1::text[]) AND complete AND structure IS NOT NULL",
      [[...new Set(messageIds)]],
    );
    for (const row of rows) found.set(row.id, row.structure);
    return found;
  }

  async saveStructures(structures: ReadonlyMap<string, Buffer>): Promise<void> {
    const entries = structureEntries(structures);
    if (entries.length === 0) return;
    await this.database.tx(async ({ client }) => {
      await client.query(
        `UPDATE blobs SET structure = given.structure
           FROM unnest($1::text[], $2::bytea[]) AS given(id, structure)
          WHERE blobs.id = given.id AND blobs.complete AND blobs.structure IS NULL`,
        [entries.map(([id]) => id), entries.map(([, structure]) => structure)],
      );
    });
  }

  async readSortInputs(messageIds: readonly string[]): Promise<Map<string, string>> {
    if (!Array.isArray(messageIds) || messageIds.some((id) => typeof id !== "string")) {
      throw new StoreError("invalid", "readSortInputs needs a list of message ids (strings)");
    }
    const found = new Map<string, string>();
    if (messageIds.length === 0) return found;
    const rows = await this.database.read<{ id: string; sort_inputs: string }>(
      "SELECT id, sort_inputs FROM blobs WHERE id = ANY($1::text[]) AND complete AND sort_inputs IS NOT NULL",
      [[...new Set(messageIds)]],
    );
    for (const row of rows) found.set(row.id, row.sort_inputs);
    return found;
  }

  async saveSortInputs(inputs: ReadonlyMap<string, string>): Promise<void> {
    const entries = sortInputEntries(inputs);
    if (entries.length === 0) return;
    await this.database.tx(async ({ client }) => {
      await client.query(
        `UPDATE blobs SET sort_inputs = given.sort_inputs
           FROM unnest($1::text[], $2::text[]) AS given(id, sort_inputs)
          WHERE blobs.id = given.id AND blobs.complete AND blobs.sort_inputs IS NULL`,
        [entries.map(([id]) => id), entries.map(([, encoded]) => encoded)],
      );
    });
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
    if (typeof blobId !== "string" || !isStoreId(blobId)) {
      throw new StoreError("not-found", `no finished body ${String(blobId)}`);
    }
    return this.database.tx(async (tx) => {
      const expired = await tx.client.query<{ blob_id: string }>(
        "DELETE FROM uploads WHERE expires_at <= now() RETURNING blob_id",
      );
      const rows = await tx.client.query<{ size: string }>(
        `INSERT INTO uploads (blob_id, user_id, type, size, expires_at)
           SELECT b.id, u.id, $3, b.size, $4 FROM blobs b, users u
            WHERE b.id = $1 AND b.complete AND u.id = $2
           ON CONFLICT (user_id, blob_id) DO UPDATE SET type = excluded.type, expires_at = excluded.expires_at
           RETURNING size`,
        [blobId, userId, type, expiresAt],
      );
      const row = rows.rows[0];
      if (row === undefined) {
        throw new StoreError("not-found", `no user with id ${userId}, or no finished body ${blobId}`);
      }
      await dropUnreferencedBlobs(
        tx,
        expired.rows.map((expiredRow) => expiredRow.blob_id),
      );
      return { blobId, userId, type, size: Number(row.size), expiresAt: new Date(expiresAt.getTime()) };
    });
  }

  async uploadUsage(userId: number, now: Date): Promise<{ count: number; bytes: number }> {
    const rows = await this.database.read<{ count: string; bytes: string | null }>(
      "SELECT count(*) AS count, sum(size) AS bytes FROM uploads WHERE user_id = $1 AND expires_at > $2",
      [userId, now],
    );
    return { count: Number(rows[0]?.count ?? 0), bytes: Number(rows[0]?.bytes ?? 0) };
  }

  async findReadableBlob(userId: number, blobId: string, now: Date): Promise<ReadableBlob | null> {
    if (typeof blobId !== "string" || !isStoreId(blobId)) return null;
    const rows = await this.database.read<{ size: string; type: string | null }>(
      `SELECT b.size, NULL AS type FROM blobs b
        WHERE b.id = $1 AND b.complete AND EXISTS (
          SELECT 1 FROM messages m JOIN mailboxes x ON x.id = m.mailbox_id
           WHERE m.message_id = b.id AND x.user_id = $2)
       UNION ALL
       SELECT u.size, u.type FROM uploads u WHERE u.blob_id = $1 AND u.user_id = $2 AND u.expires_at > $3
       LIMIT 1`,
      [blobId, userId, now],
    );
    const row = rows[0];
    return row ? { blobId, size: Number(row.size), type: row.type } : null;
  }
}
