// Store contract, part `identities`: the identities a user sends as over JMAP, and their changes.
// Run by runStoreContract (store-contract.ts) against every backend.

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { IdentityFields, Store } from "../../src/store/types.js";
import type { ContractContext } from "./support.js";

export function describeIdentitiesContract(context: ContractContext): void {
  describe("identities", () => {
    let store: Store;
    before(() => {
      store = context.store();
    });
    const { freshUser } = context;
    const fields = (email: string): IdentityFields => ({
      name: "Ann",
      email,
      replyTo: [{ name: null, email: "reply@example.test" }],
      bcc: null,
      textSignature: "-- Ann",
      htmlSignature: "",
    });

    test("create, update and destroy, each reported once by changes", async () => {
      const { user } = await freshUser();
      assert.deepEqual(await store.identities.list(user.id), { state: 0, identities: [] });
      const { state: s1, identity } = await store.identities.create(user.id, fields(user.address));
      assert.equal(identity.email, user.address);
      assert.deepEqual(identity.replyTo, [{ name: null, email: "reply@example.test" }]);
      const listed = await store.identities.list(user.id);
      assert.equal(listed.state, s1);
      assert.deepEqual(listed.identities, [identity]);
      assert.deepEqual(await store.identities.changes(user.id, 0), {
        state: s1,
        created: [identity.id],
        updated: [],
        destroyed: [],
      });

      const { state: s2 } = await store.identities.update(user.id, identity.id, { name: "Ann B", bcc: [] });
      assert.ok(s2 > s1);
      const [updated] = (await store.identities.list(user.id)).identities;
      assert.equal(updated?.name, "Ann B");
      assert.deepEqual(updated?.bcc, []);
      assert.equal(updated?.textSignature, "-- Ann");
      assert.deepEqual(await store.identities.changes(user.id, s1), {
        state: s2,
        created: [],
        updated: [identity.id],
        destroyed: [],
      });

      const { state: s3 } = await store.identities.destroy(user.id, identity.id);
      assert.deepEqual((await store.identities.list(user.id)).identities, []);
      assert.deepEqual(await store.identities.changes(user.id, s2), {
        state: s3,
        created: [],
        updated: [],
        destroyed: [identity.id],
      });
      // Made and gone within the window: nothing to report.
      assert.deepEqual(await store.identities.changes(user.id, 0), {
        state: s3,
        created: [],
        updated: [],
        destroyed: [],
      });
      assert.equal(await store.identities.changes(user.id, s3 + 1), null);
    });

    test("a new display name moves the identity state once; the same name again does not", async () => {
      const { user } = await freshUser();
      const { state: s1 } = await store.identities.create(user.id, fields(user.address));
      await store.directory.setName(user.address, "Ann Other");
      const s2 = (await store.identities.list(user.id)).state;
      assert.ok(s2 > s1);
      assert.deepEqual(await store.identities.changes(user.id, s1), {
        state: s2,
        created: [],
        updated: [],
        destroyed: [],
        nameChanged: true,
      });
      await store.directory.setName(user.address, "Ann Other");
      assert.equal((await store.identities.list(user.id)).state, s2);
      const { state: s3 } = await store.identities.update(
        user.id,
        (await store.identities.list(user.id)).identities[0]!.id,
        { name: "W" },
      );
      assert.equal((await store.identities.changes(user.id, s2))?.nameChanged, undefined);
      assert.equal((await store.identities.changes(user.id, s1))?.nameChanged, true);
      await store.directory.setName(user.address, null);
      assert.ok((await store.identities.list(user.id)).state > s3);
      await assert.rejects(store.directory.setName("nobody@example.invalid", "x"), { code: "not-found" });
    });

    test("another user's identity is not found, and bad fields are refused", async () => {
      const { user: ann } = await freshUser();
      const { user: bob } = await freshUser();
      const { identity } = await store.identities.create(ann.id, fields(ann.address));
      await assert.rejects(store.identities.update(bob.id, identity.id, { name: "x" }), {
        code: "not-found",
      });
      await assert.rejects(store.identities.destroy(bob.id, identity.id), { code: "not-found" });
      assert.deepEqual((await store.identities.list(bob.id)).identities, []);
      await assert.rejects(store.identities.create(ann.id, fields("no-at-sign")), { code: "invalid" });
      await assert.rejects(store.identities.update(ann.id, identity.id, { bcc: "x" as unknown as null }), {
        code: "invalid",
      });
    });

    test("a user with identities can be removed", async () => {
      const { user } = await freshUser();
      await store.identities.create(user.id, fields(user.address));
      await store.directory.removeUser(user.address);
      assert.equal(await store.directory.getUser(user.address), null);
    });
  });
}
