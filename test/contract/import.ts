// Contract for the import family (`mailroom migrate`): run inside runStoreContract against every backend.
// Ids and IMAP numbers given to the import methods must come back exactly.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { newMessageId, newQueueId } from "../../src/store/ids.js";
import type { BlobRef, Mailbox, QueueEntry, Store } from "../../src/store/types.js";
import { rejectsWith } from "./support.js";

export interface ImportContext {
  store(): Store;
  freshUser(): Promise<{ inbox: Mailbox; user: { id: number } }>;
}

async function body(store: Store, text: string, id = newMessageId()): Promise<BlobRef> {
  const writer = await store.blobs.createBlobWriter({ id });
  assert.equal(writer.id, id);
  await writer.write(Buffer.from(text));
  return writer.finish();
}

const text = (subject: string) => `Subject: ${subject}\r\n\r\nbody of ${subject}\r\n`;

export function describeImport(context: ImportContext): void {
  describe("import (mailroom migrate)", () => {
    test("a body written under a given id keeps it; bad or taken ids are refused; hasBlobs", async () => {
      const store = context.store();
      const { inbox } = await context.freshUser();
      const id = newMessageId();
      const ref = await body(store, text("kept id"), id);
      assert.deepEqual(ref, { id, size: Buffer.byteLength(text("kept id")) });
      await store.imports.importMessages(inbox.id, [
        { uid: 1, blob: ref, flags: [], internalDate: new Date(), modseq: 1, emailId: 1, threadId: 1 },
      ]);
      assert.equal((await store.blobs.readBlobBytes(id)).toString(), text("kept id"));
      await rejectsWith(store.blobs.createBlobWriter({ id }), "exists");
      await rejectsWith(store.blobs.createBlobWriter({ id: "../../etc/passwd" }), "invalid");
      const unfinished = await store.blobs.createBlobWriter();
      await unfinished.write(Buffer.from("half"));
      const absent = newMessageId();
      const found = await store.imports.hasBlobs([id, absent, unfinished.id]);
      assert.deepEqual([...found], [id]);
      await unfinished.abort();
    });

    test("importMailbox creates with the given numbers, adopts an empty mailbox, refuses a full one", async () => {
      const store = context.store();
      const { user, inbox } = await context.freshUser();
      const created = await store.imports.importMailbox(user.id, {
        name: "Projects/Old",
        specialUse: "\\Archive",
        subscribed: false,
        uidValidity: 1_000_000_001,
        uidNext: 40,
        highestModseq: 90,
      });
      assert.equal(created.name, "Projects/Old");
      assert.equal(created.specialUse, "\\Archive");
      assert.equal(created.subscribed, false);
      assert.equal(created.uidValidity, 1_000_000_001);
      assert.equal(created.uidNext, 40);
      assert.equal(created.highestModseq, 90);
      assert.deepEqual(await store.mailboxes.getMailbox(user.id, "Projects/Old"), created);

      // A second import with lower numbers never moves UIDNEXT or HIGHESTMODSEQ back.
      const again = await store.imports.importMailbox(user.id, {
        name: "Projects/Old",
        specialUse: null,
        subscribed: true,
        uidValidity: 1_000_000_001,
        uidNext: 10,
        highestModseq: 95,
      });
      assert.equal(again.id, created.id);
      assert.equal(again.uidNext, 40);
      assert.equal(again.highestModseq, 95);
      assert.equal(again.subscribed, true);
      assert.equal(again.specialUse, null);

      // INBOX as addUser made it: empty, so it takes the source's UIDVALIDITY.
      const adopted = await store.imports.importMailbox(user.id, {
        name: "INBOX",
        specialUse: null,
        subscribed: true,
        uidValidity: 7,
        uidNext: 3,
        highestModseq: 5,
      });
      assert.equal(adopted.id, inbox.id);
      assert.equal(adopted.uidValidity, 7);
      assert.equal(adopted.uidNext, 3);

      const ref = await body(store, text("occupied"));
      await store.imports.importMessages(inbox.id, [
        { uid: 1, blob: ref, flags: [], internalDate: new Date(), modseq: 2, emailId: 1, threadId: 1 },
      ]);
      await rejectsWith(
        store.imports.importMailbox(user.id, {
          name: "INBOX",
          specialUse: null,
          subscribed: true,
          uidValidity: 8,
          uidNext: 2,
          highestModseq: 2,
        }),
        "not-empty",
      );
      assert.equal((await store.mailboxes.getMailbox(user.id, "INBOX"))?.uidValidity, 7, "nothing changed");

      // Mailboxes created afterwards still get a UIDVALIDITY above every imported one.
      const fresh = await store.mailboxes.createMailbox(user.id, "Later");
      assert.ok(fresh.uidValidity > 1_000_000_001);
      await rejectsWith(
        store.imports.importMailbox(user.id, {
          name: "Bad",
          specialUse: null,
          subscribed: true,
          uidValidity: 0,
          uidNext: 1,
          highestModseq: 1,
        }),
        "invalid",
      );
    });

    test("importMessages inserts under the given UIDs and updates flags of present ones", async () => {
      const store = context.store();
      const { user } = await context.freshUser();
      const mailbox = await store.imports.importMailbox(user.id, {
        name: "Imported",
        specialUse: null,
        subscribed: true,
        uidValidity: 4242,
        uidNext: 1,
        highestModseq: 1,
      });
      const shared = await body(store, text("shared"));
      const other = await body(store, text("other"));
      const date = new Date("2024-03-01T10:00:00Z");
      await store.imports.importMessages(mailbox.id, [
        {
          uid: 3,
          blob: shared,
          flags: ["\\Seen", "$Label1"],
          internalDate: date,
          modseq: 7,
          emailId: 3,
          threadId: 3,
        },
        { uid: 9, blob: other, flags: [], internalDate: date, modseq: 4, emailId: 9, threadId: 9 },
      ]);
      let listed = await store.messages.listMessages(mailbox.id);
      assert.deepEqual(
        listed.map((m) => [
          m.uid,
          m.messageId,
          [...m.flags].sort(),
          m.internalDate.getTime(),
          m.modseq,
          m.size,
        ]),
        [
          [3, shared.id, ["$Label1", "\\Seen"], date.getTime(), 7, shared.size],
          [9, other.id, [], date.getTime(), 4, other.size],
        ],
      );
      let status = await store.mailboxes.mailboxStatus(mailbox.id);
      assert.equal(status.uidNext, 10);
      assert.equal(status.highestModseq, 7);
      assert.equal(status.unseen, 1);

      await store.imports.importMessages(mailbox.id, [
        {
          uid: 9,
          blob: other,
          flags: ["\\Flagged"],
          internalDate: date,
          modseq: 12,
          emailId: 9,
          threadId: 9,
        },
      ]);
      listed = await store.messages.listMessages(mailbox.id);
      assert.equal(listed.length, 2);
      assert.deepEqual(listed[1]?.flags, ["\\Flagged"]);
      assert.equal(listed[1]?.modseq, 12);
      status = await store.mailboxes.mailboxStatus(mailbox.id);
      assert.equal(status.highestModseq, 12);

      // A delivery after the import continues above the imported UIDs.
      const next = await body(store, text("after"));
      const delivered = await store.messages.deliver({
        blob: next,
        sender: "",
        internalDate: new Date(),
        mailboxes: [{ mailboxId: mailbox.id }],
        queue: [],
      });
      assert.equal(delivered.uids[0]?.uid, 10);

      await rejectsWith(
        store.imports.importMessages(mailbox.id, [
          {
            uid: 20,
            blob: { id: newMessageId(), size: 3 },
            flags: [],
            internalDate: date,
            modseq: 13,
            emailId: 20,
            threadId: 20,
          },
        ]),
        "not-found",
      );
      await rejectsWith(
        store.imports.importMessages(mailbox.id, [
          {
            uid: 21,
            blob: { id: shared.id, size: shared.size + 1 },
            flags: [],
            internalDate: date,
            modseq: 13,
            emailId: 21,
            threadId: 21,
          },
        ]),
        "invalid",
      );
      assert.equal(
        (await store.messages.listMessages(mailbox.id)).length,
        3,
        "a refused batch changes nothing",
      );
    });

    test("importExpunged removes present UIDs and keeps the MODSEQs for QRESYNC", async () => {
      const store = context.store();
      const { user } = await context.freshUser();
      const mailbox = await store.imports.importMailbox(user.id, {
        name: "History",
        specialUse: null,
        subscribed: true,
        uidValidity: 99,
        uidNext: 1,
        highestModseq: 1,
      });
      const ref = await body(store, text("soon gone"));
      await store.imports.importMessages(mailbox.id, [
        { uid: 5, blob: ref, flags: [], internalDate: new Date(), modseq: 3, emailId: 5, threadId: 5 },
      ]);
      await store.imports.importExpunged(mailbox.id, [
        { uid: 2, modseq: 4 },
        { uid: 5, modseq: 8 },
      ]);
      assert.deepEqual(await store.messages.listMessages(mailbox.id), []);
      assert.deepEqual(await store.imports.listExpunged(mailbox.id), [
        { uid: 2, modseq: 4 },
        { uid: 5, modseq: 8 },
      ]);
      assert.deepEqual(await store.messages.expungedSince(mailbox.id, 4), [5]);
      const status = await store.mailboxes.mailboxStatus(mailbox.id);
      assert.equal(status.highestModseq, 8);
      assert.equal(status.uidNext, 6);
      assert.deepEqual(
        [...(await store.imports.hasBlobs([ref.id]))],
        [],
        "the body nothing references is gone",
      );
      await rejectsWith(store.imports.listExpunged(987_654_321), "not-found");
    });

    test("importQueueEntry keeps the id, the hold and the local flag; a delivering entry arrives queued and due at its lease end", async () => {
      const store = context.store();
      const ref = await body(store, text("outbound"));
      const leaseEnd = new Date("2031-01-02T03:04:05Z");
      const entry: QueueEntry = {
        id: newQueueId(),
        messageId: ref.id,
        sender: "Alice@Example.org",
        recipient: "Bob@Remote.example",
        dsn: { notify: ["FAILURE"], orcpt: "rfc822;Bob@Remote.example" },
        envelopeDsn: { ret: "HDRS", envid: "env-1" },
        state: "delivering",
        attempts: 3,
        createdAt: new Date("2030-12-31T00:00:00Z"),
        nextAttemptAt: new Date("2031-01-01T00:00:00Z"),
        lastError: "451 try later",
        claimedUntil: leaseEnd,
        delayNotified: true,
        holdUntil: new Date("2030-12-31T12:00:00Z"),
        local: true,
      };
      await store.imports.importQueueEntry(entry);
      assert.deepEqual(await store.queue.get(entry.id), {
        ...entry,
        state: "queued",
        nextAttemptAt: leaseEnd,
        claimedUntil: null,
      });
      const updated = {
        ...entry,
        state: "queued" as const,
        attempts: 4,
        claimedUntil: null,
        lastError: null,
      };
      await store.imports.importQueueEntry(updated);
      assert.deepEqual(await store.queue.get(entry.id), updated);
      assert.equal((await store.queue.list()).filter((each) => each.id === entry.id).length, 1);
      // Other tests count every queued entry: leave none behind.
      await store.queue.complete(entry.id);
      await rejectsWith(
        store.imports.importQueueEntry({ ...entry, id: newQueueId(), messageId: newMessageId() }),
        "not-found",
      );
    });
  });
}
