// Contract for renewQueueLeases: run inside runStoreContract. Taking a lease over from another store
// instance needs two instances on one database, so that case lives in the backends' own tests
// (test/queue/lease.test.ts for SQLite, test/store-postgres/cluster-gaps.test.ts for PostgreSQL).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Store } from "../../src/store/types.js";

export interface QueueLeasesContext {
  store(): Store;
}

const LEASE_MS = 60_000;

export function describeQueueLeases(context: QueueLeasesContext): void {
  describe("queue lease renewal", () => {
    async function queueOne(store: Store, recipient: string): Promise<string> {
      const writer = await store.blobs.createBlobWriter();
      await writer.write(Buffer.from(`Subject: lease\r\n\r\nfor ${recipient}\r\n`));
      const blob = await writer.finish();
      const result = await store.messages.deliver({
        blob,
        sender: "s@example.net",
        internalDate: new Date(),
        mailboxes: [],
        queue: [{ recipient }],
      });
      const id = result.queueIds[0];
      assert.ok(id);
      return id;
    }

    /** Claims are global: settles every entry other tests left due, far in the future. */
    async function drain(store: Store): Promise<void> {
      for (const entry of await store.queue.claim(new Date(Date.now() + 20 * 86_400_000), 1000, 1))
        await store.queue.complete(entry.id);
    }

    test("a held lease is extended: the entry is not due again until the new end", async () => {
      const store = context.store();
      await drain(store);
      const id = await queueOne(store, "renew@remote.example");
      const claimedAt = new Date(Date.now() + 1000);
      const [claimed] = await store.queue.claim(claimedAt, 10, LEASE_MS);
      assert.equal(claimed?.id, id);

      const until = new Date(claimedAt.getTime() + 5 * LEASE_MS);
      assert.deepEqual(await store.queue.renewLeases([id], until), [id]);
      const renewed = await store.queue.get(id);
      assert.equal(renewed?.state, "delivering");
      assert.equal(renewed?.claimedUntil?.getTime(), until.getTime());
      assert.equal(renewed?.attempts, 1, "a renewal is not a new attempt");
      // Past the original lease but before the renewed one, nobody may take it.
      const pastFirstLease = new Date(claimedAt.getTime() + 2 * LEASE_MS);
      assert.deepEqual(await store.queue.claim(pastFirstLease, 10, LEASE_MS), []);
      const pastRenewal = new Date(until.getTime() + 1);
      assert.deepEqual(
        (await store.queue.claim(pastRenewal, 10, LEASE_MS)).map((entry) => entry.id),
        [id],
      );
      await store.queue.complete(id);
    });

    test("entries not delivering, recorded or unknown are not renewed, and nothing changes", async () => {
      const store = context.store();
      await drain(store);
      const [held, deferred, completed, waiting] = await Promise.all(
        ["held", "deferred", "completed", "waiting"].map((name) => queueOne(store, `${name}@remote.example`)),
      );
      assert.ok(held && deferred && completed && waiting);
      const claimedAt = new Date(Date.now() + 1000);
      const claimed = await store.queue.claim(claimedAt, 10, LEASE_MS);
      assert.equal(claimed.length, 4);
      const later = new Date(claimedAt.getTime() + 86_400_000);
      await store.queue.defer(deferred, later, "451 4.3.0 later");
      await store.queue.complete(completed);
      // `waiting` goes back to "queued" too, then is asked for while not claimed by anyone.
      await store.queue.defer(waiting, later, "451 4.3.0 later");

      const until = new Date(claimedAt.getTime() + 3 * LEASE_MS);
      const renewed = await store.queue.renewLeases(
        [held, deferred, completed, waiting, "no-such-entry", held],
        until,
      );
      assert.deepEqual(renewed, [held]);
      const afterDefer = await store.queue.get(deferred);
      assert.equal(afterDefer?.state, "queued");
      assert.equal(afterDefer?.claimedUntil, null);
      assert.equal(afterDefer?.nextAttemptAt.getTime(), later.getTime());
      assert.equal(await store.queue.get(completed), null);
      assert.deepEqual(await store.queue.renewLeases([], until), []);

      for (const id of [held, deferred, waiting]) await store.queue.complete(id);
    });
  });
}
