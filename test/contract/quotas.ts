// Store contract, part `quotas`: per-user storage limits and the octets the user's mailboxes hold.
// Run by runStoreContract (store-contract.ts) against every backend.

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { Store } from "../../src/store/types.js";
import { type ContractContext, CREDENTIALS, rejectsWith } from "./support.js";

export function describeQuotasContract(context: ContractContext): void {
  describe("quotas", () => {
    let store: Store;
    before(() => {
      store = context.store();
    });
    const { freshUser, deliverTo } = context;

    test("no limit until one is set; usage counts every mailbox entry of the user, and only theirs", async () => {
      const { user, inbox } = await freshUser();
      const { user: other, inbox: otherInbox } = await freshUser();
      assert.deepEqual(await store.quotas.getQuota(user.id), { limit: null, used: 0 });
      assert.equal(await store.quotas.getLimit(user.id), null);
      await deliverTo(inbox.id, "one");
      await deliverTo(inbox.id, "two");
      await deliverTo(otherInbox.id, "someone else's");
      const listed = await store.messages.listMessages(inbox.id);
      const sizes = listed.reduce((sum, m) => sum + m.size, 0);
      assert.ok(sizes > 0);
      assert.deepEqual(await store.quotas.getQuota(user.id), { limit: null, used: sizes });
      await store.quotas.setQuota(user.id, 5_000_000_000);
      assert.deepEqual(await store.quotas.getQuota(user.id), { limit: 5_000_000_000, used: sizes });
      assert.equal(await store.quotas.getLimit(user.id), 5_000_000_000);
      await store.quotas.setQuota(user.id, 1000);
      assert.equal((await store.quotas.getQuota(user.id)).limit, 1000);
      assert.equal((await store.quotas.getQuota(other.id)).limit, null);
      await store.quotas.setQuota(user.id, null);
      assert.equal((await store.quotas.getQuota(user.id)).limit, null);
      assert.equal(await store.quotas.getLimit(user.id), null);
    });

    test("expunged messages stop counting; an unknown user is not-found; removing a user removes the limit", async () => {
      const { user, inbox } = await freshUser();
      const { uid } = await deliverTo(inbox.id, "to go", ["\\Deleted"]);
      assert.ok((await store.quotas.getQuota(user.id)).used > 0);
      await store.messages.expunge(inbox.id, [uid]);
      assert.equal((await store.quotas.getQuota(user.id)).used, 0);
      await rejectsWith(store.quotas.setQuota(987_654_321, 10), "not-found");
      const extra = await store.directory.addUser(
        `quota-${Date.now()}@${user.address.split("@")[1]}`,
        CREDENTIALS,
      );
      await store.quotas.setQuota(extra.id, 10);
      await store.directory.removeUser(extra.address);
      await rejectsWith(store.quotas.setQuota(extra.id, 10), "not-found");
    });
  });
}
