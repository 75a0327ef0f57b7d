// Several mailroom nodes sharing one PostgreSQL database, modelled as several store instances (and,
// for the maildrop lock, a separate process) on one fresh database per test.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import pg from "pg";
import pino from "pino";
import { CHUNK_BYTES } from "../../src/store/postgres/blobs.js";
import { openPostgresStore } from "../../src/store/postgres/index.js";
import { SCHEMA_VERSION } from "../../src/store/postgres/schema.js";
import { type MailboxEvent, type Store, StoreError } from "../../src/store/types.js";
import { POSTGRES_SKIP_REASON, startTestPostgres, type TestPostgres } from "../support/postgres.js";

const logger = pino({ level: "silent" });
const CREDENTIALS = { passwordHash: "h", scramSha256: "s" };
const available = await startTestPostgres();
await available?.stop();

function open(url: string): Promise<Store> {
  return openPostgresStore({ url, logger });
}

async function body(store: Store, text: string | Buffer) {
  const writer = await store.blobs.createBlobWriter();
  await writer.write(typeof text === "string" ? Buffer.from(text) : text);
  return writer.finish();
}

/** Resolves with the first event the predicate accepts; rejects if none comes within 10 s. */
function nextEvent(store: Store, accept: (event: MailboxEvent) => boolean): Promise<MailboxEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error("no matching event arrived within 10 s"));
    }, 10_000);
    const stop = store.events.subscribe((event) => {
      if (!accept(event)) return;
      clearTimeout(timer);
      stop();
      resolve(event);
    });
  });
}

describe("PostgreSQL store shared by several nodes", {
  skip: available === null && POSTGRES_SKIP_REASON,
}, () => {
  let database: TestPostgres;
  let nodeA: Store;
  let nodeB: Store;
  let userId: number;
  let inboxId: number;

  before(async () => {
    const started = await startTestPostgres();
    assert.ok(started);
    database = started;
    [nodeA, nodeB] = await Promise.all([open(database.url), open(database.url)]);
    await nodeA.directory.addDomain("nodes.example");
    const user = await nodeA.directory.addUser("ann@nodes.example", CREDENTIALS);
    userId = user.id;
    const inbox = await nodeB.mailboxes.getMailbox(user.id, "INBOX");
    assert.ok(inbox);
    inboxId = inbox.id;
  });
  after(async () => {
    await Promise.all([nodeA.close(), nodeB.close()]);
    await database.stop();
  });

  test("a delivery through A is listed through B, whose subscriber hears it via NOTIFY", async () => {
    const blob = await body(nodeA, "Subject: cross-node\r\n\r\nhi\r\n");
    const heard = nextEvent(nodeB, (event) => event.kind === "exists" && event.mailboxId === inboxId);
    const ownEvents: MailboxEvent[] = [];
    const stopOwn = nodeA.events.subscribe((event) => ownEvents.push(event));
    const result = await nodeA.messages.deliver({
      blob,
      sender: "x@remote.example",
      internalDate: new Date(),
      mailboxes: [{ mailboxId: inboxId }],
      queue: [],
    });
    stopOwn();
    const uid = result.uids[0]?.uid;
    const event = await heard;
    assert.ok(event.kind === "exists");
    assert.deepEqual(event.uids, [uid]);
    assert.equal(event.userId, userId);
    // The writing node hears its own event exactly once, before deliver() resolves.
    assert.equal(ownEvents.filter((e) => e.kind === "exists" && e.mailboxId === inboxId).length, 1);
    const listed = await nodeB.messages.listMessages(inboxId);
    assert.ok(listed.some((m) => m.uid === uid && m.messageId === blob.id));
    assert.equal((await nodeB.blobs.readBlobBytes(blob.id)).toString(), "Subject: cross-node\r\n\r\nhi\r\n");
  });

  test("concurrent deliveries from both nodes get distinct, increasing UIDs", async () => {
    const box = await nodeA.mailboxes.createMailbox(userId, "Concurrent");
    const deliverFrom = async (store: Store, n: number) => {
      const blob = await body(store, `Subject: ${n}\r\n\r\n`);
      const result = await store.messages.deliver({
        blob,
        sender: "",
        internalDate: new Date(),
        mailboxes: [{ mailboxId: box.id }],
        queue: [],
      });
      return result.uids[0]?.uid as number;
    };
    const perNode = async (store: Store, base: number) => {
      const uids: number[] = [];
      for (let i = 0; i < 15; i++) uids.push(await deliverFrom(store, base + i));
      return uids;
    };
    const [fromA, fromB] = await Promise.all([perNode(nodeA, 0), perNode(nodeB, 100)]);
    for (const uids of [fromA, fromB]) {
      assert.deepEqual(
        uids,
        [...uids].sort((x, y) => x - y),
        "each node's successive deliveries get increasing UIDs",
      );
    }
    const all = [...fromA, ...fromB].sort((x, y) => x - y);
    assert.deepEqual(
      all,
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
    assert.equal((await nodeB.mailboxes.mailboxStatus(box.id)).uidNext, 31);
  });

  test("queue claims from both nodes at once never return an entry twice", async () => {
    const blob = await body(nodeA, "Subject: queued\r\n\r\n");
    const queued = await nodeA.messages.deliver({
      blob,
      sender: "ann@nodes.example",
      internalDate: new Date(),
      mailboxes: [],
      queue: Array.from({ length: 40 }, (_, i) => ({ recipient: `r${i}@remote.example` })),
    });
    const now = new Date(Date.now() + 1000);
    const claimAll = async (store: Store) => {
      const ids: string[] = [];
      for (;;) {
        const batch = await store.queue.claim(now, 3, 60_000);
        if (batch.length === 0) return ids;
        ids.push(...batch.map((entry) => entry.id));
      }
    };
    const perClaimer = await Promise.all([
      claimAll(nodeA),
      claimAll(nodeB),
      claimAll(nodeA),
      claimAll(nodeB),
    ]);
    const claimed = perClaimer.flat();
    assert.equal(new Set(claimed).size, claimed.length, "no entry was claimed twice");
    assert.deepEqual(claimed.sort(), [...queued.queueIds].sort(), "every entry was claimed");
    const entries = (await nodeB.queue.list()).filter((entry) => queued.queueIds.includes(entry.id));
    assert.ok(entries.every((entry) => entry.state === "delivering" && entry.attempts === 1));
    for (const id of queued.queueIds) await nodeB.queue.complete(id);
  });

  test("bodies are stored and streamed in chunks, and outlive an abort while referenced", async () => {
    const bytes = Buffer.alloc(CHUNK_BYTES * 2 + 1000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) % 251;
    const writer = await nodeA.blobs.createBlobWriter();
    for (let offset = 0; offset < bytes.length; offset += 100_000) {
      await writer.write(bytes.subarray(offset, offset + 100_000));
    }
    const blob = await writer.finish();
    const pieces: Buffer[] = [];
    for await (const piece of nodeB.blobs.readBlob(blob.id)) pieces.push(piece as Buffer);
    assert.deepEqual(
      pieces.map((piece) => piece.length),
      [CHUNK_BYTES, CHUNK_BYTES, 1000],
    );
    assert.deepEqual(Buffer.concat(pieces), bytes);
    await nodeA.messages.append(inboxId, blob, [], new Date());
    await writer.abort();
    assert.equal((await nodeB.blobs.readBlobBytes(blob.id)).length, bytes.length);
  });

  test("a maildrop lock dies with the process holding it (SIGKILL)", async () => {
    const fixture = fileURLToPath(new URL("fixtures/hold-maildrop.ts", import.meta.url));
    const child = spawn(process.execPath, ["--import", "tsx", fixture, database.url, String(userId)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      child.stdout.setEncoding("utf8");
      const [line] = (await once(child.stdout, "data")) as [string];
      assert.equal(line.trim(), "locked");
      assert.equal(await nodeA.locks.lockMaildrop(userId), null, "held by the child");
    } finally {
      child.kill("SIGKILL");
    }
    await once(child, "exit");
    // The server notices the closed connection and drops its locks; give it a moment to do so.
    let lock = await nodeA.locks.lockMaildrop(userId);
    for (let tries = 0; lock === null && tries < 100; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      lock = await nodeA.locks.lockMaildrop(userId);
    }
    assert.ok(lock, "the lock is free again after its holder was killed");
    assert.equal(await nodeB.locks.lockMaildrop(userId), null);
    await lock.release();
  });

  test("the event listener reconnects after its connection is killed", async () => {
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      const killed = await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'mailroom-events' AND datname = current_database()",
      );
      assert.equal(killed.rows.length, 2, "both nodes' listeners were found");
    } finally {
      await admin.end();
    }
    const heard = nextEvent(nodeB, (event) => event.kind === "mailboxes" && event.userId === userId);
    // Keep changing something until B hears it: its listener comes back after a short backoff.
    let attempt = 0;
    let done = false;
    heard.then(
      () => {
        done = true;
      },
      () => {
        done = true;
      },
    );
    while (!done && attempt < 50) {
      await nodeA.mailboxes.createMailbox(userId, `Reconnect${attempt++}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const event = await heard;
    assert.equal(event.kind, "mailboxes");
  });
});

describe("PostgreSQL store: opening", { skip: available === null && POSTGRES_SKIP_REASON }, () => {
  test("two nodes migrating a fresh database at once both succeed", async () => {
    const database = await startTestPostgres();
    assert.ok(database);
    try {
      const stores = await Promise.all([open(database.url), open(database.url), open(database.url)]);
      await stores[0]?.directory.addDomain("migrated.example");
      assert.equal((await stores[2]?.directory.getDomain("migrated.example"))?.name, "migrated.example");
      await Promise.all(stores.map((store) => store.close()));
      const admin = new pg.Client({ connectionString: database.url });
      await admin.connect();
      const versions = await admin.query("SELECT version FROM mailroom_schema ORDER BY version");
      await admin.end();
      assert.deepEqual(
        versions.rows.map((row) => row.version),
        Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1),
      );
    } finally {
      await database.stop();
    }
  });

  test("a database set up by a newer mailroom is refused, untouched", async () => {
    const database = await startTestPostgres();
    assert.ok(database);
    try {
      await (await open(database.url)).close();
      const admin = new pg.Client({ connectionString: database.url });
      await admin.connect();
      await admin.query("INSERT INTO mailroom_schema (version) VALUES ($1)", [SCHEMA_VERSION + 1]);
      await assert.rejects(open(database.url), (error: unknown) => {
        assert.ok(error instanceof StoreError);
        assert.equal(error.code, "invalid");
        assert.match(error.message, /newer mailroom.*upgrade mailroom/);
        return true;
      });
      const versions = await admin.query("SELECT max(version) AS v FROM mailroom_schema");
      await admin.end();
      assert.equal(versions.rows[0].v, SCHEMA_VERSION + 1);
    } finally {
      await database.stop();
    }
  });

  test("an unreachable server is reported as unavailable, naming host and port", async () => {
    await assert.rejects(open("postgres://nobody@127.0.0.1:1/none"), (error: unknown) => {
      assert.ok(error instanceof StoreError);
      assert.equal(error.code, "unavailable");
      assert.match(error.message, /cannot reach PostgreSQL at 127\.0\.0\.1:1: .*check store in the config/);
      return true;
    });
  });
});
