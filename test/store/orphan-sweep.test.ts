import assert from "node:assert/strict";
import { mkdir, readFile, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import pino from "pino";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import { ORPHAN_BODY_GRACE_MS, SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { Store } from "../../src/store/types.js";
import { CREDENTIALS, silentLogger, withTempDir } from "./helpers.js";

const DAY_MS = 24 * 60 * 60 * 1000;

function bodyPath(dataDir: string, id: string): string {
  return join(dataDir, "messages", id.slice(-2), id);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}

async function finishedBody(store: Store, text: string) {
  const writer = await store.blobs.createBlobWriter();
  await writer.write(Buffer.from(text));
  return writer.finish();
}

async function inboxOf(store: Store, address: string): Promise<number> {
  const user = await store.directory.addUser(address, CREDENTIALS);
  const inbox = await store.mailboxes.getMailbox(user.id, "INBOX");
  assert.ok(inbox);
  return inbox.id;
}

async function deliverText(store: Store, mailboxId: number, text: string) {
  const blob = await finishedBody(store, text);
  const result = await store.messages.deliver({
    blob,
    sender: "",
    internalDate: new Date(),
    mailboxes: [{ mailboxId }],
    queue: [],
  });
  return { blob, result };
}

function asSqlite(store: Store): SqliteStore {
  assert.ok(store instanceof SqliteStore);
  return store;
}

test("open sweeps old unreferenced bodies in the background and keeps young and referenced ones", async () => {
  await withTempDir(async (dataDir) => {
    const first = await openSqliteStore({ dataDir, logger: silentLogger });
    await first.directory.addDomain("sweep.example");
    const inbox = await inboxOf(first, "a@sweep.example");
    const { blob: kept } = await deliverText(first, inbox, "Subject: kept\r\n\r\nreferenced\r\n");
    // Finished but never delivered: what a crash between finish() and deliver() leaves.
    const oldOrphan = await finishedBody(first, "Subject: lost\r\n\r\nnobody delivered me\r\n");
    const youngOrphan = await finishedBody(first, "Subject: fresh\r\n\r\nmaybe still in flight\r\n");
    await first.close();

    const twoDaysAgo = new Date(Date.now() - 2 * DAY_MS);
    await utimes(bodyPath(dataDir, oldOrphan.id), twoDaysAgo, twoDaysAgo);
    await utimes(bodyPath(dataDir, kept.id), twoDaysAgo, twoDaysAgo);
    // Files in messages/ that are not bodies are not the sweep's to judge.
    const stranger = join(dataDir, "messages", "zz", "README");
    await mkdir(join(dataDir, "messages", "zz"), { recursive: true });
    await writeFile(stranger, "not a body");
    await utimes(stranger, twoDaysAgo, twoDaysAgo);

    const logged: Array<Record<string, unknown>> = [];
    const logger = pino({ level: "info" }, { write: (line: string) => logged.push(JSON.parse(line)) });
    const store = asSqlite(await openSqliteStore({ dataDir, logger }));
    try {
      // Sweeps run one after another: this one starts when the sweep begun at open has ended.
      assert.deepEqual(await store.sweepOrphanBodies(), { files: 0, bytes: 0 });
      assert.equal(await exists(bodyPath(dataDir, oldOrphan.id)), false);
      assert.equal(await exists(bodyPath(dataDir, youngOrphan.id)), true);
      assert.equal(await exists(stranger), true);
      assert.equal((await store.blobs.readBlobBytes(kept.id)).length, kept.size);

      const summaries = logged.filter((line) => line.msg === "removed orphaned message bodies");
      assert.equal(summaries.length, 1);
      assert.equal(summaries[0]?.files, 1);
      assert.equal(summaries[0]?.bytes, oldOrphan.size);
    } finally {
      await store.close();
    }
  });
});

test("a body whose unlink after the last expunge was lost is swept once past the grace period", async () => {
  await withTempDir(async (dataDir) => {
    const store = asSqlite(await openSqliteStore({ dataDir, logger: silentLogger }));
    try {
      await store.directory.addDomain("sweep.example");
      const inbox = await inboxOf(store, "b@sweep.example");
      const { blob, result } = await deliverText(store, inbox, "Subject: gone\r\n\r\nexpunge me\r\n");
      const path = bodyPath(dataDir, blob.id);
      const bytes = await readFile(path);
      const uid = result.uids[0]?.uid;
      assert.ok(uid !== undefined);
      assert.deepEqual(await store.messages.expunge(inbox, [uid]), [uid]);
      assert.equal(await exists(path), false, "the expunge removed the body it no longer references");

      // Put the file back as a crash before the unlink reached the disk would have left it.
      await writeFile(path, bytes);
      assert.deepEqual(await store.sweepOrphanBodies(), { files: 0, bytes: 0 });
      assert.equal(await exists(path), true, "a file younger than the grace period is kept");

      const later = Date.now() + ORPHAN_BODY_GRACE_MS + 60_000;
      assert.deepEqual(await store.sweepOrphanBodies({ now: later }), { files: 1, bytes: bytes.length });
      assert.equal(await exists(path), false);
    } finally {
      await store.close();
    }
  });
});

test("past the grace period an undelivered body goes and a delivered one stays", async () => {
  await withTempDir(async (dataDir) => {
    const store = asSqlite(await openSqliteStore({ dataDir, logger: silentLogger }));
    try {
      await store.directory.addDomain("sweep.example");
      const inbox = await inboxOf(store, "c@sweep.example");
      const { blob: delivered } = await deliverText(store, inbox, "Subject: stays\r\n\r\nhello\r\n");
      // A delivery that failed without aborting its writer leaves a finished body behind.
      const failed = await finishedBody(store, "Subject: failed\r\n\r\nno mailbox took me\r\n");
      await assert.rejects(
        store.messages.deliver({
          blob: failed,
          sender: "",
          internalDate: new Date(),
          mailboxes: [{ mailboxId: inbox + 1000 }],
          queue: [],
        }),
      );
      assert.equal(await exists(bodyPath(dataDir, failed.id)), true);

      assert.deepEqual(await store.sweepOrphanBodies({ graceMs: 0, now: Date.now() + 1000 }), {
        files: 1,
        bytes: failed.size,
      });
      assert.equal(await exists(bodyPath(dataDir, failed.id)), false);
      assert.equal((await store.blobs.readBlobBytes(delivered.id)).length, delivered.size);
      assert.equal((await store.messages.listMessages(inbox)).length, 1);
    } finally {
      await store.close();
    }
  });
});

test("a closed store sweeps nothing and keeps every file", async () => {
  await withTempDir(async (dataDir) => {
    const store = asSqlite(await openSqliteStore({ dataDir, logger: silentLogger }));
    const orphan = await finishedBody(store, "Subject: late\r\n\r\nx\r\n");
    await store.close();
    assert.deepEqual(await store.sweepOrphanBodies({ graceMs: 0, now: Date.now() + DAY_MS }), {
      files: 0,
      bytes: 0,
    });
    assert.equal(await exists(bodyPath(dataDir, orphan.id)), true);
  });
});
