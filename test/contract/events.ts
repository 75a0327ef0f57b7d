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
    });
  });
}
