// Store contract, part `events`: what commits publish.
// Run by runStoreContract (store-contract.ts) against every backend.

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { Store } from "../../src/store/types.js";
import type { ContractContext } from "./support.js";

export function describeEventsContract(context: ContractContext): void {
  describe("events", () => {
    let store: Store;
    before(() => {
      store = context.store();
    });
    const { freshUser, deliverTo, collectEvents } = context;

    describe("events", () => {
      test("exists, flags, expunge and mailboxes are published after the change", async () => {
        const { user, inbox } = await freshUser();
        const { events, stop } = collectEvents();
        const { uid } = await deliverTo(inbox.id, "evented");
        await store.messages.updateFlags(inbox.id, [uid], "add", ["\\Seen"]);
        await store.messages.expunge(inbox.id, [uid]);
        await store.mailboxes.createMailbox(user.id, "Evented");
        const highest = (await store.mailboxes.getMailboxById(inbox.id))!.highestModseq;
        // Backends may deliver events asynchronously (PostgreSQL NOTIFY): wait for them, bounded.
        const mineOf = () => events.filter((e) => e.userId === user.id);
        for (let waited = 0; mineOf().length < 4 && waited < 5000; waited += 10) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        stop();
        await deliverTo(inbox.id, "after unsubscribe");
        const mine = mineOf();
        assert.deepEqual(
          mine.map((e) => e.kind),
          ["exists", "flags", "expunge", "mailboxes"],
        );
        const exists = mine[0]!;
        assert.ok(exists.kind === "exists");
        assert.equal(exists.mailboxId, inbox.id);
        assert.deepEqual(exists.uids, [uid]);
        const flags = mine[1]!;
        assert.ok(flags.kind === "flags");
        assert.equal(flags.modseq, highest - 1);
        const expunge = mine[2]!;
        assert.ok(expunge.kind === "expunge");
        assert.deepEqual(expunge.uids, [uid]);
        assert.equal(expunge.modseq, highest);
      });

      test("METADATA changes publish their entry names, on a mailbox or the server (IMAP NOTIFY)", async () => {
        const { user, inbox } = await freshUser();
        const { events, stop } = collectEvents();
        const value = Buffer.from("v");
        // Longer than one PostgreSQL notification may carry: left out of the event, never failing the set.
        const huge = `/private/${"x".repeat(9000)}`;
        await store.metadata.setMetadata(user.id, inbox.id, [{ entry: "/private/comment", value }], 100);
        await store.metadata.setMetadata(
          user.id,
          null,
          [
            { entry: "/private/a", value },
            { entry: "/private/b", value: null },
          ],
          100,
        );
        await store.metadata.setMetadata(user.id, null, [{ entry: huge, value }], 100);
        const mineOf = () => events.filter((e) => e.userId === user.id && e.kind === "metadata");
        for (let waited = 0; mineOf().length < 2 && waited < 5000; waited += 10) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
        stop();
        const told = mineOf().map((e) => (e.kind === "metadata" ? [e.mailboxId, e.entries] : []));
        assert.deepEqual(told.slice(0, 2), [
          [inbox.id, ["/private/comment"]],
          [null, ["/private/a", "/private/b"]],
        ]);
        // SQLite's in-process bus carries any name; PostgreSQL's NOTIFY drops the one too long for it.
        const third = told[2]?.[1];
        assert.ok(told.length === 2 || (told.length === 3 && Array.isArray(third) && third[0] === huge));
        assert.equal((await store.metadata.getMetadata(user.id, null, [huge], 0)).length, 1);
      });
    });
  });
}
