// Store contract, part `changes`: the account-wide change history behind JMAP /changes (RFC 8620 §5.2),
// fed by every write of the messages and mailboxes parts.
// Run by runStoreContract (store-contract.ts) against every backend.

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { ChangesResult, ChangeType, Store } from "../../src/store/types.js";
import { CONTRACT_CHANGE_HISTORY, type ContractContext, message, rejectsWith, writeBlob } from "./support.js";

function sorted(result: ChangesResult): { created: string[]; updated: string[]; destroyed: string[] } {
  return {
    created: [...result.created].sort(),
    updated: [...result.updated].sort(),
    destroyed: [...result.destroyed].sort(),
  };
}

export function describeChangesContract(context: ContractContext): void {
  describe("changes", () => {
    let store: Store;
    before(() => {
      store = context.store();
    });
    const { freshUser, deliverTo } = context;

    async function since(userId: number, type: ChangeType, state: string, maxChanges?: number) {
      const result = await store.changes.changesSince(userId, type, state, maxChanges);
      assert.equal(result.oldState, state);
      return result;
    }

    test("a new user's states name no changes", async () => {
      const { user } = await freshUser();
      for (const type of ["Email", "Mailbox", "Thread"] as const) {
        const state = await store.changes.state(user.id, type);
        const result = await since(user.id, type, state);
        assert.equal(result.newState, state);
        assert.equal(result.hasMoreChanges, false);
        assert.deepEqual(sorted(result), { created: [], updated: [], destroyed: [] });
      }
    });

    test("a delivery creates its Email and Thread and updates its Mailbox, in that user's history only", async () => {
      const { user, inbox } = await freshUser();
      const other = await freshUser();
      const email = await store.changes.state(user.id, "Email");
      const mailbox = await store.changes.state(user.id, "Mailbox");
      const thread = await store.changes.state(user.id, "Thread");
      const otherEmail = await store.changes.state(other.user.id, "Email");
      const { blob, uid } = await deliverTo(inbox.id, "hello");
      const stored = await store.messages.getMessage(inbox.id, uid);
      assert.ok(stored);
      const emails = await since(user.id, "Email", email);
      assert.deepEqual(sorted(emails), { created: [blob.id], updated: [], destroyed: [] });
      assert.equal(emails.newState, await store.changes.state(user.id, "Email"));
      assert.notEqual(emails.newState, email);
      assert.deepEqual(sorted(await since(user.id, "Mailbox", mailbox)), {
        created: [],
        updated: [String(inbox.id)],
        destroyed: [],
      });
      assert.deepEqual(sorted(await since(user.id, "Thread", thread)), {
        created: [stored.threadId],
        updated: [],
        destroyed: [],
      });
      assert.equal(await store.changes.state(other.user.id, "Email"), otherEmail);
    });

    test("created then updated is created; created then destroyed is in no list", async () => {
      const { user, inbox } = await freshUser();
      const start = await store.changes.state(user.id, "Email");
      const kept = await deliverTo(inbox.id, "kept");
      const gone = await deliverTo(inbox.id, "gone");
      await store.messages.updateFlags(inbox.id, [kept.uid], "add", ["\\Seen"]);
      await store.messages.expunge(inbox.id, [gone.uid]);
      assert.deepEqual(sorted(await since(user.id, "Email", start)), {
        created: [kept.blob.id],
        updated: [],
        destroyed: [],
      });
      const threads = await since(user.id, "Thread", await store.changes.state(user.id, "Thread"));
      assert.deepEqual(sorted(threads), { created: [], updated: [], destroyed: [] });
    });

    test("flags and copies update an Email, expunging its last copy destroys it and its Thread", async () => {
      const { user, inbox } = await freshUser();
      const archive = await store.mailboxes.getMailbox(user.id, "Archive");
      assert.ok(archive);
      const { blob, uid } = await deliverTo(inbox.id, "moving");
      const threadId = (await store.messages.getMessage(inbox.id, uid))?.threadId as string;
      const afterDelivery = await store.changes.state(user.id, "Email");
      const threadsAfterDelivery = await store.changes.state(user.id, "Thread");
      await store.messages.updateFlags(inbox.id, [uid], "add", ["\\Flagged"]);
      assert.deepEqual(sorted(await since(user.id, "Email", afterDelivery)), {
        created: [],
        updated: [blob.id],
        destroyed: [],
      });
      const afterFlags = await store.changes.state(user.id, "Email");
      const mailboxesAfterFlags = await store.changes.state(user.id, "Mailbox");
      const { mapping } = await store.messages.moveMessages(inbox.id, [uid], archive.id);
      assert.deepEqual(sorted(await since(user.id, "Email", afterFlags)), {
        created: [],
        updated: [blob.id],
        destroyed: [],
      });
      assert.deepEqual(sorted(await since(user.id, "Mailbox", mailboxesAfterFlags)), {
        created: [],
        updated: [String(inbox.id), String(archive.id)].sort(),
        destroyed: [],
      });
      // A move keeps the message in its thread: the Thread has not changed.
      assert.deepEqual(sorted(await since(user.id, "Thread", threadsAfterDelivery)), {
        created: [],
        updated: [],
        destroyed: [],
      });
      const afterMove = await store.changes.state(user.id, "Email");
      await store.messages.expunge(archive.id, [mapping[0]![1]]);
      assert.deepEqual(sorted(await since(user.id, "Email", afterMove)), {
        created: [],
        updated: [],
        destroyed: [blob.id],
      });
      assert.deepEqual(sorted(await since(user.id, "Thread", threadsAfterDelivery)), {
        created: [],
        updated: [],
        destroyed: [threadId],
      });
    });

    test("mailboxes created, renamed, subscribed and deleted", async () => {
      const { user } = await freshUser();
      const start = await store.changes.state(user.id, "Mailbox");
      const created = await store.mailboxes.createMailbox(user.id, "Lists");
      const child = await store.mailboxes.createMailbox(user.id, "Lists/one");
      const afterCreate = await store.changes.state(user.id, "Mailbox");
      assert.deepEqual(sorted(await since(user.id, "Mailbox", start)), {
        created: [String(created.id), String(child.id)].sort(),
        updated: [],
        destroyed: [],
      });
      await store.mailboxes.renameMailbox(user.id, "Lists", "Groups");
      const afterRename = await store.changes.state(user.id, "Mailbox");
      assert.deepEqual(sorted(await since(user.id, "Mailbox", afterCreate)), {
        created: [],
        updated: [String(created.id), String(child.id)].sort(),
        destroyed: [],
      });
      await store.mailboxes.setSubscribed(user.id, "Groups", false);
      const afterSubscribe = await store.changes.state(user.id, "Mailbox");
      assert.deepEqual(sorted(await since(user.id, "Mailbox", afterRename)), {
        created: [],
        updated: [String(created.id)],
        destroyed: [],
      });
      const messageInChild = await deliverTo(child.id, "in a doomed mailbox");
      const emailsBefore = await store.changes.state(user.id, "Email");
      await store.mailboxes.deleteMailbox(user.id, "Groups/one");
      assert.deepEqual(sorted(await since(user.id, "Mailbox", afterSubscribe)), {
        created: [],
        updated: [],
        destroyed: [String(child.id)],
      });
      assert.deepEqual(sorted(await since(user.id, "Email", emailsBefore)), {
        created: [],
        updated: [],
        destroyed: [messageInChild.blob.id],
      });
      // Created and destroyed within the range: in no list (RFC 8620 §5.2).
      assert.deepEqual(sorted(await since(user.id, "Mailbox", start)), {
        created: [String(created.id)],
        updated: [],
        destroyed: [],
      });
    });

    test("maxChanges pages through the changes, each page from the last one's newState", async () => {
      const { user, inbox } = await freshUser();
      const start = await store.changes.state(user.id, "Email");
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await deliverTo(inbox.id, `page ${i}`)).blob.id);
      // One write naming three Emails: a page may end inside it.
      await store.messages.updateFlags(inbox.id, [1, 2, 3], "add", ["\\Seen"]);
      const seen: string[] = [];
      let state = start;
      let pages = 0;
      for (;;) {
        const page = await since(user.id, "Email", state, 2);
        assert.ok(page.created.length + page.updated.length + page.destroyed.length <= 2);
        assert.deepEqual(page.destroyed, []);
        seen.push(...page.created);
        pages++;
        state = page.newState;
        if (!page.hasMoreChanges) break;
        assert.ok(pages < 10, "paging must end");
      }
      assert.ok(pages >= 2);
      assert.deepEqual([...new Set(seen)].sort(), [...ids].sort());
      assert.equal(state, await store.changes.state(user.id, "Email"));
    });

    test("states not from this store are cannotCalculateChanges; bad arguments are invalid", async () => {
      const { user, inbox } = await freshUser();
      await deliverTo(inbox.id, "one");
      const state = await store.changes.state(user.id, "Email");
      for (const bad of ["", "abc", "-1", "1.5", `${Number(state) + 100}`, "007"]) {
        await rejectsWith(store.changes.changesSince(user.id, "Email", bad), "cannotCalculateChanges");
      }
      await rejectsWith(store.changes.changesSince(user.id, "Email", state, 0), "invalid");
      await rejectsWith(store.changes.changesSince(user.id, "Email", state, 1.5), "invalid");
      await rejectsWith(store.changes.changesSince(user.id, "Nope" as ChangeType, state), "invalid");
      await rejectsWith(store.changes.state(user.id, "Nope" as ChangeType), "invalid");
    });

    test("a write that fails records nothing", async () => {
      const { user, inbox } = await freshUser();
      const state = await store.changes.state(user.id, "Email");
      const blob = await writeBlob(store, message("refused"));
      await rejectsWith(
        store.messages.deliver({
          blob,
          sender: "",
          internalDate: new Date(),
          mailboxes: [{ mailboxId: inbox.id }, { mailboxId: inbox.id + 1_000_000 }],
          queue: [],
        }),
        "not-found",
      );
      assert.equal(await store.changes.state(user.id, "Email"), state);
      assert.deepEqual(sorted(await since(user.id, "Email", state)), {
        created: [],
        updated: [],
        destroyed: [],
      });
    });

    test(`the history keeps the newest ${CONTRACT_CHANGE_HISTORY} states; older ones cannotCalculateChanges`, async () => {
      const { user, inbox } = await freshUser();
      const first = await store.changes.state(user.id, "Email");
      const states: string[] = [];
      const ids: string[] = [];
      for (let i = 0; i < CONTRACT_CHANGE_HISTORY * 2; i++) {
        ids.push((await deliverTo(inbox.id, `kept ${i}`)).blob.id);
        states.push(await store.changes.state(user.id, "Email"));
      }
      await rejectsWith(store.changes.changesSince(user.id, "Email", first), "cannotCalculateChanges");
      const recent = states.length - CONTRACT_CHANGE_HISTORY;
      const result = await since(user.id, "Email", states[recent - 1]!);
      assert.deepEqual(sorted(result).created, ids.slice(recent).sort());
    });

    test("restartChangeHistory: states from before get cannotCalculateChanges, later changes are tracked", async () => {
      const { user, inbox } = await freshUser();
      await deliverTo(inbox.id, "before");
      const old = await store.changes.state(user.id, "Email");
      await store.imports.restartChangeHistory(user.id, ["41", "7"]);
      await rejectsWith(store.changes.changesSince(user.id, "Email", old), "cannotCalculateChanges");
      await rejectsWith(store.changes.changesSince(user.id, "Email", "41"), "cannotCalculateChanges");
      const restarted = await store.changes.state(user.id, "Email");
      assert.ok(Number(restarted) > 41);
      const { blob } = await deliverTo(inbox.id, "after");
      assert.deepEqual(sorted(await since(user.id, "Email", restarted)).created, [blob.id]);
      await rejectsWith(store.imports.restartChangeHistory(user.id, ["x"]), "invalid");
    });
  });
}
