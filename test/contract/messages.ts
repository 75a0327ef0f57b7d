// Store contract, part `messages`: mailbox entries (deliver, append, UIDs and MODSEQ, flags,
// expunge, copy and move, listing).
// Run by runStoreContract (store-contract.ts) against every backend.

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { type Store, StoreError } from "../../src/store/types.js";
import { describeListMessages } from "./list-messages.js";
import { type ContractContext, message, rejectsWith, writeBlob } from "./support.js";

export function describeMessagesContract(context: ContractContext): void {
  describe("messages", () => {
    let store: Store;
    before(() => {
      store = context.store();
    });
    const { freshUser, deliverTo } = context;
    describeListMessages(context);

    describe("deliver and append", () => {
      test("one body shared by several mailboxes, plus queue entries", async () => {
        const a = await freshUser();
        const b = await freshUser();
        const blob = await writeBlob(store, message("shared"));
        const date = new Date("2024-05-06T07:08:09.000Z");
        const result = await store.messages.deliver({
          blob,
          sender: "Sender@Example.NET",
          internalDate: date,
          mailboxes: [{ mailboxId: a.inbox.id, flags: ["\\Seen", "$Label1"] }, { mailboxId: b.inbox.id }],
          queue: [
            {
              recipient: "r1@remote.example",
              dsn: { notify: ["SUCCESS", "FAILURE"], orcpt: "rfc822;r1@remote.example" },
            },
            { recipient: "r2@remote.example" },
          ],
          envelopeDsn: { ret: "HDRS", envid: "ENV123" },
        });
        assert.equal(result.messageId, blob.id);
        assert.deepEqual(result.uids, [
          { mailboxId: a.inbox.id, uid: 1 },
          { mailboxId: b.inbox.id, uid: 1 },
        ]);
        assert.equal(result.queueIds.length, 2);
        assert.equal(new Set(result.queueIds).size, 2);

        const inA = await store.messages.getMessage(a.inbox.id, 1);
        assert.ok(inA);
        assert.equal(inA.messageId, blob.id);
        assert.equal(inA.size, blob.size);
        assert.equal(inA.internalDate.getTime(), date.getTime());
        assert.deepEqual([...inA.flags].sort(), ["$Label1", "\\Seen"]);
        assert.deepEqual((await store.messages.getMessage(b.inbox.id, 1))?.flags, []);
        assert.equal(await store.messages.getMessage(a.inbox.id, 2), null);

        const q1 = await store.queue.get(result.queueIds[0]!);
        assert.ok(q1);
        assert.equal(q1.messageId, blob.id);
        assert.equal(q1.recipient, "r1@remote.example");
        assert.deepEqual(q1.dsn, { notify: ["SUCCESS", "FAILURE"], orcpt: "rfc822;r1@remote.example" });
        assert.deepEqual(q1.envelopeDsn, { ret: "HDRS", envid: "ENV123" });
        assert.equal(q1.state, "queued");
        assert.equal(q1.attempts, 0);
        assert.equal(q1.lastError, null);
        assert.equal(q1.claimedUntil, null);
        assert.equal(q1.delayNotified, false);
        assert.ok(q1.nextAttemptAt.getTime() <= Date.now());
        const q2 = await store.queue.get(result.queueIds[1]!);
        assert.deepEqual(q2?.dsn, {});

        // The body stays while anything references it, and goes with the last reference.
        await store.messages.expunge(a.inbox.id, [1]);
        await store.messages.expunge(b.inbox.id, [1]);
        assert.equal((await store.blobs.readBlobBytes(blob.id)).toString(), message("shared"));
        await store.queue.complete(result.queueIds[0]!);
        assert.equal((await store.blobs.readBlobBytes(blob.id)).toString(), message("shared"));
        await store.queue.complete(result.queueIds[1]!);
        await rejectsWith(store.blobs.readBlobBytes(blob.id), "not-found");
      });

      test("null sender, queue-only delivery", async () => {
        const blob = await writeBlob(store, message("bounce"));
        const result = await store.messages.deliver({
          blob,
          sender: "",
          internalDate: new Date(),
          mailboxes: [],
          queue: [{ recipient: "someone@remote.example" }],
        });
        assert.deepEqual(result.uids, []);
        const entry = await store.queue.get(result.queueIds[0]!);
        assert.equal(entry?.sender, "");
        await store.queue.complete(result.queueIds[0]!);
      });

      test("an unknown mailbox fails that delivery only, with nothing committed", async () => {
        const { inbox } = await freshUser();
        const good = writeBlob(store, message("good"));
        const bad = writeBlob(store, message("bad"));
        const [goodBlob, badBlob] = await Promise.all([good, bad]);
        const queueBefore = (await store.queue.list()).length;
        const results = await Promise.allSettled([
          store.messages.deliver({
            blob: goodBlob,
            sender: "",
            internalDate: new Date(),
            mailboxes: [{ mailboxId: inbox.id }],
            queue: [],
          }),
          store.messages.deliver({
            blob: badBlob,
            sender: "",
            internalDate: new Date(),
            mailboxes: [{ mailboxId: inbox.id }, { mailboxId: inbox.id + 1000000 }],
            queue: [{ recipient: "x@remote.example" }],
          }),
        ]);
        assert.equal(results[0]!.status, "fulfilled");
        assert.equal(results[1]!.status, "rejected");
        const reason = (results[1] as PromiseRejectedResult).reason;
        assert.ok(reason instanceof StoreError);
        assert.equal(reason.code, "not-found");
        const listed = await store.messages.listMessages(inbox.id);
        assert.deepEqual(
          listed.map((m) => m.messageId),
          [goodBlob.id],
        );
        assert.equal((await store.queue.list()).length, queueBefore);
      });

      test("a delivery with no recipients is invalid", async () => {
        const blob = await writeBlob(store, message("nobody"));
        await rejectsWith(
          store.messages.deliver({ blob, sender: "", internalDate: new Date(), mailboxes: [], queue: [] }),
          "invalid",
        );
      });

      test("append returns the stored message", async () => {
        const { user } = await freshUser();
        const sent = (await store.mailboxes.getMailbox(user.id, "Sent"))!;
        const blob = await writeBlob(store, message("appended"));
        const date = new Date("2023-01-02T03:04:05.000Z");
        const appended = await store.messages.append(sent.id, blob, ["\\Seen", "\\Draft"], date);
        assert.equal(appended.mailboxId, sent.id);
        assert.equal(appended.uid, 1);
        assert.equal(appended.messageId, blob.id);
        assert.equal(appended.size, blob.size);
        assert.equal(appended.internalDate.getTime(), date.getTime());
        assert.deepEqual([...appended.flags].sort(), ["\\Draft", "\\Seen"]);
        assert.deepEqual(await store.messages.getMessage(sent.id, 1), appended);
        const blob2 = await writeBlob(store, message("x"));
        await rejectsWith(store.messages.append(sent.id + 1000000, blob2, [], new Date()), "not-found");
      });

      test("50 concurrent deliveries all succeed with distinct UIDs", async () => {
        const { inbox } = await freshUser();
        const blobs = await Promise.all(
          Array.from({ length: 50 }, (_, i) => writeBlob(store, message(`c${i}`))),
        );
        const results = await Promise.all(
          blobs.map((blob) =>
            store.messages.deliver({
              blob,
              sender: "",
              internalDate: new Date(),
              mailboxes: [{ mailboxId: inbox.id }],
              queue: [],
            }),
          ),
        );
        const uids = results.map((r) => r.uids[0]!.uid);
        assert.equal(new Set(uids).size, 50);
        assert.deepEqual(
          [...uids].sort((a, b) => a - b),
          Array.from({ length: 50 }, (_, i) => i + 1),
        );
        const listed = await store.messages.listMessages(inbox.id);
        assert.equal(listed.length, 50);
        for (const [index, result] of results.entries()) {
          const entry = listed.find((m) => m.uid === result.uids[0]!.uid);
          assert.equal(entry?.messageId, blobs[index]!.id);
        }
        assert.equal((await store.mailboxes.mailboxStatus(inbox.id)).uidNext, 51);
      });
    });

    describe("UIDs and MODSEQ", () => {
      test("UIDs increase and are never reused after expunge", async () => {
        const { inbox } = await freshUser();
        const first = await deliverTo(inbox.id, "1");
        const second = await deliverTo(inbox.id, "2");
        assert.ok(second.uid > first.uid);
        assert.deepEqual(await store.messages.expunge(inbox.id, [second.uid]), [second.uid]);
        const third = await deliverTo(inbox.id, "3");
        assert.ok(third.uid > second.uid);
        assert.deepEqual(
          (await store.messages.listMessages(inbox.id)).map((m) => m.uid),
          [first.uid, third.uid],
        );
      });

      test("every append, flag change and expunge raises the mailbox's highestModseq", async () => {
        const { inbox } = await freshUser();
        const modseq = async () => (await store.mailboxes.mailboxStatus(inbox.id)).highestModseq;
        const m0 = await modseq();
        assert.equal(m0, 1);
        const { uid } = await deliverTo(inbox.id, "m");
        const m1 = await modseq();
        assert.ok(m1 > m0);
        assert.equal((await store.messages.getMessage(inbox.id, uid))?.modseq, m1);
        await store.messages.updateFlags(inbox.id, [uid], "add", ["\\Seen"]);
        const m2 = await modseq();
        assert.ok(m2 > m1);
        assert.equal((await store.messages.getMessage(inbox.id, uid))?.modseq, m2);
        // A no-op change changes nothing.
        const noop = await store.messages.updateFlags(inbox.id, [uid], "add", ["\\seen"]);
        assert.deepEqual(noop.updated, []);
        assert.equal(await modseq(), m2);
        await store.messages.expunge(inbox.id, [uid]);
        assert.ok((await modseq()) > m2);
        // Expunging nothing changes nothing.
        const m3 = await modseq();
        assert.deepEqual(await store.messages.expunge(inbox.id, [uid, 999]), []);
        assert.equal(await modseq(), m3);
      });

      test("updateFlags add, remove, set; unknown UIDs ignored", async () => {
        const { inbox } = await freshUser();
        const { uid } = await deliverTo(inbox.id, "flags", ["\\Seen"]);
        const added = await store.messages.updateFlags(inbox.id, [uid, 4242], "add", ["\\Flagged", "$Work"]);
        assert.equal(added.updated.length, 1);
        assert.deepEqual([...added.updated[0]!.flags].sort(), ["$Work", "\\Flagged", "\\Seen"]);
        assert.deepEqual(added.modified, []);
        const removed = await store.messages.updateFlags(inbox.id, [uid], "remove", ["\\seen", "$work"]);
        assert.deepEqual(removed.updated[0]!.flags, ["\\Flagged"]);
        const set = await store.messages.updateFlags(inbox.id, [uid], "set", ["\\Answered"]);
        assert.deepEqual(set.updated[0]!.flags, ["\\Answered"]);
        assert.deepEqual((await store.messages.getMessage(inbox.id, uid))?.flags, ["\\Answered"]);
        assert.equal(set.updated[0]!.modseq, (await store.mailboxes.mailboxStatus(inbox.id)).highestModseq);
        assert.equal((await store.mailboxes.mailboxStatus(inbox.id)).unseen, 1);
      });

      test("one updateFlags over many messages with different flags changes each as its own", async () => {
        const { inbox } = await freshUser();
        const starting = [[], ["\\Seen"], ["\\Flagged"], ["\\Seen", "$Later"]];
        const uids: number[] = [];
        for (let n = 0; n < 40; n++) {
          uids.push((await deliverTo(inbox.id, `m${n}`, starting[n % starting.length])).uid);
        }
        const before = await store.messages.listMessages(inbox.id);
        // Given unsorted, with a repeat and a UID the mailbox lacks.
        const given = [...uids].reverse().concat(uids[3]!, 99_999);
        const result = await store.messages.updateFlags(inbox.id, given, "add", ["\\Flagged"]);
        const changed = uids.filter((_, n) => n % starting.length !== 2);
        assert.deepEqual(
          result.updated.map((m) => m.uid),
          changed,
        );
        const modseq = (await store.mailboxes.mailboxStatus(inbox.id)).highestModseq;
        const after = await store.messages.listMessages(inbox.id);
        assert.deepEqual(
          result.updated,
          after.filter((m) => changed.includes(m.uid)),
        );
        for (const [n, message] of after.entries()) {
          const flags = starting[n % starting.length]!;
          assert.deepEqual(
            [...message.flags].sort(),
            [...new Set([...flags, "\\Flagged"])].sort(),
            `UID ${message.uid}`,
          );
          assert.equal(message.modseq, changed.includes(message.uid) ? modseq : before[n]!.modseq);
        }
        assert.equal((await store.mailboxes.mailboxStatus(inbox.id)).unseen, 20);
        const cleared = await store.messages.updateFlags(inbox.id, uids, "remove", ["\\Seen"]);
        assert.equal(cleared.updated.length, 20);
        assert.equal((await store.mailboxes.mailboxStatus(inbox.id)).unseen, 40);
      });

      test("UNCHANGEDSINCE leaves newer messages alone and reports them", async () => {
        const { inbox } = await freshUser();
        const a = await deliverTo(inbox.id, "a");
        const b = await deliverTo(inbox.id, "b");
        const before = (await store.messages.getMessage(inbox.id, a.uid))!.modseq;
        await store.messages.updateFlags(inbox.id, [b.uid], "add", ["\\Seen"]);
        const result = await store.messages.updateFlags(inbox.id, [a.uid, b.uid], "add", ["\\Flagged"], {
          unchangedSince: (await store.messages.getMessage(inbox.id, a.uid))!.modseq,
        });
        assert.deepEqual(
          result.updated.map((m) => m.uid),
          [a.uid],
        );
        assert.deepEqual(result.modified, [b.uid]);
        assert.deepEqual((await store.messages.getMessage(inbox.id, b.uid))?.flags, ["\\Seen"]);
        assert.ok((await store.messages.getMessage(inbox.id, a.uid))!.modseq > before);
      });

      test("listMessages sinceModseq and expungedSince", async () => {
        const { inbox } = await freshUser();
        const a = await deliverTo(inbox.id, "a");
        const b = await deliverTo(inbox.id, "b");
        const c = await deliverTo(inbox.id, "c");
        const mark = (await store.mailboxes.mailboxStatus(inbox.id)).highestModseq;
        assert.deepEqual(await store.messages.listMessages(inbox.id, { sinceModseq: mark }), []);
        await store.messages.updateFlags(inbox.id, [b.uid], "add", ["\\Seen"]);
        await store.messages.expunge(inbox.id, [c.uid]);
        assert.deepEqual(
          (await store.messages.listMessages(inbox.id, { sinceModseq: mark })).map((m) => m.uid),
          [b.uid],
        );
        assert.deepEqual(await store.messages.expungedSince(inbox.id, mark), [c.uid]);
        assert.deepEqual(
          await store.messages.expungedSince(
            inbox.id,
            (await store.mailboxes.mailboxStatus(inbox.id)).highestModseq,
          ),
          [],
        );
        assert.deepEqual(
          (await store.messages.listMessages(inbox.id, { sinceModseq: 0 })).map((m) => m.uid),
          [a.uid, b.uid],
        );
      });
    });

    describe("copy and move", () => {
      test("copy maps source UIDs to new destination UIDs and keeps flags", async () => {
        const { user, inbox } = await freshUser();
        const archive = (await store.mailboxes.getMailbox(user.id, "Archive"))!;
        await deliverTo(archive.id, "pre-existing");
        const a = await deliverTo(inbox.id, "a", ["\\Seen"]);
        const b = await deliverTo(inbox.id, "b");
        const result = await store.messages.copyMessages(inbox.id, [b.uid, a.uid, 999], archive.id);
        assert.equal(result.uidValidity, archive.uidValidity);
        assert.deepEqual(result.mapping, [
          [a.uid, 2],
          [b.uid, 3],
        ]);
        const copied = await store.messages.getMessage(archive.id, 2);
        assert.deepEqual(copied?.flags, ["\\Seen"]);
        assert.equal(copied?.messageId, a.blob.id);
        assert.equal((await store.messages.listMessages(inbox.id)).length, 2);
        const empty = await store.messages.copyMessages(inbox.id, [999], archive.id);
        assert.deepEqual(empty.mapping, []);
        await rejectsWith(store.messages.copyMessages(inbox.id, [a.uid], archive.id + 1000000), "not-found");
      });

      test("move copies and expunges in one step", async () => {
        const { user, inbox } = await freshUser();
        const trash = (await store.mailboxes.getMailbox(user.id, "Trash"))!;
        const a = await deliverTo(inbox.id, "a");
        const b = await deliverTo(inbox.id, "b");
        const mark = (await store.mailboxes.mailboxStatus(inbox.id)).highestModseq;
        const result = await store.messages.moveMessages(inbox.id, [a.uid], trash.id);
        assert.deepEqual(result.mapping, [[a.uid, 1]]);
        assert.equal(result.uidValidity, trash.uidValidity);
        assert.deepEqual(
          (await store.messages.listMessages(inbox.id)).map((m) => m.uid),
          [b.uid],
        );
        assert.deepEqual(await store.messages.expungedSince(inbox.id, mark), [a.uid]);
        assert.equal(
          (
            await store.blobs.readBlobBytes((await store.messages.getMessage(trash.id, 1))!.messageId)
          ).toString(),
          message("a"),
        );
      });

      test("save dates (RFC 8514): now at append, delivery, copy and move; import keeps or defaults them", async () => {
        const { user, inbox } = await freshUser();
        const trash = (await store.mailboxes.getMailbox(user.id, "Trash"))!;
        const old = new Date("2001-02-03T04:05:06.000Z");
        const before = Date.now();
        const appended = await store.messages.append(inbox.id, await writeBlob(store, message("s")), [], old);
        assert.equal(appended.internalDate.getTime(), old.getTime());
        assert.ok(appended.savedDate.getTime() >= before && appended.savedDate.getTime() <= Date.now());
        const delivered = await deliverTo(inbox.id, "d");
        const deliveredEntry = await store.messages.getMessage(inbox.id, delivered.uid);
        assert.ok((deliveredEntry?.savedDate.getTime() ?? 0) >= before);
        const listed = await store.messages.listMessages(inbox.id);
        assert.deepEqual(
          listed.map((m) => m.savedDate.getTime()),
          [appended.savedDate.getTime(), deliveredEntry?.savedDate.getTime()],
        );
        const beforeCopy = Date.now();
        const copy = await store.messages.copyMessages(inbox.id, [appended.uid], trash.id);
        const moved = await store.messages.moveMessages(inbox.id, [delivered.uid], trash.id);
        for (const uid of [copy.mapping[0]?.[1], moved.mapping[0]?.[1]]) {
          const entry = await store.messages.getMessage(trash.id, uid ?? 0);
          assert.ok(entry);
          assert.ok(entry.savedDate.getTime() >= beforeCopy, "a copy or move is saved anew");
        }
        const archive = (await store.mailboxes.getMailbox(user.id, "Archive"))!;
        const saved = new Date("2010-01-01T00:00:00.000Z");
        await store.imports.importMessages(archive.id, [
          {
            uid: 1,
            blob: await writeBlob(store, message("i1")),
            flags: [],
            internalDate: old,
            savedDate: saved,
            modseq: 1,
            emailId: 9001,
            threadId: 9001,
          },
          {
            uid: 2,
            blob: await writeBlob(store, message("i2")),
            flags: [],
            internalDate: old,
            modseq: 2,
            emailId: 9002,
            threadId: 9002,
          },
        ]);
        assert.deepEqual(
          (await store.messages.listMessages(archive.id)).map((m) => m.savedDate.toISOString()),
          [saved.toISOString(), old.toISOString()],
        );
        assert.equal(
          (await store.messages.getMessage(archive.id, 2))?.savedDate.toISOString(),
          old.toISOString(),
        );
      });
    });
  });
}
