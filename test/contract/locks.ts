// Store contract, part `locks`: locks held by live sessions.
// Run by runStoreContract (store-contract.ts) against every backend.

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { Store } from "../../src/store/types.js";
import type { ContractContext } from "./support.js";

export function describeLocksContract(context: ContractContext): void {
  describe("locks", () => {
    let store: Store;
    before(() => {
      store = context.store();
    });
    const { freshUser } = context;

    describe("maildrop lock", () => {
      test("only one holder at a time; release is idempotent", async () => {
        const { user } = await freshUser();
        const first = await store.locks.lockMaildrop(user.id);
        assert.ok(first);
        assert.equal(await store.locks.lockMaildrop(user.id), null);
        await first.release();
        await first.release();
        const second = await store.locks.lockMaildrop(user.id);
        assert.ok(second);
        // A stale release must not free somebody else's lock.
        await first.release();
        assert.equal(await store.locks.lockMaildrop(user.id), null);
        await second.release();
      });
    });
  });
}
