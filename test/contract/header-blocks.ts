// Contract for BlobStore.readHeaderBlocks: run inside runStoreContract against every backend.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type BlobRef, HEADER_BLOCK_LIMIT, type Mailbox, type Store } from "../../src/store/types.js";

export interface HeaderBlockContext {
  store(): Store;
  freshUser(): Promise<{ inbox: Mailbox; user: { id: number } }>;
}

async function writeChunks(store: Store, chunks: Array<string | Buffer>): Promise<BlobRef> {
  const writer = await store.blobs.createBlobWriter();
  for (const chunk of chunks) await writer.write(Buffer.from(chunk));
  return writer.finish();
}

async function deliver(store: Store, mailboxId: number, blob: BlobRef): Promise<number> {
  const result = await store.messages.deliver({
    blob,
    sender: "a@example.net",
    internalDate: new Date(),
    mailboxes: [{ mailboxId }],
    queue: [],
  });
  return result.uids[0]!.uid;
}

export function describeHeaderBlocks(context: HeaderBlockContext): void {
  describe("header blocks", () => {
    test("exact header bytes of a delivered and an appended message; unknown ids are absent", async () => {
      const store = context.store();
      const { user, inbox } = await context.freshUser();
      const header = "From: a@example.net\r\nSubject: delivered\r\n\tfolded\r\n\r\n";
      const delivered = await writeChunks(store, [`${header}Body\r\n\r\nmore\r\n`]);
      await deliver(store, inbox.id, delivered);
      const sent = (await store.mailboxes.getMailbox(user.id, "Sent"))!;
      const appendedHeader = "Subject: =?utf-8?q?caf=C3=A9?=\r\nX-Bin: \u00e9\r\n\r\n";
      const appended = await writeChunks(store, [Buffer.from(`${appendedHeader}Hi\r\n`, "latin1")]);
      await store.messages.append(sent.id, appended, [], new Date());
      const blocks = await store.blobs.readHeaderBlocks([
        delivered.id,
        appended.id,
        "0000000000zzzzzzzzzz",
        "x",
      ]);
      assert.deepEqual([...blocks.keys()].sort(), [delivered.id, appended.id].sort());
      assert.deepEqual(blocks.get(delivered.id), Buffer.from(header));
      assert.deepEqual(blocks.get(appended.id), Buffer.from(appendedHeader, "latin1"));
      assert.equal((await store.blobs.readHeaderBlocks([])).size, 0);
    });

    test("the empty line may be split across writes, in every possible place", async () => {
      const store = context.store();
      const { inbox } = await context.freshUser();
      const message = "Subject: split\r\nTo: b@example.net\r\n\r\nbody\r\n";
      const end = message.indexOf("\r\n\r\n");
      const ids: string[] = [];
      for (let cut = end; cut <= end + 4; cut++) {
        const blob = await writeChunks(store, [message.slice(0, cut), message.slice(cut)]);
        await deliver(store, inbox.id, blob);
        ids.push(blob.id);
      }
      const oneByteAtATime = await writeChunks(store, [...message]);
      await deliver(store, inbox.id, oneByteAtATime);
      ids.push(oneByteAtATime.id);
      const blocks = await store.blobs.readHeaderBlocks(ids);
      for (const id of ids) assert.equal(blocks.get(id)?.toString(), message.slice(0, end + 4));
    });

    test("a header longer than HEADER_BLOCK_LIMIT is absent; the body still reads back whole", async () => {
      const store = context.store();
      const { inbox } = await context.freshUser();
      const line = `X-Filler: ${"y".repeat(1000)}\r\n`;
      const long = line.repeat(Math.ceil((300 * 1024) / line.length));
      const message = `${long}\r\nbody\r\n`;
      const blob = await writeChunks(store, [message.slice(0, 70_000), message.slice(70_000)]);
      await deliver(store, inbox.id, blob);
      assert.equal((await store.blobs.readHeaderBlocks([blob.id])).has(blob.id), false);
      assert.equal((await store.blobs.readBlobBytes(blob.id)).toString(), message);
    });

    test("a header ending exactly at the limit is kept", async () => {
      const store = context.store();
      const { inbox } = await context.freshUser();
      const prefix = "X-Pad: ";
      const header = `${prefix}${"p".repeat(HEADER_BLOCK_LIMIT - prefix.length - 4)}\r\n\r\n`;
      assert.equal(header.length, HEADER_BLOCK_LIMIT);
      const blob = await writeChunks(store, [header, "body\r\n"]);
      await deliver(store, inbox.id, blob);
      assert.equal((await store.blobs.readHeaderBlocks([blob.id])).get(blob.id)?.length, HEADER_BLOCK_LIMIT);
    });

    test("a message without an empty line is all header; an empty first line is the whole header", async () => {
      const store = context.store();
      const { inbox } = await context.freshUser();
      const headerOnly = "Subject: no body\r\nFrom: a@example.net\r\n";
      const noHeader = "\r\nJust a body\r\n\r\nwith a blank line\r\n";
      const a = await writeChunks(store, [headerOnly.slice(0, 5), headerOnly.slice(5)]);
      const b = await writeChunks(store, [noHeader]);
      await deliver(store, inbox.id, a);
      await deliver(store, inbox.id, b);
      const blocks = await store.blobs.readHeaderBlocks([a.id, b.id]);
      assert.equal(blocks.get(a.id)?.toString(), headerOnly);
      assert.equal(blocks.get(b.id)?.toString(), "\r\n");
    });

    test("copied and moved messages resolve through their shared message id", async () => {
      const store = context.store();
      const { user, inbox } = await context.freshUser();
      const header = "Subject: travels\r\n\r\n";
      const blob = await writeChunks(store, [`${header}body\r\n`]);
      const uid = await deliver(store, inbox.id, blob);
      const archive = (await store.mailboxes.getMailbox(user.id, "Archive"))!;
      const trash = (await store.mailboxes.getMailbox(user.id, "Trash"))!;
      await store.messages.copyMessages(inbox.id, [uid], archive.id);
      await store.messages.moveMessages(inbox.id, [uid], trash.id);
      const ids = [
        ...(await store.messages.listMessages(archive.id)).map((m) => m.messageId),
        ...(await store.messages.listMessages(trash.id)).map((m) => m.messageId),
      ];
      assert.deepEqual(ids, [blob.id, blob.id]);
      assert.equal((await store.blobs.readHeaderBlocks(ids)).get(blob.id)?.toString(), header);
    });

    test("a long list is answered whole, with duplicates", async () => {
      const store = context.store();
      const { inbox } = await context.freshUser();
      const known: string[] = [];
      for (let n = 0; n < 3; n++) {
        const blob = await writeChunks(store, [`Subject: ${n}\r\n\r\nx\r\n`]);
        await deliver(store, inbox.id, blob);
        known.push(blob.id);
      }
      const unknown = Array.from({ length: 1200 }, (_, n) => `0000000000${String(n).padStart(10, "0")}`);
      const blocks = await store.blobs.readHeaderBlocks([
        ...unknown.slice(0, 700),
        ...known,
        ...known,
        ...unknown,
      ]);
      assert.deepEqual([...blocks.keys()].sort(), [...known].sort());
      for (const [n, id] of known.entries())
        assert.equal(blocks.get(id)?.toString(), `Subject: ${n}\r\n\r\n`);
    });

    test("readHeaderBlocks refuses what is not a list of ids", async () => {
      const store = context.store();
      await assert.rejects(
        store.blobs.readHeaderBlocks([1 as unknown as string]),
        (error: unknown) => (error as { code?: string }).code === "invalid",
      );
    });
  });
}
