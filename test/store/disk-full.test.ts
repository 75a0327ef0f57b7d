import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, open, readdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { FileBlobStore } from "../../src/store/blobs/file-blob-store.js";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import { StoreError } from "../../src/store/types.js";
import { CREDENTIALS, silentLogger, withTempDir } from "./helpers.js";

const run = promisify(execFile);

function isFull(error: unknown): boolean {
  return error instanceof StoreError && error.code === "full" && /is full; free space/.test(error.message);
}

async function tryMountTmpfs(dir: string, size: string): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  try {
    await run("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir]);
    return true;
  } catch {
    return false;
  }
}

/** Writes into `path` until the filesystem refuses with ENOSPC. */
async function fillDisk(path: string): Promise<void> {
  const handle = await open(path, "w");
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) await handle.write(chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  } finally {
    await handle.close();
  }
}

test("on a full tmpfs, body writes and deliveries fail with 'full' and nothing half-done is visible", async (t) => {
  await withTempDir(async (dir) => {
    const dataDir = join(dir, "mnt");
    await mkdir(dataDir);
    if (!(await tryMountTmpfs(dataDir, "4m"))) {
      t.skip("needs root and tmpfs to fill a real filesystem; the /dev/full test covers body writes");
      return;
    }
    try {
      const store = await openSqliteStore({ dataDir, logger: silentLogger });
      try {
        await store.directory.addDomain("full.example");
        const user = await store.directory.addUser("f@full.example", CREDENTIALS);
        const inbox = (await store.mailboxes.getMailbox(user.id, "INBOX"))!;
        const small = await store.blobs.createBlobWriter();
        await small.write(Buffer.from("Subject: small\r\n\r\nx\r\n"));
        const blob = await small.finish();

        // A body larger than the filesystem.
        const big = await store.blobs.createBlobWriter();
        const chunk = Buffer.alloc(256 * 1024, 7);
        let writeError: unknown;
        for (let i = 0; i < 64 && writeError === undefined; i++) {
          await big.write(chunk).catch((error: unknown) => {
            writeError = error;
          });
        }
        assert.ok(isFull(writeError), `expected a "full" StoreError, got ${String(writeError)}`);
        await big.abort();
        assert.deepEqual(await readdir(join(dataDir, "tmp")), []);
        await assert.rejects(
          store.blobs.readBlobBytes(big.id),
          (e: unknown) => e instanceof StoreError && e.code === "not-found",
        );

        // The database cannot grow: deliveries with large rows until one fails.
        await fillDisk(join(dataDir, "filler"));
        const flags = Array.from({ length: 40 }, (_, i) => `$k${i}-${"x".repeat(200)}`);
        let delivered = 0;
        let deliverError: unknown;
        for (let i = 0; i < 400 && deliverError === undefined; i++) {
          try {
            await store.messages.deliver({
              blob,
              sender: "",
              internalDate: new Date(),
              mailboxes: [{ mailboxId: inbox.id, flags }],
              queue: [],
            });
            delivered += 1;
          } catch (error) {
            deliverError = error;
          }
        }
        assert.ok(isFull(deliverError), `expected a "full" StoreError, got ${String(deliverError)}`);
        assert.equal((await store.messages.listMessages(inbox.id)).length, delivered);

        // Once space is freed the store works again and holds exactly what succeeded.
        await unlink(join(dataDir, "filler"));
        await store.messages.deliver({
          blob,
          sender: "",
          internalDate: new Date(),
          mailboxes: [{ mailboxId: inbox.id }],
          queue: [],
        });
        assert.equal((await store.messages.listMessages(inbox.id)).length, delivered + 1);
      } finally {
        await store.close();
      }
      const reopened = await openSqliteStore({ dataDir, logger: silentLogger });
      const user = await reopened.directory.getUser("f@full.example");
      const inbox = (await reopened.mailboxes.getMailbox(user!.id, "INBOX"))!;
      for (const message of await reopened.messages.listMessages(inbox.id)) {
        assert.equal((await reopened.blobs.readBlobBytes(message.messageId)).length, message.size);
      }
      await reopened.close();
    } finally {
      await run("umount", [dataDir]);
    }
  });
});

test("a body write that hits ENOSPC (/dev/full) fails with 'full' and abort leaves nothing", async () => {
  await withTempDir(async (root) => {
    const blobs = new FileBlobStore({ root, logger: silentLogger, openTemp: () => open("/dev/full", "w") });
    await blobs.init();
    const writer = await blobs.createWriter();
    await assert.rejects(writer.write(Buffer.from("bytes that cannot be stored")), isFull);
    await assert.rejects(writer.finish(), (e: unknown) => e instanceof StoreError && e.code === "invalid");
    await writer.abort();
    assert.equal(await blobs.sizeOf(writer.id), null);
    assert.deepEqual(await readdir(join(root, "messages")), []);
  });
});
