// Contract for listMessages' UID range and its exact results: run inside runStoreContract.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MailboxListings } from "../../src/imap/caches.js";
import type { Mailbox, Store } from "../../src/store/types.js";

export interface ListMessagesContext {
  store(): Store;
  freshUser(): Promise<{ inbox: Mailbox }>;
}

export function describeListMessages(context: ListMessagesContext): void {
  describe("listMessages ranges", () => {
    async function fill(count: number) {
      const store = context.store();
      const { inbox } = await context.freshUser();
      for (let n = 1; n <= count; n++) {
        const writer = await store.blobs.createBlobWriter();
        await writer.write(Buffer.from(`Subject: ${n}\r\n\r\nbody ${"x".repeat(n)}\r\n`));
        const blob = await writer.finish();
        const flags = n % 3 === 0 ? ["\\Seen", "$Work"] : n % 3 === 1 ? [] : ["\\Flagged"];
        await store.messages.append(inbox.id, blob, flags, new Date(Date.UTC(2024, 0, n, 1, 2, 3, n)));
      }
      return { store, inbox };
    }

    test("uidFrom and uidTo are inclusive, either may be absent, and results match the full list", async () => {
      const { store, inbox } = await fill(8);
      await store.messages.expunge(inbox.id, [4]);
      const all = await store.messages.listMessages(inbox.id);
      assert.deepEqual(
        all.map((m) => m.uid),
        [1, 2, 3, 5, 6, 7, 8],
      );
      const within = (from: number, to: number) => all.filter((m) => m.uid >= from && m.uid <= to);
      assert.deepEqual(await store.messages.listMessages(inbox.id, { uidFrom: 3, uidTo: 6 }), within(3, 6));
      assert.deepEqual(await store.messages.listMessages(inbox.id, { uidFrom: 6 }), within(6, Infinity));
      assert.deepEqual(await store.messages.listMessages(inbox.id, { uidTo: 2 }), within(0, 2));
      assert.deepEqual(await store.messages.listMessages(inbox.id, { uidFrom: 4, uidTo: 4 }), []);
      assert.deepEqual(await store.messages.listMessages(inbox.id, { uidFrom: 7, uidTo: 3 }), []);
      assert.deepEqual(await store.messages.listMessages(inbox.id, { uidFrom: 9 }), []);
      for (const message of all)
        assert.deepEqual(await store.messages.getMessage(inbox.id, message.uid), message);
      const third = all.find((m) => m.uid === 3)!;
      assert.deepEqual([...third.flags].sort(), ["$Work", "\\Seen"]);
      assert.equal(third.internalDate.getTime(), Date.UTC(2024, 0, 3, 1, 2, 3, 3));
    });

    test("a UID range combines with sinceModseq", async () => {
      const { store, inbox } = await fill(6);
      const before = (await store.mailboxes.getMailboxById(inbox.id))!.highestModseq;
      await store.messages.updateFlags(inbox.id, [2, 5], "add", ["\\Answered"]);
      const changed = await store.messages.listMessages(inbox.id, { sinceModseq: before, uidFrom: 3 });
      assert.deepEqual(
        changed.map((m) => m.uid),
        [5],
      );
      assert.ok(changed[0]!.flags.includes("\\Answered"));
      assert.deepEqual(
        (await store.messages.listMessages(inbox.id, { sinceModseq: before, uidTo: 4 })).map((m) => m.uid),
        [2],
      );
    });

    test("the entries changed and the UIDs expunged since a HIGHESTMODSEQ bring a kept listing up to date", async () => {
      // What IMAP's listing cache (src/imap/caches.ts) relies on: every change to a mailbox's entries
      // raises its HIGHESTMODSEQ, and listMessages(sinceModseq) with expungedSince names all of them.
      const { store, inbox } = await fill(6);
      const other = await store.mailboxes.createMailbox(inbox.userId, "Other");
      const listings = new MailboxListings();
      let highest = 0;
      const check = async (step: string) => {
        const mailbox = (await store.mailboxes.getMailboxById(inbox.id))!;
        assert.ok(mailbox.highestModseq > highest, `${step} raised HIGHESTMODSEQ`);
        highest = mailbox.highestModseq;
        assert.deepEqual(
          await listings.list(store, mailbox),
          await store.messages.listMessages(inbox.id),
          `the kept listing after ${step}`,
        );
      };
      await check("filling");
      await store.messages.updateFlags(inbox.id, [2, 5], "add", ["\\Answered", "$Later"]);
      await check("adding flags");
      await store.messages.updateFlags(inbox.id, [5], "set", []);
      await check("setting flags");
      await store.messages.expunge(inbox.id, [1, 4]);
      await check("an expunge");
      const writer = await store.blobs.createBlobWriter();
      await writer.write(Buffer.from("Subject: new\r\n\r\nnew\r\n"));
      await store.messages.append(
        inbox.id,
        await writer.finish(),
        ["\\Seen"],
        new Date(Date.UTC(2024, 1, 1)),
      );
      await check("an append");
      await store.messages.copyMessages(inbox.id, [2, 3], other.id);
      await store.messages.copyMessages(other.id, [1], inbox.id);
      await check("a copy in");
      await store.messages.moveMessages(inbox.id, [3, 6], other.id);
      await check("a move out");
    });

    test("bad bounds are refused", async () => {
      const { store, inbox } = await fill(1);
      for (const options of [
        { uidFrom: -1 },
        { uidTo: 1.5 },
        { uidFrom: Number.NaN },
        { sinceModseq: Number.NaN },
      ]) {
        await assert.rejects(
          store.messages.listMessages(inbox.id, options),
          (error: unknown) => (error as { code?: string }).code === "invalid",
        );
      }
    });
  });
}
