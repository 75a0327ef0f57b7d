// Mailbox/get and Mailbox/query (RFC 8621 §2) over a fake mailboxes part: roles from SPECIAL-USE, the
// hierarchy from "/" names, counts from the status and the entries' threads, subscriptions, the account's
// state string, and query paging.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type MailboxJmapStore,
  mailboxGet,
  mailboxQuery,
  mailboxQueryChanges,
} from "../../src/jmap/mailbox.js";
import { applyQueryChanges } from "../../src/jmap/query-changes.js";
import type { JsonObject } from "../../src/jmap/types.js";
import type { Changes, Mailbox, MailboxStatus, SpecialUse } from "../../src/store/types.js";
import { mailboxRow, methodContext } from "./fixtures.js";

const context = methodContext();

function fakeStore() {
  const rows: Mailbox[] = [];
  const statuses = new Map<number, MailboxStatus>();
  const subscriptions = new Set<string>();
  const entries = new Map<number, Array<{ threadId: number; flags: string[] }>>();
  const account = { modseq: 1 };
  /** What mailboxChanges answers, whatever the state asked about. */
  const changes: Changes = { created: [], updated: [], destroyed: [], newState: 1, hasMoreChanges: false };
  const add = (id: number, name: string, specialUse: SpecialUse | null = null, messages = 0, unseen = 0) => {
    // Each email its own thread, the first `unseen` of them unread.
    entries.set(
      id,
      Array.from({ length: messages }, (_, index) => ({
        threadId: id * 100 + index,
        flags: index < unseen ? [] : ["\\Seen"],
      })),
    );
    rows.push(mailboxRow(id, name, specialUse));
    statuses.set(id, { messages, unseen, size: 0, uidNext: 1, uidValidity: 1, highestModseq: 1 });
    subscriptions.add(name);
  };
  const store = {
    mailboxes: {
      listMailboxes: async () => rows.map((row) => ({ ...row })),
      listSubscriptions: async () => [...subscriptions].sort(),
      mailboxStatus: async (id: number) => statuses.get(id) as MailboxStatus,
    },
    emails: {
      accountState: async () => account.modseq,
      mailboxChanges: async () => changes,
      listEmails: async (_userId: number, filter: { mailboxId: number }) =>
        entries.get(filter.mailboxId) ?? [],
    },
  } as unknown as MailboxJmapStore;
  return { store, rows, statuses, subscriptions, add, account, entries, changes };
}

function standard() {
  const fake = fakeStore();
  fake.add(1, "INBOX", null, 5, 2);
  fake.add(2, "Sent", "\\Sent");
  fake.add(3, "Trash", "\\Trash");
  fake.add(4, "Projects");
  fake.add(5, "Projects/mailroom", null, 3, 3);
  fake.add(6, "Projects/mailroom/http");
  fake.add(7, "Lists/node"); // its parent "Lists" exists only as a prefix
  fake.subscriptions.delete("Trash");
  return fake;
}

const get = (fake: ReturnType<typeof fakeStore>, args: JsonObject = {}) =>
  mailboxGet(fake.store, 3).run({ accountId: "A7", ...args }, context);
const query = (fake: ReturnType<typeof fakeStore>, args: JsonObject = {}) =>
  mailboxQuery(fake.store).run({ accountId: "A7", ...args }, context);

describe("Mailbox/get", () => {
  test("every mailbox with role, parent, leaf name, counts, rights and subscription", async () => {
    const fake = standard();
    const result = await get(fake);
    const byId = new Map((result.list as JsonObject[]).map((object) => [object.id, object]));
    assert.equal(byId.size, 7);
    assert.deepEqual(byId.get("M1"), {
      id: "M1",
      name: "INBOX",
      parentId: null,
      role: "inbox",
      sortOrder: 0,
      totalEmails: 5,
      unreadEmails: 2,
      totalThreads: 5,
      unreadThreads: 2,
      myRights: {
        mayReadItems: true,
        mayAddItems: true,
        mayRemoveItems: true,
        maySetSeen: true,
        maySetKeywords: true,
        mayCreateChild: true,
        mayRename: false,
        mayDelete: false,
        maySubmit: true,
      },
      isSubscribed: true,
    });
    assert.equal(byId.get("M2")?.role, "sent");
    assert.equal(byId.get("M3")?.isSubscribed, false);
    assert.equal(byId.get("M4")?.role, null);
    assert.deepEqual([byId.get("M5")?.name, byId.get("M5")?.parentId], ["mailroom", "M4"]);
    assert.deepEqual([byId.get("M6")?.name, byId.get("M6")?.parentId], ["http", "M5"]);
    assert.deepEqual([byId.get("M7")?.name, byId.get("M7")?.parentId], ["Lists/node", null]);
    assert.deepEqual(result.notFound, []);
    assert.equal(result.accountId, "A7");
  });

  test("ids and properties pick; unknown ids are notFound; id always comes back", async () => {
    const fake = standard();
    const result = await get(fake, { ids: ["M2", "M99", "M2"], properties: ["role"] });
    assert.deepEqual(result.list, [{ id: "M2", role: "sent" }]);
    assert.deepEqual(result.notFound, ["M99"]);
  });

  test("invalidArguments for bad ids or properties; requestTooLarge past maxObjectsInGet", async () => {
    const fake = standard();
    await assert.rejects(get(fake, { ids: "M1" }), { type: "invalidArguments" });
    await assert.rejects(get(fake, { properties: ["colour"] }), { type: "invalidArguments" });
    await assert.rejects(get(fake, { ids: ["M1", "M2", "M3", "M4"] }), { type: "requestTooLarge" });
  });

  test("the state is the account's MODSEQ; threads are counted from the entries, once per thread", async () => {
    const fake = standard();
    const first = (await get(fake)).state;
    assert.equal(first, "s1");
    fake.account.modseq = 9;
    assert.equal((await get(fake)).state, "s9");
    fake.entries.set(4, [
      { threadId: 1, flags: ["\\Seen"] },
      { threadId: 1, flags: [] },
      { threadId: 2, flags: ["\\Seen"] },
    ]);
    const [projects] = (await get(fake, { ids: ["M4"], properties: ["totalThreads", "unreadThreads"] }))
      .list as JsonObject[];
    assert.deepEqual(projects, { id: "M4", totalThreads: 2, unreadThreads: 1 });
  });
});

describe("Mailbox/query", () => {
  test("filters: role, hasAnyRole, parentId, name, isSubscribed, and operators", async () => {
    const fake = standard();
    const ids = async (filter: JsonObject) => (await query(fake, { filter })).ids;
    assert.deepEqual(await ids({ role: "inbox" }), ["M1"]);
    assert.deepEqual(await ids({ hasAnyRole: true }), ["M1", "M2", "M3"]);
    assert.deepEqual(await ids({ parentId: "M4" }), ["M5"]);
    assert.deepEqual(await ids({ parentId: null, hasAnyRole: false }), ["M4", "M7"]);
    assert.deepEqual(await ids({ name: "MAIL" }), ["M5"]);
    assert.deepEqual(await ids({ isSubscribed: false }), ["M3"]);
    assert.deepEqual(await ids({ operator: "OR", conditions: [{ role: "sent" }, { role: "trash" }] }), [
      "M2",
      "M3",
    ]);
    assert.deepEqual(await ids({ operator: "NOT", conditions: [{ hasAnyRole: true }, { parentId: null }] }), [
      "M5",
      "M6",
    ]);
    await assert.rejects(ids({ colour: "red" }), { type: "unsupportedFilter" });
    await assert.rejects(ids({ operator: "XOR", conditions: [] }), { type: "unsupportedFilter" });
  });

  test("sort by name, sortAsTree puts parents before children, filterAsTree drops children of dropped parents", async () => {
    const fake = standard();
    const byName = await query(fake, { sort: [{ property: "name", isAscending: false }] });
    assert.deepEqual(byName.ids, ["M3", "M2", "M4", "M5", "M7", "M1", "M6"]);
    const tree = await query(fake, { sort: [{ property: "name" }], sortAsTree: true });
    assert.deepEqual(tree.ids, ["M1", "M7", "M4", "M5", "M6", "M2", "M3"]);
    const pruned = await query(fake, {
      filter: { operator: "NOT", conditions: [{ name: "mailroom" }] },
      filterAsTree: true,
    });
    assert.ok(!(pruned.ids as string[]).includes("M5"));
    assert.ok(!(pruned.ids as string[]).includes("M6"), "a child of a dropped parent goes too");
    await assert.rejects(query(fake, { sort: [{ property: "size" }] }), { type: "unsupportedSort" });
  });

  test("position, negative position, anchor with offset, limit and total", async () => {
    const fake = standard();
    const page = await query(fake, { position: 2, limit: 2, calculateTotal: true });
    assert.deepEqual([page.ids, page.position, page.total], [["M3", "M4"], 2, 7]);
    assert.deepEqual((await query(fake, { position: -2 })).ids, ["M6", "M7"]);
    const anchored = await query(fake, { anchor: "M4", anchorOffset: -1, limit: 3 });
    assert.deepEqual([anchored.ids, anchored.position], [["M3", "M4", "M5"], 2]);
    await assert.rejects(query(fake, { anchor: "M99" }), { type: "anchorNotFound" });
    await assert.rejects(query(fake, { limit: -1 }), { type: "invalidArguments" });
    assert.equal((await query(fake)).canCalculateChanges, true);
    assert.equal(typeof (await query(fake)).queryState, "string");
  });
});

describe("Mailbox/queryChanges", () => {
  const queryChanges = (fake: ReturnType<typeof fakeStore>, args: JsonObject) =>
    mailboxQueryChanges(fake.store).run({ accountId: "A7", ...args }, context);
  const byName = { sort: [{ property: "name" }] };

  test("a renamed mailbox moves; the others stay", async () => {
    const fake = standard();
    const before = await query(fake, byName);
    (fake.rows[1] as Mailbox).name = "Archive"; // was Sent
    fake.account.modseq = 2;
    fake.changes.updated.push(2);
    const after = await query(fake, byName);
    const answer = await queryChanges(fake, { ...byName, sinceQueryState: before.queryState as string });
    assert.deepEqual(answer.removed, ["M2"]);
    assert.deepEqual(applyQueryChanges(before.ids as string[], answer as never), after.ids);
    assert.equal(answer.newQueryState, after.queryState);
  });

  test("a mailbox that came or went, or a tree query, counts every mailbox as changed", async () => {
    const fake = standard();
    const tree = { ...byName, sortAsTree: true };
    const before = await query(fake, tree);
    fake.add(8, "Lists"); // now the parent of "Lists/node", whose name becomes "node"
    fake.changes.created.push(8);
    const answer = await queryChanges(fake, { ...tree, sinceQueryState: before.queryState as string });
    assert.equal((answer.removed as string[]).length, 8);
    assert.deepEqual(
      applyQueryChanges(before.ids as string[], answer as never),
      (await query(fake, tree)).ids,
    );
    await assert.rejects(
      queryChanges(fake, { sinceQueryState: before.queryState as string, maxChanges: 2 }),
      {
        type: "tooManyChanges",
      },
    );
  });
});
