// Contract for Store.saveHeaderBlocks: run inside runStoreContract against every backend. Filling a
// missing block is tested per backend (test/store/), since only a backend can make a block missing.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type BlobRef,
  HEADER_BLOCK_LIMIT,
  type Mailbox,
  type Store,
  StoreError,
} from "../../src/store/types.js";

export interface SaveHeaderBlocksContext {
  store(): Store;
  freshUser(): Promise<{ inbox: Mailbox }>;
}

export async function deliverBody(store: Store, mailboxId: number, body: string | Buffer): Promise<BlobRef> {
  const writer = await store.blobs.createBlobWriter();
  await writer.write(Buffer.from(body));
  const blob = await writer.finish();
  await store.messages.deliver({
    blob,
    sender: "a@example.net",
    internalDate: new Date(),
    mailboxes: [{ mailboxId }],
    queue: [],
  });
  return blob;
}

export function isInvalid(error: unknown): boolean {
  assert.ok(error instanceof StoreError, `expected a StoreError, got ${String(error)}`);
  assert.equal(error.code, "invalid");
  return true;
}

export function describeSaveHeaderBlocks(context: SaveHeaderBlocksContext): void {
  describe("saveHeaderBlocks", () => {
    test("never replaces a block the store has; unknown ids are ignored", async () => {
      const store = context.store();
      const { inbox } = await context.freshUser();
      const header = "Subject: kept\r\n\r\n";
      const blob = await deliverBody(store, inbox.id, `${header}body\r\n`);
      const other = "Subject: other\r\n\r\n";
      await store.blobs.saveHeaderBlocks(
        new Map([
          [blob.id, Buffer.from(other)],
          ["0000000000zzzzzzzzzz", Buffer.from(other)],
        ]),
      );
      assert.deepEqual((await store.blobs.readHeaderBlocks([blob.id])).get(blob.id), Buffer.from(header));
      await store.blobs.saveHeaderBlocks(new Map());
    });

    test("a block that cannot be the message's header is refused and nothing is saved", async () => {
      const store = context.store();
      const { inbox } = await context.freshUser();
      // A header longer than HEADER_BLOCK_LIMIT: the store keeps no block for it.
      const longHeader = `X-Long: ${"a".repeat(HEADER_BLOCK_LIMIT)}\r\n\r\n`;
      const long = await deliverBody(store, inbox.id, `${longHeader}body\r\n`);
      const small = await deliverBody(store, inbox.id, "Subject: s\r\n\r\nbody\r\n");
      const refused: Array<[string, Buffer]> = [
        [long.id, Buffer.from(longHeader)],
        [long.id, Buffer.from("X-Long: a\r\n")],
        [long.id, Buffer.from("X-Long: a\r\n\r\nmore\r\n\r\n")],
        [long.id, Buffer.from("\r\nX: y\r\n\r\n")],
        [small.id, Buffer.from("Subject: s\r\n\r\nbody\r\n\r\nand more than the message\r\n\r\n")],
      ];
      for (const [id, block] of refused) {
        await assert.rejects(store.blobs.saveHeaderBlocks(new Map([[id, block]])), isInvalid);
      }
      await assert.rejects(
        store.blobs.saveHeaderBlocks(new Map<string, Buffer>([["x", "text" as unknown as Buffer]])),
        isInvalid,
      );
      await assert.rejects(store.blobs.saveHeaderBlocks([] as unknown as Map<string, Buffer>), isInvalid);
      assert.equal((await store.blobs.readHeaderBlocks([long.id])).size, 0);
    });
  });
}
