// Store contract, part `blobs`: bodies, their header blocks, structures and sort inputs.
// Run by runStoreContract (store-contract.ts) against every backend.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { before, describe, test } from "node:test";
import { type Store, StoreError } from "../../src/store/types.js";
import { describeHeaderBlocks } from "./header-blocks.js";
import { describeSaveHeaderBlocks } from "./save-header-blocks.js";
import { describeSortInputs } from "./sort-inputs.js";
import { describeStructures } from "./structures.js";
import { type ContractContext, rejectsWith, streamToBuffer, writeBlob } from "./support.js";

export function describeBlobsContract(context: ContractContext): void {
  describe("blobs", () => {
    let store: Store;
    before(() => {
      store = context.store();
    });
    const { freshUser } = context;
    describeHeaderBlocks(context);
    describeSaveHeaderBlocks(context);
    describeStructures(context);
    describeSortInputs(context);

    describe("blobs", () => {
      test("byte-exact round trip: empty, binary, 2 MB", async () => {
        const cases = [
          Buffer.alloc(0),
          Buffer.from([0, 255, 13, 10, 0, 46, 13, 10]),
          randomBytes(2 * 1024 * 1024),
        ];
        for (const bytes of cases) {
          const ref = await writeBlob(store, bytes, 100_000);
          assert.ok(ref.id.length > 0);
          assert.deepEqual(await store.blobs.readBlobBytes(ref.id), bytes);
          // With the recorded size given (as FETCH and RETR do), the same bytes.
          assert.deepEqual(await store.blobs.readBlobBytes(ref.id, bytes.length), bytes);
          assert.deepEqual(await streamToBuffer(store.blobs.readBlob(ref.id)), bytes);
        }
      });

      test("abort discards; unknown ids are not-found", async () => {
        const writer = await store.blobs.createBlobWriter();
        await writer.write(Buffer.from("partial"));
        await writer.abort();
        await writer.abort();
        await rejectsWith(store.blobs.readBlobBytes(writer.id), "not-found");
        await rejectsWith(streamToBuffer(store.blobs.readBlob(writer.id)), "not-found");
        await rejectsWith(store.blobs.readBlobBytes("does-not-exist"), "not-found");
        await rejectsWith(store.blobs.readBlobBytes(writer.id, 7), "not-found");
      });

      test("writer ids are distinct", async () => {
        const writers = await Promise.all(Array.from({ length: 20 }, () => store.blobs.createBlobWriter()));
        assert.equal(new Set(writers.map((w) => w.id)).size, 20);
        await Promise.all(writers.map((w) => w.abort()));
      });

      test("a body that was never finished cannot be delivered", async () => {
        const { inbox } = await freshUser();
        const writer = await store.blobs.createBlobWriter();
        await writer.write(Buffer.from("unfinished"));
        await assert.rejects(
          store.messages.deliver({
            blob: { id: writer.id, size: 10 },
            sender: "",
            internalDate: new Date(),
            mailboxes: [{ mailboxId: inbox.id }],
            queue: [],
          }),
          StoreError,
        );
        await writer.abort();
        assert.deepEqual(await store.messages.listMessages(inbox.id), []);
      });
    });
  });
}
