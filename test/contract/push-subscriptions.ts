// Store contract, part `pushSubscriptions`: JMAP push subscriptions (RFC 8620 §7.2).
// Run by runStoreContract (store-contract.ts) against every backend.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { before, describe, test } from "node:test";
import type { NewPushSubscription, Store } from "../../src/store/types.js";
import { type ContractContext, rejectsWith } from "./support.js";

const NOW = new Date("2026-12-01T12:00:00Z");
const LATER = new Date("2026-12-08T12:00:00Z");

function subscription(overrides: Partial<NewPushSubscription> = {}): NewPushSubscription {
  return {
    id: randomBytes(8).toString("hex"),
    deviceClientId: "phone-1",
    url: "https://push.example.net/p/abc",
    keys: null,
    verificationHash: "hash-1",
    expires: LATER,
    types: null,
    ...overrides,
  };
}

export function describePushSubscriptionsContract(context: ContractContext): void {
  describe("push subscriptions", () => {
    let store: Store;
    before(() => {
      store = context.store();
    });
    const limits = { max: 3, now: NOW };

    test("create, list per user, keys and types kept, unverified until updated", async () => {
      const { user } = await context.freshUser();
      const { user: other } = await context.freshUser();
      const keys = { p256dh: "BPub", auth: "c2VjcmV0" };
      const first = subscription({ keys, types: ["Email", "Mailbox"] });
      const created = await store.pushSubscriptions.createPushSubscription(user.id, first, limits);
      assert.deepEqual(created, { ...first, userId: user.id, verificationCode: null });
      const second = subscription({ deviceClientId: "laptop" });
      await store.pushSubscriptions.createPushSubscription(user.id, second, limits);
      const listed = await store.pushSubscriptions.listPushSubscriptions(user.id, NOW);
      assert.deepEqual(
        listed.map((each) => each.id),
        [first.id, second.id],
      );
      assert.deepEqual(listed[0], created);
      assert.deepEqual(await store.pushSubscriptions.listPushSubscriptions(other.id, NOW), []);
      assert.equal(
        (await store.pushSubscriptions.listVerifiedPushSubscriptions(NOW)).some(
          (each) => each.id === first.id,
        ),
        false,
      );
    });

    test("update sets the verification code, moves the expiry and sets or clears types; only the owner's", async () => {
      const { user } = await context.freshUser();
      const { user: other } = await context.freshUser();
      const made = subscription({ types: ["Email"] });
      await store.pushSubscriptions.createPushSubscription(user.id, made, limits);
      assert.equal(
        await store.pushSubscriptions.updatePushSubscription(other.id, made.id, {
          verificationCode: "code-1",
        }),
        null,
      );
      assert.equal(
        await store.pushSubscriptions.updatePushSubscription(user.id, "nope", { verificationCode: "code-1" }),
        null,
      );
      const verified = await store.pushSubscriptions.updatePushSubscription(user.id, made.id, {
        verificationCode: "code-1",
      });
      assert.equal(verified?.verificationCode, "code-1");
      assert.deepEqual(verified?.types, ["Email"]);
      const sooner = new Date("2026-12-05T00:00:00Z");
      const moved = await store.pushSubscriptions.updatePushSubscription(user.id, made.id, {
        expires: sooner,
        types: null,
      });
      assert.deepEqual([moved?.verificationCode, moved?.expires, moved?.types], ["code-1", sooner, null]);
      const typed = await store.pushSubscriptions.updatePushSubscription(user.id, made.id, {
        types: ["Mailbox"],
      });
      assert.deepEqual([typed?.types, typed?.expires], [["Mailbox"], sooner]);
      const [listed] = await store.pushSubscriptions.listPushSubscriptions(user.id, NOW);
      assert.deepEqual(listed, typed);
      const everyone = await store.pushSubscriptions.listVerifiedPushSubscriptions(NOW);
      assert.deepEqual(
        everyone.filter((each) => each.userId === user.id),
        [typed],
      );
    });

    test("destroy only the owner's; a used id is refused", async () => {
      const { user } = await context.freshUser();
      const { user: other } = await context.freshUser();
      const made = subscription();
      await store.pushSubscriptions.createPushSubscription(user.id, made, limits);
      await rejectsWith(store.pushSubscriptions.createPushSubscription(other.id, made, limits), "exists");
      assert.equal(await store.pushSubscriptions.destroyPushSubscription(other.id, made.id), false);
      assert.equal(await store.pushSubscriptions.destroyPushSubscription(user.id, made.id), true);
      assert.equal(await store.pushSubscriptions.destroyPushSubscription(user.id, made.id), false);
      assert.deepEqual(await store.pushSubscriptions.listPushSubscriptions(user.id, NOW), []);
      await rejectsWith(
        store.pushSubscriptions.createPushSubscription(987654321, subscription(), limits),
        "not-found",
      );
    });

    test("expired ones are not listed, do not count against the limit, and are removed", async () => {
      const { user } = await context.freshUser();
      const soon = new Date(NOW.getTime() + 60_000);
      const expiring = subscription({ expires: soon });
      await store.pushSubscriptions.createPushSubscription(user.id, expiring, limits);
      await store.pushSubscriptions.updatePushSubscription(user.id, expiring.id, {
        verificationCode: "code-1",
      });
      await store.pushSubscriptions.createPushSubscription(user.id, subscription(), limits);
      await store.pushSubscriptions.createPushSubscription(user.id, subscription(), limits);
      await rejectsWith(
        store.pushSubscriptions.createPushSubscription(user.id, subscription(), limits),
        "full",
      );
      const after = new Date(soon.getTime() + 1);
      assert.equal((await store.pushSubscriptions.listPushSubscriptions(user.id, after)).length, 2);
      assert.equal(
        (await store.pushSubscriptions.listVerifiedPushSubscriptions(after)).some(
          (each) => each.id === expiring.id,
        ),
        false,
      );
      assert.ok((await store.pushSubscriptions.removeExpiredPushSubscriptions(after)) >= 1);
      assert.equal((await store.pushSubscriptions.listPushSubscriptions(user.id, NOW)).length, 2);
      // The expired one made room.
      await store.pushSubscriptions.createPushSubscription(user.id, subscription(), { max: 3, now: after });
    });

    test("a removed user's subscriptions go with them", async () => {
      const { user } = await context.freshUser();
      await store.pushSubscriptions.createPushSubscription(user.id, subscription(), limits);
      await store.directory.removeUser(user.address);
      assert.deepEqual(await store.pushSubscriptions.listPushSubscriptions(user.id, NOW), []);
    });
  });
}
