// Store contract, part `urlAuthKeys`: each mailbox's URLAUTH access key (RFC 4467).
// Run by runStoreContract (store-contract.ts) against every backend.

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { Store } from "../../src/store/types.js";
import type { ContractContext } from "./support.js";

const key = (fill: number) => Buffer.alloc(32, fill);

export function describeUrlAuthKeysContract(context: ContractContext): void {
  describe("urlAuthKeys", () => {
    let store: Store;
    before(() => {
      store = context.store();
    });
    const { freshUser } = context;

    test("the first candidate becomes the key and stays; only the owner gets it", async () => {
      const { user, inbox } = await freshUser();
      const { user: other } = await freshUser();
      assert.equal(await store.urlAuthKeys.accessKey(user.id, inbox.id, null), null);
      const [first, second] = await Promise.all([
        store.urlAuthKeys.accessKey(user.id, inbox.id, key(1)),
        store.urlAuthKeys.accessKey(user.id, inbox.id, key(2)),
      ]);
      assert.ok(first !== null && second !== null);
      assert.ok(first.equals(second), "two concurrent first uses agree on one key");
      assert.ok(first.equals(key(1)) || first.equals(key(2)));
      assert.deepEqual(await store.urlAuthKeys.accessKey(user.id, inbox.id, key(3)), first);
      assert.deepEqual(await store.urlAuthKeys.accessKey(user.id, inbox.id, null), first);
      assert.equal(await store.urlAuthKeys.accessKey(other.id, inbox.id, null), null);
      assert.equal(await store.urlAuthKeys.accessKey(other.id, inbox.id, key(4)), null);
      assert.deepEqual(await store.urlAuthKeys.accessKey(user.id, inbox.id, null), first);
    });

    test("reset forgets one mailbox's key or all of a user's, never another user's; delete drops it", async () => {
      const { user, inbox } = await freshUser();
      const { user: other, inbox: otherInbox } = await freshUser();
      const sent = await store.mailboxes.getMailbox(user.id, "Sent");
      assert.ok(sent !== null);
      await store.urlAuthKeys.accessKey(user.id, inbox.id, key(1));
      await store.urlAuthKeys.accessKey(user.id, sent.id, key(2));
      await store.urlAuthKeys.accessKey(other.id, otherInbox.id, key(3));
      await store.urlAuthKeys.resetAccessKeys(other.id, inbox.id);
      assert.deepEqual(await store.urlAuthKeys.accessKey(user.id, inbox.id, null), key(1));
      await store.urlAuthKeys.resetAccessKeys(user.id, inbox.id);
      assert.equal(await store.urlAuthKeys.accessKey(user.id, inbox.id, null), null);
      assert.deepEqual(await store.urlAuthKeys.accessKey(user.id, sent.id, null), key(2));
      await store.urlAuthKeys.accessKey(user.id, inbox.id, key(5));
      await store.urlAuthKeys.resetAccessKeys(user.id, null);
      assert.equal(await store.urlAuthKeys.accessKey(user.id, inbox.id, null), null);
      assert.equal(await store.urlAuthKeys.accessKey(user.id, sent.id, null), null);
      assert.deepEqual(await store.urlAuthKeys.accessKey(other.id, otherInbox.id, null), key(3));
      const made = await store.mailboxes.createMailbox(user.id, "Keyed");
      await store.urlAuthKeys.accessKey(user.id, made.id, key(6));
      await store.mailboxes.deleteMailbox(user.id, "Keyed");
      const again = await store.mailboxes.createMailbox(user.id, "Keyed");
      assert.equal(await store.urlAuthKeys.accessKey(user.id, again.id, null), null);
      assert.equal(await store.urlAuthKeys.accessKey(user.id, made.id, key(7)), null);
    });
  });
}
