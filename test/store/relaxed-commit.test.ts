// The queue's completeMany commits without waiting for an fsync (SqliteDatabase.writeRelaxed): what a
// power loss could undo is only ever a delivered entry coming back, never a row naming a missing body.
// These tests hold the SQLite backend to the order that needs: the freed bodies stay on disk (and the
// orphan sweep leaves them) until a later durable commit or a checkpoint, and an application crash right
// after the commit loses nothing.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import type { Store } from "../../src/store/types.js";
import { FIXTURES, silentLogger, withTempDir } from "./helpers.js";

async function queueOne(store: Store, recipient: string): Promise<{ id: string; messageId: string }> {
  const writer = await store.blobs.createBlobWriter();
  await writer.write(Buffer.from(`Subject: relaxed\r\n\r\nfor ${recipient}\r\n`));
  const blob = await writer.finish();
  const result = await store.messages.deliver({
    blob,
    sender: "s@example.net",
    internalDate: new Date(),
    mailboxes: [],
    queue: [{ recipient }],
  });
  return { id: result.queueIds[0] as string, messageId: result.messageId };
}

async function bodyFiles(dataDir: string): Promise<number> {
  const entries = await readdir(join(dataDir, "messages"), { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).length;
}

const FAR = Date.now() + 365 * 86_400_000;

test("freed bodies stay until a durable commit follows, and the orphan sweep keeps them meanwhile", async () => {
  await withTempDir(async (dataDir) => {
    const store = await openSqliteStore({ dataDir, logger: silentLogger });
    try {
      const done = await queueOne(store, "done@remote.example");
      const other = await queueOne(store, "other@remote.example");
      await store.queue.claim(new Date(Date.now() + 1000), 10, 600_000);
      assert.deepEqual(await store.queue.completeMany([done.id]), [done.id]);
      assert.equal(await store.queue.get(done.id), null);
      assert.equal(await bodyFiles(dataDir), 2, "the freed body waits for durability");
      assert.deepEqual(await store.sweepOrphanBodies({ now: FAR, graceMs: 0 }), { files: 0, bytes: 0 });
      assert.equal(await bodyFiles(dataDir), 2);
      // A durable commit that writes makes the earlier relaxed one durable too.
      await store.queue.defer(other.id, new Date(FAR), "later");
      assert.equal(await bodyFiles(dataDir), 1);
      assert.ok(await store.blobs.readBlobBytes(other.messageId));
    } finally {
      await store.close();
    }
  });
});

test("without another commit the freed bodies go after a checkpoint, within a second or so", async () => {
  await withTempDir(async (dataDir) => {
    const store = await openSqliteStore({ dataDir, logger: silentLogger });
    try {
      const ids = [];
      for (let n = 0; n < 5; n++) ids.push((await queueOne(store, `n${n}@remote.example`)).id);
      await store.queue.claim(new Date(Date.now() + 1000), 10, 600_000);
      assert.equal((await store.queue.completeMany(ids)).length, 5);
      assert.equal(await bodyFiles(dataDir), 5);
      const deadline = Date.now() + 5000;
      while ((await bodyFiles(dataDir)) > 0) {
        assert.ok(Date.now() < deadline, "the bodies were never removed");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.deepEqual(await store.queue.stats(), { size: 0, oldestCreatedAt: null });
    } finally {
      await store.close();
    }
  });
});

test("close() makes relaxed commits durable and removes the bodies they freed", async () => {
  await withTempDir(async (dataDir) => {
    const store = await openSqliteStore({ dataDir, logger: silentLogger });
    const { id } = await queueOne(store, "closing@remote.example");
    await store.queue.claim(new Date(Date.now() + 1000), 10, 600_000);
    assert.deepEqual(await store.queue.completeMany([id]), [id]);
    assert.equal(await bodyFiles(dataDir), 1);
    await store.close();
    assert.equal(await bodyFiles(dataDir), 0);
  });
});

test("a process killed right after completeMany resolved keeps the entries completed", async () => {
  await withTempDir(async (dataDir) => {
    const setup = await openSqliteStore({ dataDir, logger: silentLogger });
    for (let n = 0; n < 20; n++) await queueOne(setup, `k${n}@remote.example`);
    await setup.close();

    const child = spawn(
      process.execPath,
      ["--import", "tsx", fileURLToPath(new URL("complete-then-hang.ts", FIXTURES)), dataDir],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const exited = new Promise((resolve) => child.once("exit", resolve));
    let completed = -1;
    for await (const line of createInterface({ input: child.stdout })) {
      const [word, count] = line.split(" ");
      if (word === "completed") {
        completed = Number(count);
        child.kill("SIGKILL");
        break;
      }
    }
    await exited;
    assert.equal(completed, 20);

    const store = await openSqliteStore({ dataDir, logger: silentLogger });
    try {
      assert.deepEqual(await store.queue.list(), [], "no entry comes back after an application crash");
      // Files the killed process had not removed yet are orphans now, and the sweep takes them.
      await store.sweepOrphanBodies({ now: FAR });
      assert.equal(await bodyFiles(dataDir), 0);
    } finally {
      await store.close();
    }
  });
});
