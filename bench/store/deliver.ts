// Times store.messages.deliver() as the SMTP server uses it: many deliveries in flight at once, so the
// SQLite backend commits them in groups (one transaction and WAL fsync per group). Two figures:
//   full      body written (BlobWriter, fsync, rename) and delivered: deliveries per second;
//   deliver   bodies written beforehand, only deliver() timed: µs per delivery, mostly statement work.
// Messages carry Message-ID, and most of them In-Reply-To/References to an earlier one, so threading
// (where the store has it) does its lookups. Prints one JSON line. Not a test: figures depend on the
// machine. Run: node --import tsx bench/store/deliver.ts [sqlite|postgres] [count]

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import pino from "pino";
import { openPostgresStore } from "../../src/store/postgres/index.js";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import type { BlobRef, Store } from "../../src/store/types.js";
import { startTestPostgres } from "../../test/support/postgres.js";

const BACKEND = process.argv[2] ?? "sqlite";
const COUNT = Number(process.argv[3] ?? (BACKEND === "sqlite" ? 8000 : 2000));
const USERS = 10;
/** About what a busy SMTP listener has in flight; enough to fill SQLite's groups. */
const IN_FLIGHT = 128;

function message(n: number): Buffer {
  const parent = n - USERS;
  const replyHeaders =
    n % 4 !== 0 && parent >= 0
      ? `In-Reply-To: <${parent}@bench.example>\r\nReferences: <${parent - USERS}@bench.example> <${parent}@bench.example>\r\n`
      : "";
  return Buffer.from(
    `Received: from client.example by mx.bench.example; Mon, 2 Jan 2023 03:04:05 +0000\r\n` +
      `From: Sender ${n} <s${n}@example.net>\r\nTo: user${n % USERS}@bench.example\r\n` +
      `Subject: message number ${n}\r\nDate: Mon, 2 Jan 2023 03:04:05 +0000\r\n` +
      `Message-ID: <${n}@bench.example>\r\n${replyHeaders}\r\n${"body line of some length\r\n".repeat(40)}`,
  );
}

async function writeBody(store: Store, n: number): Promise<BlobRef> {
  const writer = await store.blobs.createBlobWriter();
  await writer.write(message(n));
  return writer.finish();
}

async function inFlight(count: number, work: (n: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await work(next++);
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
}

async function open(): Promise<{ store: Store; cleanup(): Promise<void> }> {
  const logger = pino({ level: "silent" });
  if (BACKEND === "sqlite") {
    const dataDir = await mkdtemp(join(tmpdir(), "mailroom-bench-deliver-"));
    const store = await openSqliteStore({ dataDir, logger });
    return { store, cleanup: () => rm(dataDir, { recursive: true, force: true }) };
  }
  const database = await startTestPostgres();
  if (database === null) throw new Error("no PostgreSQL server binaries; see test/support/postgres.ts");
  const store = await openPostgresStore({ url: database.url, logger });
  return { store, cleanup: () => database.stop() };
}

const { store, cleanup } = await open();
try {
  await store.directory.addDomain("bench.example");
  const inboxes: number[] = [];
  for (let u = 0; u < USERS; u++) {
    const user = await store.directory.addUser(`user${u}@bench.example`, {
      passwordHash: "h",
      scramSha256: "s",
    });
    inboxes.push((await store.mailboxes.getMailbox(user.id, "INBOX"))!.id);
  }
  const deliver = (n: number, blob: BlobRef) =>
    store.messages.deliver({
      blob,
      sender: "s@example.net",
      internalDate: new Date(),
      mailboxes: [{ mailboxId: inboxes[n % USERS]! }],
      queue: [],
    });

  const fullStart = performance.now();
  await inFlight(COUNT, async (n) => {
    await deliver(n, await writeBody(store, n));
  });
  const fullMs = performance.now() - fullStart;

  const blobs: BlobRef[] = [];
  await inFlight(COUNT, async (n) => {
    blobs[n] = await writeBody(store, COUNT + n);
  });
  const deliverStart = performance.now();
  await inFlight(COUNT, async (n) => {
    await deliver(COUNT + n, blobs[n]!);
  });
  const deliverMs = performance.now() - deliverStart;

  console.log(
    JSON.stringify({
      backend: BACKEND,
      count: COUNT,
      fullPerSecond: Math.round(COUNT / (fullMs / 1000)),
      deliverMicrosEach: Number(((deliverMs * 1000) / COUNT).toFixed(1)),
    }),
  );
} finally {
  await store.close();
  await cleanup();
}
