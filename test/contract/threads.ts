// Store contract, part `messages`: thread ids (src/store/threading.ts has the rule: references first,
// subject only as a tie-breaker), per user, and listing a thread.
// Run by runStoreContract (store-contract.ts) against every backend.

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { MailboxMessage, Store } from "../../src/store/types.js";
import { type ContractContext, writeBlob } from "./support.js";

function mail(headers: Record<string, string>): string {
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return `From: a@example.net\r\n${lines.join("")}\r\nbody\r\n`;
}

export function describeThreads(context: ContractContext): void {
  describe("threads", () => {
    let store: Store;
    before(() => {
      store = context.store();
    });
    const { freshUser } = context;

    async function deliver(mailboxIds: number[], headers: Record<string, string>): Promise<MailboxMessage[]> {
      const blob = await writeBlob(store, mail(headers));
      const result = await store.messages.deliver({
        blob,
        sender: "a@example.net",
        internalDate: new Date(),
        mailboxes: mailboxIds.map((mailboxId) => ({ mailboxId })),
        queue: [],
      });
      return Promise.all(
        result.uids.map(async ({ mailboxId, uid }) => {
          const stored = await store.messages.getMessage(mailboxId, uid);
          assert.ok(stored);
          return stored;
        }),
      );
    }

    test("replies join their parent's thread; a same subject without a reference does not", async () => {
      const { inbox } = await freshUser();
      const [root] = await deliver([inbox.id], { "Message-ID": "<root@x>", Subject: "Plans" });
      const [reply] = await deliver([inbox.id], {
        "Message-ID": "<r1@x>",
        "In-Reply-To": "<root@x>",
        Subject: "Re: Plans",
      });
      const [deeper] = await deliver([inbox.id], {
        "Message-ID": "<r2@x>",
        References: "<root@x>\r\n <r1@x>",
        Subject: "Re: Re: Plans",
      });
      const [stranger] = await deliver([inbox.id], { "Message-ID": "<s@x>", Subject: "Re: Plans" });
      const [bare] = await deliver([inbox.id], { Subject: "no ids at all" });
      assert.equal(root!.threadId, root!.messageId);
      assert.equal(reply!.threadId, root!.threadId);
      assert.equal(deeper!.threadId, root!.threadId);
      assert.notEqual(stranger!.threadId, root!.threadId);
      assert.equal(bare!.threadId, bare!.messageId);
      const listed = await store.messages.listMessages(inbox.id);
      assert.deepEqual(
        listed.map((m) => m.threadId),
        [root, reply, deeper, stranger, bare].map((m) => m!.threadId),
      );
    });

    test("a parent stored after its reply joins the reply's thread", async () => {
      const { inbox } = await freshUser();
      const [reply] = await deliver([inbox.id], {
        "Message-ID": "<late-child@x>",
        "In-Reply-To": "<late-parent@x>",
        Subject: "Re: late",
      });
      const [parent] = await deliver([inbox.id], { "Message-ID": "<late-parent@x>", Subject: "late" });
      assert.equal(parent!.threadId, reply!.threadId);
    });

    test("when references point at two threads, the one with the same base subject wins", async () => {
      const { inbox } = await freshUser();
      const [a] = await deliver([inbox.id], { "Message-ID": "<a@x>", Subject: "Alpha" });
      const [b] = await deliver([inbox.id], { "Message-ID": "<b@x>", Subject: "Beta" });
      const [both] = await deliver([inbox.id], {
        "Message-ID": "<ab@x>",
        References: "<a@x> <b@x>",
        Subject: "Re: [list] beta",
      });
      assert.notEqual(a!.threadId, b!.threadId);
      assert.equal(both!.threadId, b!.threadId);
      const [neither] = await deliver([inbox.id], {
        "Message-ID": "<ab2@x>",
        References: "<a@x> <b@x>",
        Subject: "Gamma",
      });
      assert.equal(neither!.threadId, a!.threadId, "without a subject match the first reference decides");
    });

    test("threads are per user, copies keep theirs, and listThread lists a user's entries", async () => {
      const alice = await freshUser();
      const bob = await freshUser();
      const [root] = await deliver([alice.inbox.id], { "Message-ID": "<p@x>", Subject: "per user" });
      const [forAlice, forBob] = await deliver([alice.inbox.id, bob.inbox.id], {
        "Message-ID": "<p2@x>",
        "In-Reply-To": "<p@x>",
        Subject: "Re: per user",
      });
      assert.equal(forAlice!.threadId, root!.threadId);
      assert.equal(forBob!.threadId, forBob!.messageId, "Bob has no <p@x>: his copy starts a thread");
      const archive = await store.mailboxes.getMailbox(alice.user.id, "Archive");
      assert.ok(archive);
      const { mapping } = await store.messages.copyMessages(alice.inbox.id, [forAlice!.uid], archive.id);
      const copy = await store.messages.getMessage(archive.id, mapping[0]![1]);
      assert.equal(copy?.threadId, root!.threadId);
      const thread = await store.messages.listThread(alice.user.id, root!.threadId);
      assert.deepEqual(
        thread.map((m) => [m.mailboxId, m.messageId]),
        [
          [alice.inbox.id, root!.messageId],
          [alice.inbox.id, forAlice!.messageId],
          [archive.id, forAlice!.messageId],
        ],
      );
      assert.deepEqual(await store.messages.listThread(bob.user.id, root!.threadId), []);
      assert.deepEqual(await store.messages.listThread(alice.user.id, "no-such-thread"), []);
    });

    test("append threads like a delivery", async () => {
      const { user, inbox } = await freshUser();
      const [root] = await deliver([inbox.id], { "Message-ID": "<ap@x>", Subject: "sent" });
      const sent = await store.mailboxes.getMailbox(user.id, "Sent");
      assert.ok(sent);
      const blob = await writeBlob(
        store,
        mail({ "Message-ID": "<ap2@x>", References: "<ap@x>", Subject: "Re: sent" }),
      );
      const appended = await store.messages.append(sent.id, blob, ["\\Seen"], new Date());
      assert.equal(appended.threadId, root!.threadId);
    });
  });
}
