// Store contract, part `mailboxes`: mailboxes, their status and subscriptions.
// Run by runStoreContract (store-contract.ts) against every backend.

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { Store } from "../../src/store/types.js";
import { describeSubscriptions } from "./subscriptions.js";
import { type ContractContext, message, rejectsWith } from "./support.js";

export function describeMailboxesContract(context: ContractContext): void {
  describe("mailboxes", () => {
    let store: Store;
    before(() => {
      store = context.store();
    });
    const { freshUser, deliverTo } = context;
    describeSubscriptions(context);

    describe("mailboxes", () => {
      test("create, get (INBOX case-insensitive), getById, duplicates", async () => {
        const { user, inbox } = await freshUser();
        assert.equal((await store.mailboxes.getMailbox(user.id, "iNbOx"))?.id, inbox.id);
        const work = await store.mailboxes.createMailbox(user.id, "Work/Projects");
        assert.equal(work.name, "Work/Projects");
        assert.equal(work.specialUse, null);
        assert.equal(work.uidNext, 1);
        // The MODSEQ is account-wide: a new mailbox starts at the account's state, its creation.
        assert.equal(work.highestModseq, await store.emails.accountState(user.id));
        const flagged = await store.mailboxes.createMailbox(user.id, "Starred", "\\Flagged");
        assert.equal(flagged.specialUse, "\\Flagged");
        assert.equal((await store.mailboxes.getMailboxById(work.id))?.name, "Work/Projects");
        assert.equal(await store.mailboxes.getMailbox(user.id, "Nope"), null);
        await rejectsWith(store.mailboxes.createMailbox(user.id, "Work/Projects"), "exists");
        await rejectsWith(store.mailboxes.createMailbox(user.id, "inbox"), "exists");
        await rejectsWith(store.mailboxes.createMailbox(user.id, ""), "invalid");
        await rejectsWith(store.mailboxes.createMailbox(user.id, "a//b"), "invalid");
      });

      test("uidValidity differs when a name is deleted and created again", async () => {
        const { user } = await freshUser();
        const first = await store.mailboxes.createMailbox(user.id, "Again");
        await store.mailboxes.deleteMailbox(user.id, "Again");
        const second = await store.mailboxes.createMailbox(user.id, "Again");
        assert.notEqual(second.uidValidity, first.uidValidity);
      });

      test("rename moves the mailbox and its inferiors, keeping messages", async () => {
        const { user } = await freshUser();
        const parent = await store.mailboxes.createMailbox(user.id, "Old");
        await store.mailboxes.createMailbox(user.id, "Old/Child");
        const { uid } = await deliverTo(parent.id, "kept");
        await store.mailboxes.renameMailbox(user.id, "Old", "New");
        assert.equal(await store.mailboxes.getMailbox(user.id, "Old"), null);
        assert.equal(await store.mailboxes.getMailbox(user.id, "Old/Child"), null);
        const renamed = await store.mailboxes.getMailbox(user.id, "New");
        assert.equal(renamed?.id, parent.id);
        assert.equal(renamed?.uidValidity, parent.uidValidity);
        assert.ok(await store.mailboxes.getMailbox(user.id, "New/Child"));
        assert.ok(await store.messages.getMessage(parent.id, uid));
        await rejectsWith(store.mailboxes.renameMailbox(user.id, "Missing", "Other"), "not-found");
        await rejectsWith(store.mailboxes.renameMailbox(user.id, "New", "Drafts"), "exists");
      });

      test("renaming INBOX moves its messages to a new mailbox and leaves INBOX empty", async () => {
        const { user, inbox } = await freshUser();
        await deliverTo(inbox.id, "one", ["\\Seen"]);
        await deliverTo(inbox.id, "two");
        await store.mailboxes.renameMailbox(user.id, "INBOX", "Old Mail");
        const stillInbox = await store.mailboxes.getMailbox(user.id, "INBOX");
        assert.equal(stillInbox?.id, inbox.id);
        assert.deepEqual(await store.messages.listMessages(inbox.id), []);
        const moved = await store.mailboxes.getMailbox(user.id, "Old Mail");
        assert.ok(moved);
        assert.notEqual(moved.id, inbox.id);
        const messages = await store.messages.listMessages(moved.id);
        assert.equal(messages.length, 2);
        assert.deepEqual(messages[0]!.flags, ["\\Seen"]);
        const body = await store.blobs.readBlobBytes(messages[1]!.messageId);
        assert.equal(body.toString(), message("two"));
        // New messages still arrive in INBOX, with UIDs above the ones it had.
        const { uid } = await deliverTo(inbox.id, "three");
        assert.equal(uid, 3);
      });

      test("delete: not INBOX, not-found, removes messages", async () => {
        const { user } = await freshUser();
        await rejectsWith(store.mailboxes.deleteMailbox(user.id, "INBOX"), "invalid");
        await rejectsWith(store.mailboxes.deleteMailbox(user.id, "Nope"), "not-found");
        const box = await store.mailboxes.createMailbox(user.id, "Gone");
        const { blob } = await deliverTo(box.id, "gone");
        await store.mailboxes.deleteMailbox(user.id, "Gone");
        assert.equal(await store.mailboxes.getMailboxById(box.id), null);
        await rejectsWith(store.blobs.readBlobBytes(blob.id), "not-found");
      });

      test("subscribe and unsubscribe", async () => {
        const { user } = await freshUser();
        await store.mailboxes.createMailbox(user.id, "Lists");
        await store.mailboxes.setSubscribed(user.id, "Lists", false);
        assert.equal((await store.mailboxes.getMailbox(user.id, "Lists"))?.subscribed, false);
        await store.mailboxes.setSubscribed(user.id, "Lists", true);
        assert.equal((await store.mailboxes.getMailbox(user.id, "Lists"))?.subscribed, true);
        await rejectsWith(store.mailboxes.setSubscribed(user.id + 1_000_000, "Lists", true), "not-found");
      });

      test("status counts messages, unseen and size", async () => {
        const { inbox } = await freshUser();
        await deliverTo(inbox.id, "a", ["\\Seen"]);
        await deliverTo(inbox.id, "bb");
        await deliverTo(inbox.id, "ccc", ["\\Flagged"]);
        const status = await store.mailboxes.mailboxStatus(inbox.id);
        assert.equal(status.messages, 3);
        assert.equal(status.unseen, 2);
        assert.equal(status.size, message("a").length + message("bb").length + message("ccc").length);
        assert.equal(status.uidNext, 4);
        assert.equal(status.uidValidity, inbox.uidValidity);
        assert.equal(status.highestModseq, (await store.mailboxes.getMailboxById(inbox.id))!.highestModseq);
        await rejectsWith(store.mailboxes.mailboxStatus(inbox.id + 1000000), "not-found");
      });
    });
  });
}
