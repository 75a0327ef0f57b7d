// Store contract, part `emails`: the account view JMAP reads (email and thread ids, the account state,
// changes since a state) and what the other parts' writes do to it.
// Run by runStoreContract (store-contract.ts) against every backend.

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { Changes, Store } from "../../src/store/types.js";
import { type ContractContext, rejectsWith, writeBlob } from "./support.js";

function mail(messageId: string, extra = ""): string {
  return `From: a@example.net\r\nSubject: s\r\nMessage-ID: <${messageId}>\r\n${extra}\r\nbody\r\n`;
}

const sorted = (ids: number[]) => [...ids].sort((a, b) => a - b);

function summary(changes: Changes) {
  return {
    created: sorted(changes.created),
    updated: sorted(changes.updated),
    destroyed: sorted(changes.destroyed),
  };
}

export function describeEmailsContract(context: ContractContext): void {
  describe("emails", () => {
    let store: Store;
    before(() => {
      store = context.store();
    });
    const { freshUser } = context;

    async function deliver(mailboxId: number, text: string, internalDate = new Date()) {
      const blob = await writeBlob(store, text);
      const result = await store.messages.deliver({
        blob,
        sender: "a@example.net",
        internalDate,
        mailboxes: [{ mailboxId }],
        queue: [],
      });
      const uid = result.uids[0]!.uid;
      const message = (await store.messages.getMessage(mailboxId, uid))!;
      return message;
    }

    test("email ids: unique per account, kept by MOVE, new for COPY and APPEND", async () => {
      const { user, inbox } = await freshUser();
      const archive = (await store.mailboxes.getMailbox(user.id, "Archive"))!;
      const first = await deliver(inbox.id, mail("1@x"));
      const second = await deliver(inbox.id, mail("2@x"));
      assert.notEqual(first.emailId, second.emailId);
      assert.ok(first.emailId > 0 && first.threadId > 0);

      const copied = await store.messages.copyMessages(inbox.id, [first.uid], archive.id);
      const copy = (await store.messages.getMessage(archive.id, copied.mapping[0]![1]))!;
      assert.notEqual(copy.emailId, first.emailId);
      assert.equal(copy.threadId, first.threadId, "a copy stays in its thread");

      const moved = await store.messages.moveMessages(inbox.id, [second.uid], archive.id);
      const after = (await store.messages.getMessage(archive.id, moved.mapping[0]![1]))!;
      assert.equal(after.emailId, second.emailId);
      assert.equal(after.threadId, second.threadId);

      const listed = await store.messages.listMessages(archive.id);
      assert.deepEqual(sorted(listed.map((m) => m.emailId)), sorted([copy.emailId, second.emailId]));

      const writer = await store.blobs.createBlobWriter();
      await writer.write(Buffer.from(mail("3@x")));
      const appended = await store.messages.append(inbox.id, await writer.finish(), [], new Date());
      assert.ok(![first.emailId, second.emailId, copy.emailId].includes(appended.emailId));

      const got = await store.emails.getEmails(user.id, [second.emailId, first.emailId, 999_999]);
      assert.deepEqual(sorted(got.map((m) => m.emailId)), sorted([first.emailId, second.emailId]));
      const moving = got.find((m) => m.emailId === second.emailId)!;
      assert.equal(moving.mailboxId, archive.id);
      assert.equal(moving.uid, after.uid);

      await store.messages.updateFlags(inbox.id, [first.uid], "add", ["\\Seen", "work"]);
      const flags = await store.emails.emailFlags(user.id, [second.emailId, first.emailId, 999_999]);
      assert.deepEqual(new Set(flags.get(first.emailId)), new Set(["\\Seen", "work"]));
      assert.deepEqual(flags.get(second.emailId), []);
      const got2 = await store.emails.getEmails(user.id, [second.emailId, first.emailId]);
      assert.deepEqual(
        [...flags].sort(([a], [b]) => a - b),
        got2.map((m) => [m.emailId, m.flags] as const).sort(([a], [b]) => a - b),
      );

      const all = await store.emails.listEmails(user.id);
      assert.equal(all.length, 4);
      assert.deepEqual(
        sorted((await store.emails.listEmails(user.id, { mailboxId: archive.id })).map((m) => m.emailId)),
        sorted([copy.emailId, second.emailId]),
      );

      // Another account sees none of them.
      const other = await freshUser();
      assert.deepEqual(await store.emails.getEmails(other.user.id, [first.emailId]), []);
      assert.equal((await store.emails.emailFlags(other.user.id, [first.emailId])).size, 0);
      assert.deepEqual(await store.emails.listEmails(other.user.id, { mailboxId: archive.id }), []);
    });

    test("threads: joined by In-Reply-To, References or a copy's own Message-ID, in receivedAt order", async () => {
      const { user, inbox } = await freshUser();
      const sent = (await store.mailboxes.getMailbox(user.id, "Sent"))!;
      const t0 = Date.parse("2024-01-01T00:00:00Z");
      const root = await deliver(inbox.id, mail("root@x"), new Date(t0));
      const reply = await deliver(inbox.id, mail("r1@x", "In-Reply-To: <root@x>\r\n"), new Date(t0 + 2000));
      const deep = await deliver(
        sent.id,
        mail("r2@x", "References: <unknown@x>\r\n <root@x> <r1@x>\r\n"),
        new Date(t0 + 1000),
      );
      const duplicate = await deliver(sent.id, mail("root@x"), new Date(t0 + 3000));
      const lone = await deliver(inbox.id, mail("other@x", "References: <nothing@x>\r\n"));
      assert.equal(reply.threadId, root.threadId);
      assert.equal(deep.threadId, root.threadId);
      assert.equal(duplicate.threadId, root.threadId);
      assert.notEqual(lone.threadId, root.threadId);
      assert.equal(root.threadId, root.emailId, "a thread is named after the email that started it");

      const threads = await store.emails.getThreads(user.id, [root.threadId, lone.threadId, 424_242]);
      const byId = new Map(threads.map((thread) => [thread.threadId, thread.emailIds]));
      assert.deepEqual(byId.get(root.threadId), [
        root.emailId,
        deep.emailId,
        reply.emailId,
        duplicate.emailId,
      ]);
      assert.deepEqual(byId.get(lone.threadId), [lone.emailId]);
      assert.equal(threads.length, 2);

      // Threads are per account: the same Message-ID elsewhere starts a thread of its own.
      const other = await freshUser();
      const theirs = await deliver(other.inbox.id, mail("r3@x", "In-Reply-To: <root@x>\r\n"));
      assert.equal(theirs.threadId, theirs.emailId);
    });

    test("threads: a parent delivered after its reply joins the reply's thread", async () => {
      const { user, inbox } = await freshUser();
      const reply = await deliver(inbox.id, mail("late-r1@x", "In-Reply-To: <late-root@x>\r\n"));
      const deeper = await deliver(inbox.id, mail("late-r2@x", "References: <late-root@x> <late-r1@x>\r\n"));
      const root = await deliver(inbox.id, mail("late-root@x"));
      const middle = await deliver(inbox.id, mail("late-mid@x", "In-Reply-To: <never-seen@x>\r\n"));
      const missing = await deliver(inbox.id, mail("never-seen@x"));
      assert.equal(deeper.threadId, reply.threadId);
      assert.equal(root.threadId, reply.threadId, "the late parent joins the thread its reply started");
      assert.notEqual(middle.threadId, reply.threadId);
      assert.equal(missing.threadId, middle.threadId);
      const [thread] = await store.emails.getThreads(user.id, [reply.threadId]);
      assert.deepEqual(new Set(thread?.emailIds), new Set([reply.emailId, deeper.emailId, root.emailId]));
    });

    test("emailChanges: created, updated, destroyed; MOVE is an update; created and destroyed is left out", async () => {
      const { user, inbox } = await freshUser();
      const archive = (await store.mailboxes.getMailbox(user.id, "Archive"))!;
      const kept = await deliver(inbox.id, mail("k@x"));
      const flagged = await deliver(inbox.id, mail("f@x"));
      const removed = await deliver(inbox.id, mail("d@x"));
      const moved = await deliver(inbox.id, mail("m@x"));
      const start = await store.emails.accountState(user.id);

      await store.messages.updateFlags(inbox.id, [flagged.uid], "add", ["\\Seen"]);
      await store.messages.expunge(inbox.id, [removed.uid]);
      await store.messages.moveMessages(inbox.id, [moved.uid], archive.id);
      const fresh = await deliver(inbox.id, mail("n@x"));
      const ephemeral = await deliver(inbox.id, mail("e@x"));
      await store.messages.expunge(inbox.id, [ephemeral.uid]);
      const now = await store.emails.accountState(user.id);
      assert.ok(now > start);

      const changes = await store.emails.emailChanges(user.id, start);
      assert.deepEqual(summary(changes), {
        created: [fresh.emailId],
        updated: sorted([flagged.emailId, moved.emailId]),
        destroyed: [removed.emailId],
      });
      assert.equal(changes.newState, now);
      assert.equal(changes.hasMoreChanges, false);
      assert.ok(!changes.updated.includes(kept.emailId));

      const none = await store.emails.emailChanges(user.id, now);
      assert.deepEqual(summary(none), { created: [], updated: [], destroyed: [] });
      assert.equal(none.newState, now);

      const fromStart = await store.emails.emailChanges(user.id, 0);
      assert.deepEqual(
        sorted(fromStart.created),
        sorted([kept.emailId, flagged.emailId, moved.emailId, fresh.emailId]),
      );
      assert.deepEqual(fromStart.destroyed, []);

      await rejectsWith(store.emails.emailChanges(user.id, now + 1), "cannot-calculate");
      await rejectsWith(store.emails.emailChanges(user.id, -1), "invalid");
      await rejectsWith(store.emails.accountState(987_654_321), "not-found");
    });

    test("emailChanges pages with maxChanges; each page's newState leads to the next", async () => {
      const { user, inbox } = await freshUser();
      const start = await store.emails.accountState(user.id);
      const ids: number[] = [];
      for (let n = 0; n < 5; n++) ids.push((await deliver(inbox.id, mail(`p${n}@x`))).emailId);
      // Delivered, then changed: its creation places it on the first page, the change on a later one.
      await store.messages.updateFlags(inbox.id, [1], "add", ["\\Flagged"]);
      const seen: number[] = [];
      const updated: number[] = [];
      let since = start;
      let pages = 0;
      for (;;) {
        const page = await store.emails.emailChanges(user.id, since, 2);
        assert.ok(page.created.length + page.updated.length + page.destroyed.length <= 2);
        seen.push(...page.created);
        updated.push(...page.updated);
        pages++;
        assert.ok(page.newState > since);
        since = page.newState;
        if (!page.hasMoreChanges) break;
      }
      assert.equal(pages, 3);
      assert.deepEqual(seen, ids);
      assert.deepEqual(updated, [ids[0]]);
      assert.equal(since, await store.emails.accountState(user.id));

      // One COPY of three messages is one change: it cannot be split below three ids.
      const archive = (await store.mailboxes.getMailbox(user.id, "Archive"))!;
      const before = await store.emails.accountState(user.id);
      await store.messages.copyMessages(inbox.id, [1, 2, 3], archive.id);
      await rejectsWith(store.emails.emailChanges(user.id, before, 2), "cannot-calculate");
      assert.equal((await store.emails.emailChanges(user.id, before, 3)).created.length, 3);
      await rejectsWith(store.emails.emailChanges(user.id, before, 0), "invalid");
    });

    test("mailboxChanges: create, rename, subscribe, messages, delete (its emails destroyed too)", async () => {
      const { user, inbox } = await freshUser();
      const start = await store.emails.accountState(user.id);
      assert.deepEqual(summary(await store.emails.mailboxChanges(user.id, start)), {
        created: [],
        updated: [],
        destroyed: [],
      });
      const initial = await store.emails.mailboxChanges(user.id, 0);
      assert.equal(initial.created.length, 6, "the default mailboxes");

      const work = await store.mailboxes.createMailbox(user.id, "Work");
      const gone = await store.mailboxes.createMailbox(user.id, "Gone");
      const inGone = await deliver(gone.id, mail("g@x"));
      const afterCreate = await store.emails.accountState(user.id);
      assert.deepEqual(summary(await store.emails.mailboxChanges(user.id, start)), {
        created: sorted([work.id, gone.id]),
        updated: [],
        destroyed: [],
      });

      await store.mailboxes.renameMailbox(user.id, "Work", "Jobs");
      await store.mailboxes.setSubscribed(user.id, "Trash", false);
      await deliver(inbox.id, mail("i@x"));
      await store.mailboxes.deleteMailbox(user.id, "Gone");
      const trash = (await store.mailboxes.getMailbox(user.id, "Trash"))!;
      assert.deepEqual(summary(await store.emails.mailboxChanges(user.id, afterCreate)), {
        created: [],
        updated: sorted([work.id, trash.id, inbox.id]),
        destroyed: [gone.id],
      });
      // Created and deleted after `start`: not there then, not there now.
      assert.ok(!(await store.emails.mailboxChanges(user.id, start)).destroyed.includes(gone.id));
      assert.ok((await store.emails.emailChanges(user.id, afterCreate)).destroyed.includes(inGone.emailId));

      // A new mailbox never takes a deleted one's id.
      const again = await store.mailboxes.createMailbox(user.id, "Gone");
      assert.notEqual(again.id, gone.id);
    });

    test("threadChanges: a thread is created, updated when an email joins or leaves, destroyed with its last", async () => {
      const { user, inbox } = await freshUser();
      const archive = (await store.mailboxes.getMailbox(user.id, "Archive"))!;
      const root = await deliver(inbox.id, mail("tr@x"));
      const other = await deliver(inbox.id, mail("to@x"));
      const start = await store.emails.accountState(user.id);
      const reply = await deliver(inbox.id, mail("tr1@x", "In-Reply-To: <tr@x>\r\n"));
      const fresh = await deliver(inbox.id, mail("tn@x"));
      await store.messages.moveMessages(inbox.id, [root.uid], archive.id);
      await store.messages.expunge(inbox.id, [other.uid]);
      await store.messages.updateFlags(inbox.id, [reply.uid], "add", ["\\Seen"]);
      assert.deepEqual(summary(await store.emails.threadChanges(user.id, start)), {
        created: [fresh.threadId],
        updated: [root.threadId],
        destroyed: [other.threadId],
      });
      const later = await store.emails.accountState(user.id);
      await store.messages.moveMessages(inbox.id, [reply.uid], archive.id);
      assert.deepEqual(summary(await store.emails.threadChanges(user.id, later)), {
        created: [],
        updated: [],
        destroyed: [],
      });
    });

    test("MODSEQs stay strictly increasing per mailbox while the account's advance", async () => {
      const { user, inbox } = await freshUser();
      const junk = (await store.mailboxes.getMailbox(user.id, "Junk"))!;
      const seen: number[] = [(await store.mailboxes.mailboxStatus(inbox.id)).highestModseq];
      let state = await store.emails.accountState(user.id);
      const step = async (work: () => Promise<unknown>, changesInbox: boolean) => {
        await work();
        const next = await store.emails.accountState(user.id);
        assert.ok(next > state, "every change raises the account state");
        state = next;
        const highest = (await store.mailboxes.mailboxStatus(inbox.id)).highestModseq;
        if (changesInbox) {
          assert.ok(highest > seen.at(-1)!);
          assert.equal(highest, next);
          seen.push(highest);
        } else assert.equal(highest, seen.at(-1));
      };
      const first = await deliver(inbox.id, mail("q1@x"));
      seen.push((await store.mailboxes.mailboxStatus(inbox.id)).highestModseq);
      await step(() => deliver(junk.id, mail("q2@x")), false);
      await step(() => store.messages.updateFlags(inbox.id, [first.uid], "add", ["\\Seen"]), true);
      await step(() => store.mailboxes.createMailbox(user.id, "Side"), false);
      await step(() => deliver(inbox.id, mail("q3@x")), true);
      await step(() => store.messages.copyMessages(junk.id, [1], inbox.id), true);
      await step(() => store.messages.moveMessages(inbox.id, [first.uid], junk.id), true);
      const listed = await store.messages.listMessages(inbox.id);
      assert.ok(listed.every((message) => message.modseq <= seen.at(-1)!));
      assert.deepEqual(
        (await store.messages.listMessages(inbox.id, { sinceModseq: seen.at(-2)! })).map((m) => m.uid),
        [],
        "the MOVE's own change in INBOX is an expunge",
      );
      assert.deepEqual(await store.messages.expungedSince(inbox.id, seen.at(-2)!), [first.uid]);
    });

    test("pageMailbox: newest first, ties by email id, one per thread when collapsed, windowed, counted when asked", async () => {
      const { user, inbox } = await freshUser();
      const other = await freshUser();
      const archive = (await store.mailboxes.getMailbox(user.id, "Archive"))!;
      const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute));
      // Two threads of three, one single, one tie in time, and a thread member elsewhere.
      const a1 = await deliver(inbox.id, mail("pa1@x"), at(1));
      const b1 = await deliver(inbox.id, mail("pb1@x"), at(2));
      const a2 = await deliver(inbox.id, mail("pa2@x", "In-Reply-To: <pa1@x>\r\n"), at(3));
      const single = await deliver(inbox.id, mail("ps@x"), at(5));
      const b2 = await deliver(inbox.id, mail("pb2@x", "In-Reply-To: <pb1@x>\r\n"), at(5));
      const a3 = await deliver(inbox.id, mail("pa3@x", "In-Reply-To: <pa2@x>\r\n"), at(6));
      await deliver(archive.id, mail("pa4@x", "In-Reply-To: <pa3@x>\r\n"), at(9));
      const newestFirst = [a3, single, b2, a2, b1, a1].map((entry) => entry.emailId);
      assert.ok(single.emailId < b2.emailId, "the tie is broken by the lower email id first");

      const all = await store.emails.pageMailbox(user.id, inbox.id, {
        collapseThreads: false,
        position: 0,
        limit: null,
        count: true,
      });
      assert.deepEqual(all, { emailIds: newestFirst, total: 6 });
      const page = await store.emails.pageMailbox(user.id, inbox.id, {
        collapseThreads: false,
        position: 2,
        limit: 3,
        count: true,
      });
      assert.deepEqual(page, { emailIds: newestFirst.slice(2, 5), total: 6 });
      const threads = await store.emails.pageMailbox(user.id, inbox.id, {
        collapseThreads: true,
        position: 0,
        limit: null,
        count: true,
      });
      assert.deepEqual(threads, { emailIds: [a3.emailId, single.emailId, b2.emailId], total: 3 });
      const second = await store.emails.pageMailbox(user.id, inbox.id, {
        collapseThreads: true,
        position: 1,
        limit: 1,
        count: true,
      });
      assert.deepEqual(second, { emailIds: [single.emailId], total: 3 });
      const past = await store.emails.pageMailbox(user.id, inbox.id, {
        collapseThreads: false,
        position: 10,
        limit: 5,
        count: true,
      });
      assert.deepEqual(past, { emailIds: [], total: 6 });

      const foreign = await store.emails.pageMailbox(other.user.id, inbox.id, {
        collapseThreads: false,
        position: 0,
        limit: null,
        count: true,
      });
      assert.deepEqual(foreign, { emailIds: [], total: 0 }, "another user's mailbox lists nothing");

      for (const collapseThreads of [false, true]) {
        const counted = await store.emails.pageMailbox(user.id, inbox.id, {
          collapseThreads,
          position: 1,
          limit: 2,
          count: true,
        });
        const uncounted = await store.emails.pageMailbox(user.id, inbox.id, {
          collapseThreads,
          position: 1,
          limit: 2,
          count: false,
        });
        assert.deepEqual(
          uncounted,
          { emailIds: counted.emailIds, total: null },
          "not counted: the same page",
        );
      }
    });

    test("pageMailbox collapsed: of a thread's entries at the same time, the lower email id stands for it", async () => {
      const { user, inbox } = await freshUser();
      const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute));
      const t1 = await deliver(inbox.id, mail("tt1@x"), at(1));
      const t2 = await deliver(inbox.id, mail("tt2@x", "In-Reply-To: <tt1@x>\r\n"), at(7));
      const t3 = await deliver(inbox.id, mail("tt3@x", "In-Reply-To: <tt1@x>\r\n"), at(7));
      const other = await deliver(inbox.id, mail("to@x"), at(4));
      assert.ok(t2.emailId < t3.emailId);
      const page = await store.emails.pageMailbox(user.id, inbox.id, {
        collapseThreads: true,
        position: 0,
        limit: null,
        count: true,
      });
      assert.deepEqual(page, { emailIds: [t2.emailId, other.emailId], total: 2 });
      assert.deepEqual(
        (
          await store.emails.pageMailbox(user.id, inbox.id, {
            collapseThreads: false,
            position: 0,
            limit: 2,
            count: false,
          })
        ).emailIds,
        [t2.emailId, t3.emailId],
      );
      assert.ok(t1.emailId < t2.emailId);
    });
  });
}
