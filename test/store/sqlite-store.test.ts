import assert from "node:assert/strict";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { FileBlobStore } from "../../src/store/blobs/file-blob-store.js";
import { newMessageId, newQueueId } from "../../src/store/ids.js";
import { openStore } from "../../src/store/open.js";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import { type Store, StoreError } from "../../src/store/types.js";
import { CREDENTIALS, silentLogger, withTempDir } from "./helpers.js";

async function withStore(fn: (store: Store, dataDir: string) => Promise<void>): Promise<void> {
  await withTempDir(async (dataDir) => {
    const store = await openSqliteStore({ dataDir, logger: silentLogger });
    try {
      await fn(store, dataDir);
    } finally {
      await store.close();
    }
  });
}

async function body(store: Store, text: string) {
  const writer = await store.blobs.createBlobWriter();
  await writer.write(Buffer.from(text));
  return writer.finish();
}

test("ids are 20 filename-safe characters, distinct, and ordered by time", async () => {
  const first = newMessageId();
  await new Promise((resolve) => setTimeout(resolve, 5));
  const second = newQueueId();
  for (const id of [first, second]) assert.match(id, /^[0-9a-z]{20}$/);
  assert.ok(first < second);
  const many = new Set(Array.from({ length: 1000 }, () => newMessageId()));
  assert.equal(many.size, 1000);
});

test("openStore picks sqlite and refuses unknown backends with a clear error", async () => {
  await withTempDir(async (dataDir) => {
    const store = await openStore({ store: "sqlite", dataDir, logger: silentLogger });
    assert.equal(store.kind, "sqlite");
    await store.close();
    await assert.rejects(
      openStore({ store: "mysql://x", dataDir, logger: silentLogger }),
      (error: unknown) => {
        assert.ok(error instanceof StoreError);
        assert.equal(error.code, "invalid");
        assert.match(error.message, /use "sqlite" or a PostgreSQL URL/);
        return true;
      },
    );
  });
});

test("a listener that throws neither breaks the change nor other listeners", async () => {
  await withStore(async (store) => {
    await store.directory.addDomain("ev.example");
    const user = await store.directory.addUser("u@ev.example", CREDENTIALS);
    const inbox = (await store.mailboxes.getMailbox(user.id, "INBOX"))!;
    store.events.subscribe(() => {
      throw new Error("listener bug");
    });
    const seen: string[] = [];
    store.events.subscribe((event) => seen.push(event.kind));
    const blob = await body(store, "x");
    const result = await store.messages.deliver({
      blob,
      sender: "",
      internalDate: new Date(),
      mailboxes: [{ mailboxId: inbox.id }],
      queue: [],
    });
    await store.messages.updateFlags(inbox.id, [result.uids[0]!.uid], "add", ["\\Seen"]);
    assert.deepEqual(seen, ["exists", "flags"]);
    assert.equal((await store.messages.listMessages(inbox.id)).length, 1);
  });
});

test("deliveries in one group: each caller gets its own result or error", async () => {
  await withStore(async (store) => {
    await store.directory.addDomain("group.example");
    const user = await store.directory.addUser("g@group.example", CREDENTIALS);
    const inbox = (await store.mailboxes.getMailbox(user.id, "INBOX"))!;
    const blobs = await Promise.all(Array.from({ length: 20 }, (_, i) => body(store, `message ${i}`)));
    const outcomes = await Promise.allSettled(
      blobs.map((blob, i) =>
        store.messages.deliver({
          blob,
          sender: "",
          internalDate: new Date(),
          mailboxes: [{ mailboxId: i % 5 === 0 ? 999_999 : inbox.id }],
          queue: [],
        }),
      ),
    );
    const failed = outcomes.flatMap((o, i) => (o.status === "rejected" ? [i] : []));
    assert.deepEqual(failed, [0, 5, 10, 15]);
    const listed = await store.messages.listMessages(inbox.id);
    assert.equal(listed.length, 16);
    assert.deepEqual(
      listed.map((m) => m.uid),
      Array.from({ length: 16 }, (_, i) => i + 1),
    );
  });
});

test("[commit] options: groups of at most max_batch after a wait; each delivery is committed when it resolves", async () => {
  await withTempDir(async (dataDir) => {
    const store = await openSqliteStore({
      dataDir,
      logger: silentLogger,
      groupCommit: { maxBatch: 3, maxWaitMicros: 2000 },
    });
    try {
      await store.directory.addDomain("batch.example");
      const user = await store.directory.addUser("b@batch.example", CREDENTIALS);
      const inbox = (await store.mailboxes.getMailbox(user.id, "INBOX"))!;
      const blobs = await Promise.all(Array.from({ length: 10 }, (_, i) => body(store, `message ${i}`)));
      // A second connection, as the admin CLI would have: what a resolved delivery promised is there.
      const other = await openSqliteStore({ dataDir, logger: silentLogger });
      try {
        const seen = await Promise.all(
          blobs.map(async (blob) => {
            const result = await store.messages.deliver({
              blob,
              sender: "",
              internalDate: new Date(),
              mailboxes: [{ mailboxId: inbox.id }],
              queue: [],
            });
            const uid = result.uids[0]!.uid;
            const listed = await other.messages.listMessages(inbox.id, { uidFrom: uid, uidTo: uid });
            return listed.map((message) => message.messageId);
          }),
        );
        assert.deepEqual(
          seen,
          blobs.map((blob) => [blob.id]),
        );
      } finally {
        await other.close();
      }
      const listed = await store.messages.listMessages(inbox.id);
      assert.deepEqual(
        listed.map((m) => m.uid),
        Array.from({ length: 10 }, (_, i) => i + 1),
      );
    } finally {
      await store.close();
    }
  });
});

test("a scratch body (finish durable: false) is read like any other and can be thrown away", async () => {
  await withStore(async (store) => {
    const writer = await store.blobs.createBlobWriter();
    await writer.write(Buffer.from("Subject: scratch\r\n\r\nonly read\r\n"));
    const ref = await writer.finish({ durable: false });
    assert.equal(
      (await store.blobs.readBlobBytes(ref.id)).toString(),
      "Subject: scratch\r\n\r\nonly read\r\n",
    );
    await writer.abort();
    await assert.rejects(store.blobs.readBlobBytes(ref.id));
  });
});

test("close waits for deliveries already accepted; a closed store refuses work", async () => {
  await withTempDir(async (dataDir) => {
    const store = await openSqliteStore({ dataDir, logger: silentLogger });
    await store.directory.addDomain("close.example");
    const user = await store.directory.addUser("c@close.example", CREDENTIALS);
    const inbox = (await store.mailboxes.getMailbox(user.id, "INBOX"))!;
    const blob = await body(store, "last one");
    const pending = store.messages.deliver({
      blob,
      sender: "",
      internalDate: new Date(),
      mailboxes: [{ mailboxId: inbox.id }],
      queue: [],
    });
    await new Promise((resolve) => setImmediate(resolve, 0));
    await store.close();
    await pending;
    await assert.rejects(
      store.directory.listDomains(),
      (e: unknown) => e instanceof StoreError && e.code === "unavailable",
    );
    const reopened = await openSqliteStore({ dataDir, logger: silentLogger });
    assert.equal((await reopened.messages.listMessages(inbox.id)).length, 1);
    await reopened.close();
  });
});

test("blob ids that are not store ids never reach the filesystem", async () => {
  await withStore(async (store) => {
    await assert.rejects(
      store.blobs.readBlobBytes("../mailroom.db"),
      (e: unknown) => e instanceof StoreError && e.code === "not-found",
    );
  });
});

test("opening sweeps temp files of dead processes and keeps those of live ones", async () => {
  await withTempDir(async (root) => {
    const first = new FileBlobStore({ root, logger: silentLogger });
    await first.init();
    const live = `${newMessageId()}.${process.ppid}`;
    const dead = `${newMessageId()}.2147483646`;
    await writeFile(join(root, "tmp", live), "in progress");
    await writeFile(join(root, "tmp", dead), "left by a crash");
    await new FileBlobStore({ root, logger: silentLogger }).init();
    assert.deepEqual(await readdir(join(root, "tmp")), [live]);
  });
});

test("abort after finish removes a body no delivery took, and keeps a delivered one", async () => {
  await withStore(async (store) => {
    await store.directory.addDomain("abort.example");
    const user = await store.directory.addUser("a@abort.example", CREDENTIALS);
    const inbox = (await store.mailboxes.getMailbox(user.id, "INBOX"))!;
    const unused = await store.blobs.createBlobWriter();
    await unused.write(Buffer.from("never delivered"));
    await unused.finish();
    await unused.abort();
    await assert.rejects(
      store.blobs.readBlobBytes(unused.id),
      (e: unknown) => e instanceof StoreError && e.code === "not-found",
    );

    const used = await store.blobs.createBlobWriter();
    await used.write(Buffer.from("delivered"));
    const blob = await used.finish();
    await store.messages.deliver({
      blob,
      sender: "",
      internalDate: new Date(),
      mailboxes: [{ mailboxId: inbox.id }],
      queue: [],
    });
    await used.abort();
    assert.equal((await store.blobs.readBlobBytes(blob.id)).toString(), "delivered");
  });
});

test("a changed-since listing of most of a mailbox (scanned in UID order) lists what changed, as a small one does", async () => {
  await withStore(async (store) => {
    await store.directory.addDomain("example.com");
    const user = await store.directory.addUser("u@example.com", CREDENTIALS);
    const inbox = (await store.mailboxes.getMailbox(user.id, "INBOX"))!;
    // More entries than the scan threshold (2,000 changed), 64 deliveries in flight.
    const uids: number[] = [];
    for (let start = 0; start < 2200; start += 64) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(64, 2200 - start) }, async (_, i) =>
          store.messages.deliver({
            blob: await body(store, `Subject: m${start + i}\r\n\r\nhi\r\n`),
            sender: "a@example.net",
            internalDate: new Date(),
            mailboxes: [{ mailboxId: inbox.id }],
            queue: [],
          }),
        ),
      );
      for (const result of batch) uids.push(result.uids[0]!.uid);
    }
    const mark = (await store.mailboxes.mailboxStatus(inbox.id)).highestModseq;
    uids.sort((a, b) => a - b);
    // Not the last delivered, whose MODSEQ is the mark itself: a listing since the mark leaves it out.
    const most = uids.filter((_, i) => i % 20 !== 7 && i !== uids.length - 1);
    await store.messages.updateFlags(inbox.id, most, "add", ["\\Seen"]);
    const changed = await store.messages.listMessages(inbox.id, { sinceModseq: mark });
    assert.ok(most.length > 2000);
    assert.deepEqual(
      changed.map((m) => m.uid),
      most,
    );
    assert.ok(changed.every((m) => m.flags.includes("\\Seen") && m.modseq > mark));
    // A ranged call takes the MODSEQ index: the same answer.
    assert.deepEqual(await store.messages.listMessages(inbox.id, { sinceModseq: mark, uidFrom: 1 }), changed);
    const few = uids.filter((_, i) => i % 20 === 7).slice(0, 5);
    await store.messages.updateFlags(inbox.id, few, "add", ["\\Flagged"]);
    assert.deepEqual(
      (await store.messages.listMessages(inbox.id, { sinceModseq: mark + 1 })).map((m) => m.uid),
      few,
    );
  });
});
