// Store contract, part `queue`: the outbound queue and its leases.
// Run by runStoreContract (store-contract.ts) against every backend.

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { Store } from "../../src/store/types.js";
import { describeQueueLeases } from "./queue-leases.js";
import { type ContractContext, message, rejectsWith, writeBlob } from "./support.js";

export function describeQueueContract(context: ContractContext): void {
  describe("queue", () => {
    let store: Store;
    before(() => {
      store = context.store();
    });
    describeQueueLeases(context);

    describe("queue", () => {
      async function queueOne(recipient: string): Promise<string> {
        const blob = await writeBlob(store, message(recipient));
        const result = await store.messages.deliver({
          blob,
          sender: "s@example.net",
          internalDate: new Date(),
          mailboxes: [],
          queue: [{ recipient }],
        });
        return result.queueIds[0]!;
      }

      // Claims are global: each queue test moves time far ahead and settles every entry it claimed.
      /** Empties the queue, including entries other suites left leased or due far in the future. */
      async function drain(now: Date): Promise<void> {
        for (const entry of await store.queue.claim(now, 1000, 60_000)) await store.queue.complete(entry.id);
        for (const entry of await store.queue.list()) await store.queue.complete(entry.id);
      }

      test("claim, lease expiry, defer, retry, complete", async () => {
        await drain(new Date(Date.now() + 10 * 86_400_000));
        const id = await queueOne("claim@remote.example");
        const now = new Date(Date.now() + 1000);
        const claimed = await store.queue.claim(now, 10, 60_000);
        assert.deepEqual(
          claimed.map((e) => e.id),
          [id],
        );
        assert.equal(claimed[0]!.state, "delivering");
        assert.equal(claimed[0]!.attempts, 1);
        assert.equal(claimed[0]!.claimedUntil?.getTime(), now.getTime() + 60_000);
        assert.deepEqual(await store.queue.claim(new Date(now.getTime() + 59_000), 10, 60_000), []);
        // Past the lease the claimer is presumed dead and the entry is due again.
        const reclaimed = await store.queue.claim(new Date(now.getTime() + 61_000), 10, 60_000);
        assert.deepEqual(
          reclaimed.map((e) => [e.id, e.attempts]),
          [[id, 2]],
        );

        const later = new Date(now.getTime() + 3_600_000);
        await store.queue.defer(id, later, "451 4.3.0 try again", true);
        const deferred = await store.queue.get(id);
        assert.equal(deferred?.state, "queued");
        assert.equal(deferred?.nextAttemptAt.getTime(), later.getTime());
        assert.equal(deferred?.lastError, "451 4.3.0 try again");
        assert.equal(deferred?.claimedUntil, null);
        assert.equal(deferred?.delayNotified, true);
        assert.deepEqual(await store.queue.claim(new Date(now.getTime() + 120_000), 10, 60_000), []);

        await store.queue.defer(id, later, "second error");
        assert.equal((await store.queue.get(id))?.delayNotified, true);

        assert.equal(await store.queue.retry(id), 1);
        const due = await store.queue.get(id);
        assert.ok(due!.nextAttemptAt.getTime() <= Date.now());
        assert.equal(await store.queue.retry("no-such-entry"), 0);
        const again = await store.queue.claim(new Date(Date.now() + 1000), 10, 60_000);
        assert.deepEqual(
          again.map((e) => e.id),
          [id],
        );
        await store.queue.complete(id);
        assert.equal(await store.queue.get(id), null);
        await rejectsWith(store.queue.complete(id), "not-found");
        await rejectsWith(store.queue.defer(id, later, "x"), "not-found");
      });

      test("claim respects the limit and takes each entry once", async () => {
        await drain(new Date(Date.now() + 10 * 86_400_000));
        const ids = await Promise.all([1, 2, 3].map((n) => queueOne(`limit${n}@remote.example`)));
        const now = new Date(Date.now() + 1000);
        const first = await store.queue.claim(now, 2, 60_000);
        const second = await store.queue.claim(now, 2, 60_000);
        assert.equal(first.length, 2);
        assert.equal(second.length, 1);
        assert.deepEqual([...first, ...second].map((e) => e.id).sort(), [...ids].sort());
        const listed = await store.queue.list();
        for (const id of ids) assert.equal(listed.find((e) => e.id === id)?.state, "delivering");
        for (const id of ids) await store.queue.complete(id);
      });

      test("retryQueue without an id makes every queued entry due", async () => {
        await drain(new Date(Date.now() + 10 * 86_400_000));
        const ids = await Promise.all([1, 2].map((n) => queueOne(`retry${n}@remote.example`)));
        const now = new Date(Date.now() + 1000);
        await store.queue.claim(now, 10, 60_000);
        const farAway = new Date(Date.now() + 86_400_000);
        for (const id of ids) await store.queue.defer(id, farAway, "later");
        assert.equal(await store.queue.retry(), 2);
        const claimed = await store.queue.claim(new Date(Date.now() + 1000), 10, 60_000);
        assert.deepEqual(claimed.map((e) => e.id).sort(), [...ids].sort());
        for (const id of ids) await store.queue.complete(id);
      });

      /** completeMany's commit may become durable a little later; the bodies it frees go then. */
      async function bodyGoesAway(messageId: string): Promise<void> {
        const deadline = Date.now() + 5000;
        for (;;) {
          const readable = await store.blobs.readBlobBytes(messageId).then(
            () => true,
            () => false,
          );
          if (!readable) return;
          assert.ok(Date.now() < deadline, `the body of ${messageId} is still there`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }

      test("completeMany removes several entries in one call and skips unknown ones", async () => {
        await drain(new Date(Date.now() + 10 * 86_400_000));
        const ids = await Promise.all([1, 2, 3].map((n) => queueOne(`many${n}@remote.example`)));
        const [first, second, third] = ids as [string, string, string];
        const claimed = await store.queue.claim(new Date(Date.now() + 1000), 10, 60_000);
        assert.deepEqual(claimed.map((e) => e.id).sort(), [...ids].sort());
        assert.deepEqual(await store.queue.completeMany([]), []);
        // Given order kept; a repeated id and one that names nothing are left out, the rest still go.
        assert.deepEqual(await store.queue.completeMany([second, "no-such-entry", first, second]), [
          second,
          first,
        ]);
        assert.equal(await store.queue.get(first), null);
        assert.equal(await store.queue.get(second), null);
        assert.equal((await store.queue.get(third))?.state, "delivering");
        // Their bodies went with them; the third's is still there to send.
        await bodyGoesAway((claimed.find((e) => e.id === first) as { messageId: string }).messageId);
        assert.match(
          (
            await store.blobs.readBlobBytes(
              (claimed.find((e) => e.id === third) as { messageId: string }).messageId,
            )
          ).toString(),
          /many3@remote\.example/,
        );
        assert.deepEqual(await store.queue.completeMany([first]), []);
        assert.deepEqual(await store.queue.completeMany([third]), [third]);
        assert.deepEqual(await store.queue.stats(), { size: 0, oldestCreatedAt: null });
      });

      test("completeMany keeps a body another entry of the message still needs", async () => {
        await drain(new Date(Date.now() + 10 * 86_400_000));
        const blob = await writeBlob(store, message("shared1@remote.example"));
        const result = await store.messages.deliver({
          blob,
          sender: "s@example.net",
          internalDate: new Date(),
          mailboxes: [],
          queue: [{ recipient: "shared1@remote.example" }, { recipient: "shared2@other.example" }],
        });
        const [one, two] = result.queueIds as [string, string];
        const entry = await store.queue.get(one);
        assert.ok(entry);
        assert.deepEqual(await store.queue.completeMany([one]), [one]);
        assert.match((await store.blobs.readBlobBytes(entry.messageId)).toString(), /shared1/);
        assert.deepEqual(await store.queue.completeMany([two]), [two]);
        await bodyGoesAway(entry.messageId);
      });

      test("cancelMessage takes back all of a message's waiting entries, none while one is delivering", async () => {
        await drain(new Date(Date.now() + 10 * 86_400_000));
        const blob = await writeBlob(store, message("cancel@remote.example"));
        const delivered = await store.messages.deliver({
          blob,
          sender: "s@example.net",
          internalDate: new Date(),
          mailboxes: [],
          queue: [{ recipient: "cancel1@remote.example" }, { recipient: "cancel2@remote.example" }],
        });
        const [first] = delivered.queueIds;
        assert.ok(first);
        const [claimed] = await store.queue.claim(new Date(Date.now() + 1000), 1, 60_000);
        assert.ok(claimed);
        assert.equal(await store.queue.cancelMessage(delivered.messageId), "in-flight");
        assert.equal((await store.queue.list()).length, 2, "nothing taken while one is being delivered");
        await store.queue.defer(claimed.id, new Date(Date.now() + 86_400_000), "451 later");
        assert.equal(await store.queue.cancelMessage(delivered.messageId), "canceled");
        assert.deepEqual(await store.queue.list(), []);
        await rejectsWith(store.blobs.readBlobBytes(delivered.messageId), "not-found");
        assert.equal(await store.queue.cancelMessage(delivered.messageId), "none");
      });

      test("a held delivery (RFC 4865): no claim before the release, retry keeps the hold, cancel works", async () => {
        await drain(new Date(Date.now() + 10 * 86_400_000));
        const release = new Date(Math.ceil((Date.now() + 3_600_000) / 1000) * 1000);
        const blob = await writeBlob(store, message("held@remote.example"));
        const delivered = await store.messages.deliver({
          blob,
          sender: "s@example.net",
          internalDate: new Date(),
          mailboxes: [],
          queue: [
            { recipient: "held@remote.example" },
            { recipient: "bob@example.org", local: true, dsn: { notify: ["SUCCESS"] } },
          ],
          holdUntil: release,
        });
        const entries = await Promise.all(delivered.queueIds.map((id) => store.queue.get(id)));
        assert.deepEqual(
          entries.map((entry) => [entry?.recipient, entry?.local, entry?.holdUntil?.getTime()]),
          [
            ["held@remote.example", false, release.getTime()],
            ["bob@example.org", true, release.getTime()],
          ],
        );
        for (const entry of entries) assert.equal(entry?.nextAttemptAt.getTime(), release.getTime());
        assert.deepEqual(entries[1]?.dsn, { notify: ["SUCCESS"] });

        assert.deepEqual(await store.queue.claim(new Date(release.getTime() - 1000), 10, 60_000), []);
        // `mailroom queue retry` does not release a hold: the entries stay due at their release.
        assert.equal(await store.queue.retry(), 2);
        assert.equal(await store.queue.retry(delivered.queueIds[0]), 1);
        for (const id of delivered.queueIds) {
          assert.equal((await store.queue.get(id))?.nextAttemptAt.getTime(), release.getTime());
        }
        assert.deepEqual(await store.queue.claim(new Date(), 10, 60_000), []);

        // During the hold the sender may take it all back (JMAP undoStatus "canceled").
        assert.equal(await store.queue.cancelMessage(delivered.messageId), "canceled");
        assert.deepEqual(await store.queue.list(), []);
        await rejectsWith(store.blobs.readBlobBytes(delivered.messageId), "not-found");
      });

      test("nextDue: the earliest next attempt or lease end, null when the queue is empty", async () => {
        await drain(new Date(Date.now() + 10 * 86_400_000));
        assert.equal(await store.queue.nextDue(), null);
        const release = new Date(Math.ceil((Date.now() + 3_600_000) / 1000) * 1000);
        const blob = await writeBlob(store, message("due-held@remote.example"));
        await store.messages.deliver({
          blob,
          sender: "s@example.net",
          internalDate: new Date(),
          mailboxes: [],
          queue: [{ recipient: "due-held@remote.example" }],
          holdUntil: release,
        });
        assert.equal((await store.queue.nextDue())?.getTime(), release.getTime());

        const id = await queueOne("due-now@remote.example");
        const queuedAt = (await store.queue.get(id))!.nextAttemptAt;
        assert.ok(queuedAt.getTime() < release.getTime());
        assert.equal((await store.queue.nextDue())?.getTime(), queuedAt.getTime());

        // Claimed, the entry counts from its lease end: due again then if its claimer died.
        const claimedAt = new Date(queuedAt.getTime() + 1000);
        assert.deepEqual(
          (await store.queue.claim(claimedAt, 10, 60_000)).map((e) => e.id),
          [id],
        );
        assert.equal((await store.queue.nextDue())?.getTime(), claimedAt.getTime() + 60_000);
        const retryAt = new Date(release.getTime() + 60_000);
        await store.queue.defer(id, retryAt, "451 4.3.0 later");
        assert.equal((await store.queue.nextDue())?.getTime(), release.getTime());
        await drain(new Date(Date.now() + 10 * 86_400_000));
        assert.equal(await store.queue.nextDue(), null);
      });

      test("a held entry is claimed at its release and, deferred after, retried as usual", async () => {
        await drain(new Date(Date.now() + 10 * 86_400_000));
        const release = new Date(Math.ceil((Date.now() + 60_000) / 1000) * 1000);
        const blob = await writeBlob(store, message("later@remote.example"));
        const delivered = await store.messages.deliver({
          blob,
          sender: "s@example.net",
          internalDate: new Date(),
          mailboxes: [],
          queue: [{ recipient: "later@remote.example" }],
          holdUntil: release,
        });
        const [id] = delivered.queueIds;
        const claimed = await store.queue.claim(release, 10, 60_000);
        assert.deepEqual(
          claimed.map((entry) => [entry.id, entry.holdUntil?.getTime(), entry.local]),
          [[id, release.getTime(), false]],
        );
        // Deferred after its release, retry() makes it due again, at the release at the earliest.
        await store.queue.defer(id!, new Date(release.getTime() + 3_600_000), "451 later");
        assert.equal(await store.queue.retry(id), 1);
        assert.equal((await store.queue.get(id!))?.nextAttemptAt.getTime(), release.getTime());
        await store.queue.complete(id!);
      });

      test("a delivery without a hold has none, and a bad release time is refused", async () => {
        const id = await queueOne("nohold@remote.example");
        const entry = await store.queue.get(id);
        assert.equal(entry?.holdUntil, null);
        assert.equal(entry?.local, false);
        await store.queue.complete(id);
        const blob = await writeBlob(store, message("badhold@remote.example"));
        await rejectsWith(
          store.messages.deliver({
            blob,
            sender: "s@example.net",
            internalDate: new Date(),
            mailboxes: [],
            queue: [{ recipient: "badhold@remote.example" }],
            holdUntil: new Date(Number.NaN),
          }),
          "invalid",
        );
      });

      test("stats count queued and delivering entries and name the oldest", async () => {
        await drain(new Date(Date.now() + 10 * 86_400_000));
        assert.deepEqual(await store.queue.stats(), { size: 0, oldestCreatedAt: null });
        const before = Date.now();
        const first = await queueOne("stats1@remote.example");
        const second = await queueOne("stats2@remote.example");
        const created = (await store.queue.get(first))!.createdAt;
        await store.queue.claim(new Date(Date.now() + 1000), 1, 60_000);
        const stats = await store.queue.stats();
        assert.equal(stats.size, 2);
        assert.equal(stats.oldestCreatedAt?.getTime(), created.getTime());
        assert.ok(created.getTime() >= before - 1000, "the oldest is one of these entries");
        await store.queue.complete(first);
        assert.equal((await store.queue.stats()).size, 1);
        await store.queue.complete(second);
        assert.deepEqual(await store.queue.stats(), { size: 0, oldestCreatedAt: null });
      });
    });
  });
}
