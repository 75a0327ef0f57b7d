// Store contract, part `directory`: app tokens (app passwords / bearer tokens).
// Run by runStoreContract (store-contract.ts) against every backend.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { before, describe, test } from "node:test";
import type { Store } from "../../src/store/types.js";
import { type ContractContext, rejectsWith } from "./support.js";

export function describeAppTokensContract(context: ContractContext): void {
  describe("app tokens", () => {
    let store: Store;
    before(() => {
      store = context.store();
    });
    const tokenId = () => randomBytes(8).toString("hex");

    test("create, find by id, list per user, revoke", async () => {
      const { user } = await context.freshUser();
      const { user: other } = await context.freshUser();
      const id = tokenId();
      const created = await store.directory.createAppToken(user.id, { id, name: "phone", secretHash: "h1" });
      assert.equal(created.id, id);
      assert.equal(created.userId, user.id);
      assert.equal(created.name, "phone");
      assert.ok(created.createdAt instanceof Date);
      assert.equal("secretHash" in created, false);

      const found = await store.directory.findAppToken(id);
      assert.equal(found?.secretHash, "h1");
      assert.equal(found?.userId, user.id);

      const second = tokenId();
      await store.directory.createAppToken(user.id, { id: second, name: "laptop", secretHash: "h2" });
      const listed = await store.directory.listAppTokens(user.id);
      assert.deepEqual(listed.map((token) => token.name).sort(), ["laptop", "phone"]);
      assert.ok(listed.every((token) => !("secretHash" in token)));
      assert.deepEqual(await store.directory.listAppTokens(other.id), []);

      await rejectsWith(store.directory.revokeAppToken(other.id, id), "not-found");
      await store.directory.revokeAppToken(user.id, id);
      assert.equal(await store.directory.findAppToken(id), null);
      await rejectsWith(store.directory.revokeAppToken(user.id, id), "not-found");
      assert.deepEqual(
        (await store.directory.listAppTokens(user.id)).map((token) => token.id),
        [second],
      );
    });

    test("error codes: not-found for an unknown user, exists for a taken id, invalid for empty parts", async () => {
      const { user } = await context.freshUser();
      await rejectsWith(
        store.directory.createAppToken(987_654_321, { id: tokenId(), name: "x", secretHash: "h" }),
        "not-found",
      );
      const id = tokenId();
      await store.directory.createAppToken(user.id, { id, name: "x", secretHash: "h" });
      await rejectsWith(
        store.directory.createAppToken(user.id, { id, name: "y", secretHash: "h" }),
        "exists",
      );
      await rejectsWith(
        store.directory.createAppToken(user.id, { id: tokenId(), name: "", secretHash: "h" }),
        "invalid",
      );
      assert.equal(await store.directory.findAppToken("never-made"), null);
    });

    test("removing the user removes their tokens", async () => {
      const { user } = await context.freshUser();
      const id = tokenId();
      await store.directory.createAppToken(user.id, { id, name: "x", secretHash: "h" });
      await store.directory.removeUser(user.address);
      assert.equal(await store.directory.findAppToken(id), null);
    });
  });
}
