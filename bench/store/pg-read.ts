// Times whole-body reads on the PostgreSQL store (what IMAP FETCH BODY[] and POP3 RETR do per message):
// `count` bodies of `size` octets, each read once per pass with readBlobBytes and with readBlob (the
// stream), one at a time (latency: median µs per read) and 8 at a time (µs per read over the pass).
// Round trips dominate a small read, so the figure mostly counts them. Uses a throwaway cluster from
// test/support/postgres.ts (or MAILROOM_TEST_POSTGRES_URL). Not a test: figures depend on the machine.
// Run: node --import tsx bench/store/pg-read.ts [count] [size]

import { performance } from "node:perf_hooks";
import type { Readable } from "node:stream";
import pino from "pino";
import { openPostgresStore } from "../../src/store/postgres/index.js";
import { POSTGRES_SKIP_REASON, startTestPostgres } from "../../test/support/postgres.js";
import { median } from "../lib/stats.js";

const COUNT = Number(process.argv[2] ?? 2_000);
const SIZE = Number(process.argv[3] ?? 11 * 1024);
const PASSES = 3;
const CONCURRENCY = 8;
const WRITE_CONCURRENCY = 16;

async function drain(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

async function main(): Promise<void> {
  const database = await startTestPostgres();
  if (database === null) throw new Error(POSTGRES_SKIP_REASON);
  const store = await openPostgresStore({ url: database.url, logger: pino({ level: "silent" }) });
  try {
    const body = Buffer.alloc(SIZE, "body line\r\n");
    const ids: string[] = [];
    for (let next = 0; next < COUNT; ) {
      const batch = Math.min(WRITE_CONCURRENCY, COUNT - next);
      next += batch;
      const refs = await Promise.all(
        Array.from({ length: batch }, async () => {
          const writer = await store.blobs.createBlobWriter();
          await writer.write(body);
          return writer.finish();
        }),
      );
      ids.push(...refs.map((ref) => ref.id));
    }
    const readers: Array<[string, (id: string) => Promise<Buffer>]> = [
      ["readBlobBytes", (id) => store.blobs.readBlobBytes(id)],
      ["readBlob (stream)", (id) => drain(store.blobs.readBlob(id))],
    ];
    console.log(`PostgreSQL: ${COUNT} bodies of ${SIZE} octets; ${PASSES} passes each; medians`);
    for (const [label, read] of readers) {
      const latencies: number[] = [];
      const passes: number[] = [];
      for (let pass = 0; pass < PASSES; pass++) {
        for (const id of ids) {
          const start = performance.now();
          const bytes = await read(id);
          latencies.push((performance.now() - start) * 1000);
          if (bytes.length !== SIZE) throw new Error(`${label}: read ${bytes.length} octets, not ${SIZE}`);
        }
        let next = 0;
        const start = performance.now();
        await Promise.all(
          Array.from({ length: CONCURRENCY }, async () => {
            while (next < ids.length) await read(ids[next++] as string);
          }),
        );
        passes.push(((performance.now() - start) * 1000) / ids.length);
      }
      console.log(
        `${label.padEnd(20)} one at a time ${median(latencies).toFixed(1).padStart(7)} µs/read` +
          `   ${CONCURRENCY} at a time ${median(passes).toFixed(1).padStart(7)} µs/read`,
      );
    }
  } finally {
    await store.close();
    await database.stop();
  }
}

await main();
