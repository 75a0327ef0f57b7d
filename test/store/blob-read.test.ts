// Body reads with a known size (FileBlobStore) and saveHeaderBlocks filling blocks of old messages.

import assert from "node:assert/strict";
import { mkdtemp, rm, truncate } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import pino from "pino";
import { FileBlobStore } from "../../src/store/blobs/file-blob-store.js";
import { openSqliteStore } from "../../src/store/sqlite/index.js";

const logger = pino({ level: "silent" });

async function concat(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

test("reads with and without a size give the body; a short file gives what is there", async () => {
  const root = await mkdtemp(join(tmpdir(), "mailroom-blob-read-"));
  try {
    const blobs = new FileBlobStore({ root, logger });
    await blobs.init();
    const body = Buffer.from(`Subject: x\r\n\r\n${"0123456789".repeat(20_000)}`);
    const writer = await blobs.createWriter();
    await writer.write(body);
    const { id } = await writer.finish();
    assert.deepEqual(await blobs.readBytes(id, body.length), body);
    assert.deepEqual(await blobs.readBytes(id), body);
    assert.deepEqual(await concat(blobs.read(id, body.length)), body);
    assert.deepEqual(await concat(blobs.read(id)), body);
    await truncate(blobs.pathOf(id), 100);
    assert.deepEqual(await blobs.readBytes(id, body.length), body.subarray(0, 100));
    assert.deepEqual(await concat(blobs.read(id, body.length)), body.subarray(0, 100));
    await assert.rejects(blobs.readBytes("0000000000zzzzzzzzzz", 10), { code: "not-found" });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test("saveHeaderBlocks fills a missing block once, checked against the message size", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "mailroom-save-headers-"));
  const store = await openSqliteStore({ dataDir, logger });
  try {
    await store.directory.addDomain("example.test");
    const user = await store.directory.addUser("a@example.test", { passwordHash: "h", scramSha256: "s" });
    const inbox = (await store.mailboxes.getMailbox(user.id, "INBOX"))!;
    const ids: string[] = [];
    for (const raw of ["Subject: a\r\n\r\nbody\r\n", "Subject: no body"]) {
      const writer = await store.blobs.createBlobWriter();
      await writer.write(Buffer.from(raw));
      const blob = await writer.finish();
      await store.messages.deliver({
        blob,
        sender: "",
        internalDate: new Date(),
        mailboxes: [{ mailboxId: inbox.id }],
        queue: [],
      });
      ids.push(blob.id);
    }
    const [withBody, headerOnly] = ids as [string, string];
    const db = new Database(join(dataDir, "mailroom.db"));
    db.prepare("UPDATE messages SET header = NULL").run();
    db.close();
    assert.equal((await store.blobs.readHeaderBlocks(ids)).size, 0);
    // Not the whole message (shorter than it) and no empty line: refused, and the valid one with it.
    await assert.rejects(
      store.blobs.saveHeaderBlocks(
        new Map([
          [withBody, Buffer.from("Subject: a\r\n\r\n")],
          [headerOnly, Buffer.from("Subject: no")],
        ]),
      ),
      { code: "invalid" },
    );
    assert.equal((await store.blobs.readHeaderBlocks(ids)).size, 0);
    await store.blobs.saveHeaderBlocks(
      new Map([
        [withBody, Buffer.from("Subject: a\r\n\r\n")],
        [headerOnly, Buffer.from("Subject: no body")],
      ]),
    );
    await store.blobs.saveHeaderBlocks(new Map([[withBody, Buffer.from("Subject: b\r\n\r\n")]]));
    const blocks = await store.blobs.readHeaderBlocks(ids);
    assert.equal(blocks.get(withBody)?.toString(), "Subject: a\r\n\r\n");
    assert.equal(blocks.get(headerOnly)?.toString(), "Subject: no body");
  } finally {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
