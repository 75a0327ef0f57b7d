// Store contract, part `blobs`: uploads (JMAP blobs no message names yet) and who may read which body.
// Run by runStoreContract (store-contract.ts) against every backend.

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { Store } from "../../src/store/types.js";
import { type ContractContext, rejectsWith, streamToBuffer, writeBlob } from "./support.js";

const HOUR = 60 * 60 * 1000;

export function describeUploadsContract(context: ContractContext): void {
  describe("uploads", () => {
    let store: Store;
    before(() => {
      store = context.store();
    });

    test("an upload is readable by its user until it expires, and counts in their usage", async () => {
      const { user } = await context.freshUser();
      const { user: other } = await context.freshUser();
      const now = new Date();
      const blob = await writeBlob(store, "uploaded bytes");
      const upload = await store.blobs.recordUpload({
        userId: user.id,
        blobId: blob.id,
        type: "text/plain",
        expiresAt: new Date(now.getTime() + HOUR),
      });
      assert.equal(upload.size, blob.size);
      assert.equal(upload.type, "text/plain");

      assert.deepEqual(await store.blobs.findReadableBlob(user.id, blob.id, now), {
        blobId: blob.id,
        size: blob.size,
        type: "text/plain",
      });
      assert.equal(await store.blobs.findReadableBlob(other.id, blob.id, now), null);
      assert.equal(
        await store.blobs.findReadableBlob(user.id, blob.id, new Date(now.getTime() + 2 * HOUR)),
        null,
      );
      assert.deepEqual(await store.blobs.uploadUsage(user.id, now), { count: 1, bytes: blob.size });
      assert.deepEqual(await store.blobs.uploadUsage(user.id, new Date(now.getTime() + 2 * HOUR)), {
        count: 0,
        bytes: 0,
      });
      assert.deepEqual(await store.blobs.uploadUsage(other.id, now), { count: 0, bytes: 0 });
      assert.equal((await streamToBuffer(store.blobs.readBlob(blob.id))).toString(), "uploaded bytes");
    });

    test("a delivered message's body is readable by the mailbox's user only", async () => {
      const { user, inbox } = await context.freshUser();
      const { user: other } = await context.freshUser();
      const { blob } = await context.deliverTo(inbox.id, "readable");
      const found = await store.blobs.findReadableBlob(user.id, blob.id, new Date());
      assert.deepEqual(found, { blobId: blob.id, size: blob.size, type: null });
      assert.equal(await store.blobs.findReadableBlob(other.id, blob.id, new Date()), null);
      assert.equal(await store.blobs.findReadableBlob(user.id, "not an id", new Date()), null);
    });

    test("an expired upload is forgotten at the next upload", async () => {
      const { user } = await context.freshUser();
      const stale = await writeBlob(store, "stale");
      await store.blobs.recordUpload({
        userId: user.id,
        blobId: stale.id,
        type: "text/plain",
        expiresAt: new Date(Date.now() - 1000),
      });
      const fresh = await writeBlob(store, "fresh");
      await store.blobs.recordUpload({
        userId: user.id,
        blobId: fresh.id,
        type: "text/plain",
        expiresAt: new Date(Date.now() + HOUR),
      });
      const past = new Date(Date.now() - 10 * HOUR);
      assert.equal(await store.blobs.findReadableBlob(user.id, stale.id, past), null);
      assert.notEqual(await store.blobs.findReadableBlob(user.id, fresh.id, past), null);
    });

    test("error codes: not-found for an unknown user or body, invalid for a missing type", async () => {
      const { user } = await context.freshUser();
      const blob = await writeBlob(store, "x");
      const expiresAt = new Date(Date.now() + HOUR);
      await rejectsWith(
        store.blobs.recordUpload({ userId: 987_654_321, blobId: blob.id, type: "text/plain", expiresAt }),
        "not-found",
      );
      await rejectsWith(
        store.blobs.recordUpload({
          userId: user.id,
          blobId: "AAAAAAAAAAAAAAAAAAAA",
          type: "text/plain",
          expiresAt,
        }),
        "not-found",
      );
      await rejectsWith(
        store.blobs.recordUpload({ userId: user.id, blobId: blob.id, type: "", expiresAt }),
        "invalid",
      );
    });
  });
}
