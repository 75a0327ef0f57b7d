// Email/queryChanges (RFC 8620 §5.6) over a fake store that keeps rows and the ids changed since each
// state: the old result with removed dropped and added spliced in is the new one, thread mates count
// when threads do, and a truncated history, maxChanges and bad arguments get their errors.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { emailQuery, emailQueryChanges } from "../../src/jmap/email-methods.js";
import { applyQueryChanges } from "../../src/jmap/query-changes.js";
import type { JsonObject } from "../../src/jmap/types.js";
import { StoreError } from "../../src/store/errors.js";
import type { Changes, MailboxMessage, Store } from "../../src/store/types.js";
import { methodContext } from "./fixtures.js";

function fakeStore() {
  const rows = new Map<number, MailboxMessage>();
  /** Per email id, the MODSEQ of its last change (a destroyed one stays here, without a row). */
  const changedAt = new Map<number, number>();
  const threadOf = new Map<number, number>();
  const account = { modseq: 1, floor: 0 };
  const put = (emailId: number, threadId: number, mailboxId: number, day: number, flags: string[] = []) => {
    account.modseq++;
    rows.set(emailId, {
      mailboxId,
      uid: emailId,
      messageId: `b${emailId}`,
      flags,
      internalDate: new Date(Date.UTC(2026, 0, day)),
      savedDate: new Date(Date.UTC(2026, 0, day)),
      size: 100,
      modseq: account.modseq,
      emailId,
      threadId,
    });
    changedAt.set(emailId, account.modseq);
    threadOf.set(emailId, threadId);
  };
  const destroy = (emailId: number) => {
    account.modseq++;
    rows.delete(emailId);
    changedAt.set(emailId, account.modseq);
  };
  const since = async (_userId: number, state: number): Promise<Changes> => {
    if (state < account.floor)
      throw new StoreError("cannot-calculate", `changes before ${account.floor} are not kept`);
    const ids = [...changedAt].filter(([, at]) => at > state).map(([id]) => id);
    return {
      created: [],
      updated: ids.filter((id) => rows.has(id)),
      destroyed: ids.filter((id) => !rows.has(id)),
      newState: account.modseq,
      hasMoreChanges: false,
    };
  };
  // A thread is updated when an email joined or left it.
  const threadsSince = async (userId: number, state: number): Promise<Changes> => {
    const emails = await since(userId, state);
    const threads = new Set([...emails.updated, ...emails.destroyed].map((id) => threadOf.get(id) as number));
    return { ...emails, updated: [...threads], destroyed: [] };
  };
  const store = {
    emails: {
      accountState: async () => account.modseq,
      listEmails: async (_userId: number, filter?: { mailboxId?: number }) =>
        [...rows.values()].filter(
          (row) => filter?.mailboxId === undefined || row.mailboxId === filter.mailboxId,
        ),
      // Newest first, ties to the older id, one per thread when collapsed: the order runEmailQuery gives.
      pageMailbox: async (
        _userId: number,
        mailboxId: number,
        page: { collapseThreads: boolean; position: number; limit: number | null; count: boolean },
      ) => {
        const seen = new Set<number>();
        const ordered = [...rows.values()]
          .filter((row) => row.mailboxId === mailboxId)
          .sort((a, b) => b.internalDate.getTime() - a.internalDate.getTime() || a.emailId - b.emailId)
          .filter((row) => {
            if (!page.collapseThreads) return true;
            if (seen.has(row.threadId)) return false;
            seen.add(row.threadId);
            return true;
          });
        const end = page.limit === null ? undefined : page.position + page.limit;
        return {
          emailIds: ordered.slice(page.position, end).map((row) => row.emailId),
          total: page.count ? ordered.length : null,
        };
      },
      emailChanges: since,
      threadChanges: threadsSince,
    },
    blobs: { readHeaderBlocks: async () => new Map() },
    mailboxes: {},
    search: {},
  } as unknown as Pick<Store, "emails" | "blobs" | "mailboxes" | "search">;
  return { store, put, destroy, account };
}

const context = methodContext();

function setup() {
  const fake = fakeStore();
  const query = async (args: JsonObject = {}) =>
    emailQuery(fake.store).run({ accountId: "A7", ...args }, context);
  const changes = async (args: JsonObject) =>
    emailQueryChanges(fake.store).run({ accountId: "A7", ...args }, context);
  return { ...fake, query, changes };
}

const BY_DATE = { sort: [{ property: "receivedAt", isAscending: false }] };

describe("Email/queryChanges", () => {
  test("removed and added turn the old result into the new one, with the new state and total", async () => {
    const s = setup();
    for (let id = 1; id <= 6; id++) s.put(id, id, id % 2 === 0 ? 1 : 2, id);
    const args = { ...BY_DATE, filter: { inMailbox: "M1" } };
    const before = await s.query(args);
    assert.equal(before.canCalculateChanges, true);
    s.destroy(2); // was in the result
    s.put(7, 7, 1, 7); // new, at the top
    s.put(3, 3, 1, 3); // moved into the mailbox
    s.put(4, 4, 1, 4, ["$seen"]); // a keyword: stays where it was
    s.put(6, 6, 2, 6); // moved out
    const after = await s.query(args);
    const answer = await s.changes({
      ...args,
      sinceQueryState: before.queryState as string,
      calculateTotal: true,
    });
    assert.deepEqual(
      applyQueryChanges(before.ids as string[], answer as never),
      after.ids,
      JSON.stringify(answer),
    );
    assert.deepEqual(after.ids, ["E7", "E4", "E3"]);
    assert.equal(answer.oldQueryState, before.queryState);
    assert.equal(answer.newQueryState, after.queryState);
    assert.equal(answer.total, 3);
    assert.ok((answer.removed as string[]).includes("E2"));
    assert.ok((answer.removed as string[]).includes("E6"));
  });

  test("no change since: nothing removed or added", async () => {
    const s = setup();
    s.put(1, 1, 1, 1);
    const before = await s.query(BY_DATE);
    const answer = await s.changes({ ...BY_DATE, sinceQueryState: before.queryState as string });
    assert.deepEqual([answer.removed, answer.added, answer.total], [[], [], undefined]);
  });

  test("with collapseThreads a changed email moves its whole thread", async () => {
    const s = setup();
    s.put(1, 1, 1, 1);
    s.put(2, 1, 1, 2);
    s.put(3, 3, 1, 3);
    const args = { ...BY_DATE, collapseThreads: true };
    const before = await s.query(args);
    assert.deepEqual(before.ids, ["E3", "E2"]);
    s.destroy(2); // E1 now stands for thread 1
    const answer = await s.changes({ ...args, sinceQueryState: before.queryState as string });
    const after = await s.query(args);
    assert.deepEqual(after.ids, ["E3", "E1"]);
    assert.deepEqual(applyQueryChanges(before.ids as string[], answer as never), after.ids);
  });

  test("cannotCalculateChanges when the history does not reach back, or for a state not given", async () => {
    const s = setup();
    s.put(1, 1, 1, 1);
    const before = await s.query(BY_DATE);
    s.put(2, 2, 1, 2);
    s.account.floor = s.account.modseq; // as after `mailroom migrate` raised the counters
    await assert.rejects(s.changes({ ...BY_DATE, sinceQueryState: before.queryState as string }), {
      type: "cannotCalculateChanges",
    });
    await assert.rejects(s.changes({ sinceQueryState: "nope" }), { type: "cannotCalculateChanges" });
  });

  test("tooManyChanges past maxChanges; upToId accepted; bad arguments are invalidArguments", async () => {
    const s = setup();
    s.put(1, 1, 1, 1);
    const before = await s.query(BY_DATE);
    s.put(2, 2, 1, 2);
    s.put(3, 3, 1, 3);
    const since = { ...BY_DATE, sinceQueryState: before.queryState as string };
    await assert.rejects(s.changes({ ...since, maxChanges: 3 }), { type: "tooManyChanges" });
    const fits = await s.changes({ ...since, maxChanges: 4, upToId: "E1" });
    assert.deepEqual(fits.added, [
      { id: "E3", index: 0 },
      { id: "E2", index: 1 },
    ]);
    for (const bad of <JsonObject[]>[
      { maxChanges: 0 },
      { maxChanges: "5" },
      { upToId: 5 },
      { sinceQueryState: 1 },
    ]) {
      await assert.rejects(
        s.changes({ ...since, ...bad }),
        { type: "invalidArguments" },
        JSON.stringify(bad),
      );
    }
  });
});
