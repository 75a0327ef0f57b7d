// Mailbox/set (RFC 8621 §2.5) over a fake mailboxes part that keeps the store's rules: "/"-joined names,
// renames that carry children and subscriptions, new mailboxes subscribed, and a MODSEQ every change
// raises. Creates, updates and destroys with their SetErrors, creation ids, ifInState and the limits.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MethodError } from "../../src/jmap/errors.js";
import { type MailboxSetStore, mailboxSet } from "../../src/jmap/mailbox-set.js";
import type { JsonObject } from "../../src/jmap/types.js";
import { StoreError } from "../../src/store/errors.js";
import type { Mailbox, SpecialUse } from "../../src/store/types.js";
import { mailboxRow, methodContext } from "./fixtures.js";

function fakeStore() {
  const rows: Mailbox[] = [];
  const subscriptions = new Set<string>();
  const messages = new Map<number, number>();
  const state = { modseq: 1, nextId: 1 };
  const bump = () => ++state.modseq;
  const named = (name: string) => rows.find((row) => row.name.toUpperCase() === name.toUpperCase());
  const add = (name: string, specialUse: SpecialUse | null = null): Mailbox => {
    if (named(name)) throw new StoreError("exists", `mailbox "${name}" already exists`);
    const row = mailboxRow(state.nextId++, name, specialUse, bump());
    rows.push(row);
    subscriptions.add(name);
    return row;
  };
  const store = {
    mailboxes: {
      listMailboxes: async () => rows.map((row) => ({ ...row, subscribed: subscriptions.has(row.name) })),
      listSubscriptions: async () => [...subscriptions].sort(),
      mailboxStatus: async (id: number) => ({
        messages: messages.get(id) ?? 0,
        unseen: 0,
        size: 0,
        uidNext: 1,
        uidValidity: 1,
        highestModseq: 1,
      }),
      createMailbox: async (_userId: number, name: string, specialUse: SpecialUse | null) =>
        add(name, specialUse),
      renameMailbox: async (_userId: number, from: string, to: string) => {
        const row = named(from) as Mailbox;
        if (named(to)) throw new StoreError("exists", `mailbox "${to}" already exists`);
        bump();
        for (const each of rows.filter((r) => r === row || r.name.startsWith(`${from}/`))) {
          const renamed = to + each.name.slice(from.length);
          if (subscriptions.delete(each.name)) subscriptions.add(renamed);
          each.name = renamed;
        }
      },
      deleteMailbox: async (_userId: number, name: string) => {
        rows.splice(rows.indexOf(named(name) as Mailbox), 1);
        bump();
      },
      setSubscribed: async (_userId: number, name: string, subscribed: boolean) => {
        if (subscribed) subscriptions.add(name);
        else subscriptions.delete(name);
        bump();
      },
    },
    emails: { accountState: async () => state.modseq },
  } as unknown as MailboxSetStore;
  for (const name of ["INBOX", "Sent", "Trash", "Projects", "Projects/mailroom"]) {
    add(name, name === "Sent" ? "\\Sent" : name === "Trash" ? "\\Trash" : null);
  }
  return { store, rows, subscriptions, messages, state, named };
}

function setup(maxObjects = 20) {
  const fake = fakeStore();
  const context = methodContext();
  const set = (args: JsonObject) =>
    mailboxSet(fake.store, maxObjects).run({ accountId: "A7", ...args }, context);
  const id = (name: string) => `M${(fake.named(name) as Mailbox).id}`;
  return { ...fake, context, set, id };
}

const invalid = (properties: string[]) => ({ type: "invalidProperties", properties });
const typeOf = (errors: unknown, key: string) => (errors as Record<string, { type: string }>)[key]?.type;

/** The errors of a not* map without their descriptions, which are for people. */
function shapes(errors: unknown): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(errors as Record<string, JsonObject>).map(([key, { description, ...rest }]) => {
      assert.equal(typeof description, "string");
      return [key, rest];
    }),
  );
}

describe("Mailbox/set create", () => {
  test("a child is named under its parent; the response has the id and the server's defaults", async () => {
    const fake = setup();
    const response = await fake.set({
      create: { k1: { name: "http", parentId: fake.id("Projects/mailroom"), isSubscribed: false } },
    });
    assert.equal(response.oldState, "s6");
    assert.equal(response.newState, `s${fake.state.modseq}`);
    assert.notEqual(response.newState, response.oldState);
    const created = (response.created as Record<string, JsonObject>).k1 as JsonObject;
    assert.equal(created.id, fake.id("Projects/mailroom/http"));
    assert.deepEqual(Object.keys(created).sort(), [
      "id",
      "myRights",
      "role",
      "sortOrder",
      "totalEmails",
      "totalThreads",
      "unreadEmails",
      "unreadThreads",
    ]);
    assert.equal(created.role, null);
    assert.equal(created.totalEmails, 0);
    assert.equal(fake.subscriptions.has("Projects/mailroom/http"), false);
    assert.equal(fake.context.createdIds.get("k1"), created.id);
    assert.equal(response.updated, null);
    assert.equal(response.destroyed, null);
    assert.equal(response.notCreated, null);
    assert.equal(response.notUpdated, null);
    assert.equal(response.notDestroyed, null);
  });

  test("a parent created in the same call is made first, whatever the map's order", async () => {
    const fake = setup();
    const response = await fake.set({
      create: {
        child: { name: "Child", parentId: "#parent" },
        parent: { name: "Parent", role: "archive" },
      },
    });
    assert.equal(response.notCreated, null);
    assert.ok(fake.named("Parent/Child"));
    assert.equal(fake.named("Parent")?.specialUse, "\\Archive");
    const created = response.created as Record<string, JsonObject>;
    assert.equal(created.child?.isSubscribed, true);
    assert.equal("role" in (created.parent as JsonObject), false, "the client gave the role");
    // A later call names the creation by "#".
    const later = await fake.set({ update: { "#child": { name: "Kid" } }, destroy: ["#nothing"] });
    assert.deepEqual(Object.keys(later.updated as JsonObject), [created.child?.id]);
    assert.ok(fake.named("Parent/Kid"));
    assert.equal(typeOf(later.notDestroyed, "#nothing"), "notFound");
  });

  test("invalidProperties name each bad property; what is refused is not created", async () => {
    const fake = setup();
    const before = fake.rows.length;
    const response = await fake.set({
      create: {
        noName: { parentId: null },
        slash: { name: "a/b" },
        long: { name: "x".repeat(256) },
        serverSet: { name: "s", totalEmails: 0 },
        unknown: { name: "u", colour: "red" },
        orphan: { name: "o", parentId: "M999" },
        ghostParent: { name: "g", parentId: "#nowhere" },
        takenRole: { name: "Sent2", role: "sent" },
        inboxRole: { name: "Inbox2", role: "inbox" },
        oddRole: { name: "Odd", role: "important" },
        sorted: { name: "Sorted", sortOrder: 5 },
        taken: { name: "mailroom", parentId: fake.id("Projects") },
        inbox: { name: "inbox" },
        subscribed: { name: "Subs", isSubscribed: "yes" },
      },
    });
    assert.equal(response.created, null);
    assert.deepEqual(shapes(response.notCreated), {
      noName: invalid(["name"]),
      slash: invalid(["name"]),
      long: invalid(["name"]),
      serverSet: invalid(["totalEmails"]),
      unknown: invalid(["colour"]),
      orphan: invalid(["parentId"]),
      ghostParent: invalid(["parentId"]),
      takenRole: invalid(["role"]),
      inboxRole: invalid(["role"]),
      oddRole: invalid(["role"]),
      sorted: invalid(["sortOrder"]),
      taken: invalid(["name"]),
      inbox: invalid(["name"]),
      subscribed: invalid(["isSubscribed"]),
    });
    assert.equal(fake.rows.length, before);
    assert.equal(response.newState, response.oldState);
  });

  test("a role is taken once: two creations asking for it get it once", async () => {
    const fake = setup();
    const response = await fake.set({
      create: { a: { name: "Junk", role: "junk" }, b: { name: "Spam", role: "junk" } },
    });
    assert.ok((response.created as JsonObject).a);
    assert.equal(typeOf(response.notCreated, "b"), "invalidProperties");
    assert.equal(fake.named("Junk")?.specialUse, "\\Junk");
  });
});

describe("Mailbox/set update", () => {
  test("a new name or parent renames the mailbox with its children and their subscriptions", async () => {
    const fake = setup();
    const projects = fake.id("Projects");
    const response = await fake.set({
      update: {
        [projects]: { name: "Work" },
        [fake.id("Trash")]: { parentId: projects, isSubscribed: false, role: "trash", sortOrder: 0 },
      },
    });
    assert.deepEqual(response.updated, { [projects]: null, [fake.id("Work/Trash")]: null });
    assert.ok(fake.named("Work/mailroom"));
    assert.equal(fake.subscriptions.has("Work/mailroom"), true);
    assert.equal(fake.subscriptions.has("Work/Trash"), false);
    assert.equal(fake.named("Work/Trash")?.specialUse, "\\Trash");
    const back = await fake.set({ update: { [fake.id("Work/Trash")]: { parentId: null } } });
    assert.equal(back.notUpdated, null);
    assert.ok(fake.named("Trash"));
  });

  test("refused: INBOX renamed, a move under itself, a role change, a taken name, unknown ids", async () => {
    const fake = setup();
    const projects = fake.id("Projects");
    const response = await fake.set({
      update: {
        [fake.id("INBOX")]: { name: "Old mail" },
        [projects]: { parentId: fake.id("Projects/mailroom") },
        [fake.id("Projects/mailroom")]: { parentId: fake.id("Projects/mailroom") },
        [fake.id("Sent")]: { role: "drafts" },
        [fake.id("Trash")]: { name: "Sent" },
        M999: { name: "x" },
      },
    });
    assert.equal(response.updated, null);
    assert.deepEqual(shapes(response.notUpdated), {
      [fake.id("INBOX")]: { type: "forbidden" },
      [projects]: invalid(["parentId"]),
      [fake.id("Projects/mailroom")]: invalid(["parentId"]),
      [fake.id("Sent")]: invalid(["role"]),
      [fake.id("Trash")]: invalid(["name"]),
      M999: { type: "notFound" },
    });
    // Subscribing INBOX is no rename.
    const subscribe = await fake.set({
      update: { [fake.id("INBOX")]: { name: "INBOX", isSubscribed: false } },
    });
    assert.equal(subscribe.notUpdated, null);
    assert.equal(fake.subscriptions.has("INBOX"), false);
  });
});

describe("Mailbox/set destroy", () => {
  test("mailboxHasChild, mailboxHasEmail unless onDestroyRemoveEmails, INBOX forbidden", async () => {
    const fake = setup();
    const projects = fake.id("Projects");
    const trash = fake.id("Trash");
    fake.messages.set(fake.named("Trash")?.id as number, 2);
    const response = await fake.set({ destroy: [projects, trash, fake.id("INBOX"), "M999"] });
    assert.equal(response.destroyed, null);
    assert.deepEqual(shapes(response.notDestroyed), {
      [projects]: { type: "mailboxHasChild" },
      [trash]: { type: "mailboxHasEmail" },
      [fake.id("INBOX")]: { type: "forbidden" },
      M999: { type: "notFound" },
    });
    const removing = await fake.set({ destroy: [trash], onDestroyRemoveEmails: true });
    assert.deepEqual(removing.destroyed, [trash]);
    assert.equal(fake.named("Trash"), undefined);
  });

  test("a parent and its child go in one call; an update of a destroyed mailbox is willDestroy", async () => {
    const fake = setup();
    const projects = fake.id("Projects");
    const child = fake.id("Projects/mailroom");
    const response = await fake.set({ update: { [child]: { name: "x" } }, destroy: [projects, child] });
    assert.deepEqual(response.destroyed, [child, projects]);
    assert.equal(typeOf(response.notUpdated, child), "willDestroy");
  });
});

describe("Mailbox/set arguments", () => {
  test("ifInState other than the state is stateMismatch; the same state goes ahead", async () => {
    const fake = setup();
    await assert.rejects(
      fake.set({ ifInState: "s1", create: { a: { name: "A" } } }),
      (error: unknown) => error instanceof MethodError && error.type === "stateMismatch",
    );
    assert.equal(fake.named("A"), undefined);
    const ok = await fake.set({ ifInState: `s${fake.state.modseq}`, create: { a: { name: "A" } } });
    assert.ok((ok.created as JsonObject).a);
  });

  test("more objects than maxObjectsInSet is requestTooLarge; malformed maps are invalidArguments", async () => {
    const fake = setup(2);
    await assert.rejects(
      fake.set({ create: { a: { name: "A" }, b: { name: "B" } }, destroy: ["M3"] }),
      (error: unknown) => error instanceof MethodError && error.type === "requestTooLarge",
    );
    for (const args of <JsonObject[]>[
      { create: [] },
      { update: { M1: 5 } },
      { destroy: "M1" },
      { onDestroyRemoveEmails: "yes" },
      { ifInState: 4 },
    ]) {
      await assert.rejects(
        fake.set(args),
        (error: unknown) => error instanceof MethodError && error.type === "invalidArguments",
        JSON.stringify(args),
      );
    }
  });
});
