import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import pino from "pino";
import {
  CHUNK_BYTES,
  readBlobBytes,
  readBlobStream,
  SINGLE_QUERY_CHUNKS,
} from "../../src/store/postgres/blobs.js";
import { describeServer } from "../../src/store/postgres/errors.js";
import { openPostgresStore } from "../../src/store/postgres/index.js";
import { type Store, StoreError } from "../../src/store/types.js";
import { POSTGRES_SKIP_REASON, startTestPostgres, type TestPostgres } from "../support/postgres.js";

async function drain(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

function isNotFound(error: unknown): boolean {
  return error instanceof StoreError && error.code === "not-found";
}

/**
 * A pool that counts the statements run on it directly and the clients checked out of it (what a
 * transaction needs). pool.query checks a client out itself, through connect with a callback; only
 * the promise form, the one callers use, counts as a checkout.
 */
function countingPool(url: string): { pool: pg.Pool; statements: () => number; clients: () => number } {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  let statements = 0;
  let clients = 0;
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  const connect = pool.connect.bind(pool) as (...args: unknown[]) => unknown;
  Object.assign(pool, {
    query: (...args: unknown[]) => {
      statements++;
      return query(...args);
    },
    connect: (...args: unknown[]) => {
      if (args.length === 0) clients++;
      return connect(...args);
    },
  });
  return { pool, statements: () => statements, clients: () => clients };
}

const probe = await startTestPostgres();
if (probe === null) {
  test("PostgreSQL body reads", (t) => t.skip(POSTGRES_SKIP_REASON));
} else {
  const database: TestPostgres = probe;
  const server = describeServer(database.url);
  let store: Store;
  let counted: ReturnType<typeof countingPool>;

  async function writeBody(bytes: Buffer, piece = 100_000): Promise<string> {
    const writer = await store.blobs.createBlobWriter();
    for (let offset = 0; offset < bytes.length; offset += piece) {
      await writer.write(bytes.subarray(offset, offset + piece));
    }
    return (await writer.finish()).id;
  }

  describe("PostgreSQL body reads", () => {
    before(async () => {
      store = await openPostgresStore({ url: database.url, logger: pino({ level: "silent" }) });
      counted = countingPool(database.url);
    });
    after(async () => {
      await counted.pool.end();
      await store.close();
      await database.stop();
    });

    test("every size around the single-statement bound reads back byte for byte, both ways", async () => {
      const bound = SINGLE_QUERY_CHUNKS * CHUNK_BYTES;
      const sizes = [
        0,
        1,
        11 * 1024,
        CHUNK_BYTES,
        CHUNK_BYTES + 1,
        bound - 1,
        bound,
        bound + 1,
        bound + CHUNK_BYTES + 7,
      ];
      for (const size of sizes) {
        const bytes = randomBytes(size);
        const id = await writeBody(bytes);
        assert.deepEqual(
          await readBlobBytes(counted.pool, server, id),
          bytes,
          `readBlobBytes, ${size} octets`,
        );
        assert.deepEqual(
          await drain(readBlobStream(counted.pool, server, id)),
          bytes,
          `stream, ${size} octets`,
        );
        assert.deepEqual(
          await store.blobs.readBlobBytes(id),
          bytes,
          `store.blobs.readBlobBytes, ${size} octets`,
        );
      }
    });

    test("a body within the bound costs one statement and no transaction; a larger one falls back", async () => {
      const small = await writeBody(randomBytes(3 * CHUNK_BYTES + 5));
      const large = await writeBody(randomBytes(SINGLE_QUERY_CHUNKS * CHUNK_BYTES + 1));

      const [s0, c0] = [counted.statements(), counted.clients()];
      await readBlobBytes(counted.pool, server, small);
      assert.equal(counted.statements() - s0, 1);
      assert.equal(counted.clients() - c0, 0);

      await drain(readBlobStream(counted.pool, server, small));
      assert.equal(counted.statements() - s0, 2, "the stream of a small body is one statement too");

      const c1 = counted.clients();
      assert.equal(
        (await readBlobBytes(counted.pool, server, large)).length,
        SINGLE_QUERY_CHUNKS * CHUNK_BYTES + 1,
      );
      assert.equal(counted.clients() - c1, 1, "a large body is read in one transaction on one client");

      const s2 = counted.statements();
      await drain(readBlobStream(counted.pool, server, large));
      assert.equal(counted.statements() - s2, 2, "the stream fetches the first chunks with the head");
    });

    test("unknown, aborted and unfinished bodies are not-found, both ways", async () => {
      const aborted = await store.blobs.createBlobWriter();
      await aborted.write(Buffer.from("partial"));
      await aborted.abort();
      // Past one chunk, so a chunk row exists while the blob is still incomplete.
      const unfinished = await store.blobs.createBlobWriter();
      await unfinished.write(randomBytes(CHUNK_BYTES + 10));
      try {
        for (const id of ["does-not-exist", aborted.id, unfinished.id]) {
          await assert.rejects(readBlobBytes(counted.pool, server, id), isNotFound, id);
          await assert.rejects(drain(readBlobStream(counted.pool, server, id)), isNotFound, id);
        }
      } finally {
        await unfinished.abort();
      }
    });

    test("a large body deleted while being streamed ends the stream with not-found", async () => {
      const size = (SINGLE_QUERY_CHUNKS + 2) * CHUNK_BYTES;
      const id = await writeBody(randomBytes(size));
      const stream = readBlobStream(counted.pool, server, id);
      const iterator = stream[Symbol.asyncIterator]();
      const first = await iterator.next();
      assert.equal(first.done, false);
      await counted.pool.query("DELETE FROM blobs WHERE id = $1", [id]);
      await assert.rejects(
        (async () => {
          for (let step = await iterator.next(); !step.done; step = await iterator.next()) {}
        })(),
        (error: unknown) => isNotFound(error) && /deleted while being read/.test((error as Error).message),
      );
    });
  });
}
