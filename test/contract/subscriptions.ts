// Contract for subscriptions as names apart from mailboxes (RFC 9051 §6.3.9): run inside runStoreContract.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DEFAULT_MAILBOXES, type Store } from "../../src/store/types.js";

export interface SubscriptionContext {
  store(): Store;
  freshUser(): Promise<{ user: { id: number } }>;
}

export function describeSubscriptions(context: SubscriptionContext): void {
  describe("subscriptions", () => {
    const defaults = DEFAULT_MAILBOXES.map((mailbox) => mailbox.name).sort();

    test("new mailboxes start subscribed; names without a mailbox can be subscribed", async () => {
      const store = context.store();
      const { user } = await context.freshUser();
      assert.deepEqual(await store.mailboxes.listSubscriptions(user.id), defaults);
      await store.mailboxes.setSubscribed(user.id, "Later/Maybe", true);
      await store.mailboxes.setSubscribed(user.id, "inbox", false);
      assert.deepEqual(
        await store.mailboxes.listSubscriptions(user.id),
        ["Later/Maybe", ...defaults.filter((n) => n !== "INBOX")].sort(),
      );
      assert.equal(await store.mailboxes.getMailbox(user.id, "Later/Maybe"), null);
      assert.equal((await store.mailboxes.getMailbox(user.id, "INBOX"))?.subscribed, false);
      await store.mailboxes.setSubscribed(user.id, "Later/Maybe", true);
      await store.mailboxes.setSubscribed(user.id, "Never/Was", false);
      assert.equal(
        (await store.mailboxes.listSubscriptions(user.id)).filter((n) => n === "Later/Maybe").length,
        1,
      );
      const created = await store.mailboxes.createMailbox(user.id, "Later/Maybe");
      assert.equal(created.subscribed, true);
    });

    test("delete keeps the subscription; re-creating the name finds it subscribed", async () => {
      const store = context.store();
      const { user } = await context.freshUser();
      await store.mailboxes.createMailbox(user.id, "Projects");
      await store.mailboxes.deleteMailbox(user.id, "Projects");
      assert.ok((await store.mailboxes.listSubscriptions(user.id)).includes("Projects"));
      assert.equal(
        (await store.mailboxes.listMailboxes(user.id)).some((m) => m.name === "Projects"),
        false,
      );
      await store.mailboxes.setSubscribed(user.id, "Projects", false);
      assert.equal((await store.mailboxes.listSubscriptions(user.id)).includes("Projects"), false);
    });

    test("rename moves the subscriptions of the mailbox and its inferiors, and only those", async () => {
      const store = context.store();
      const { user } = await context.freshUser();
      await store.mailboxes.createMailbox(user.id, "Work");
      await store.mailboxes.createMailbox(user.id, "Work/Old");
      await store.mailboxes.createMailbox(user.id, "Work/Quiet");
      await store.mailboxes.setSubscribed(user.id, "Work/Quiet", false);
      await store.mailboxes.setSubscribed(user.id, "Job/Quiet", true);
      await store.mailboxes.setSubscribed(user.id, "Work/Gone", true);
      await store.mailboxes.renameMailbox(user.id, "Work", "Job");
      const names = await store.mailboxes.listSubscriptions(user.id);
      for (const name of ["Job", "Job/Old", "Job/Quiet", "Work/Gone"]) assert.ok(names.includes(name), name);
      for (const name of ["Work", "Work/Old", "Work/Quiet"]) assert.equal(names.includes(name), false, name);
      const listed = new Map(
        (await store.mailboxes.listMailboxes(user.id)).map((m) => [m.name, m.subscribed]),
      );
      assert.equal(listed.get("Job"), true);
      assert.equal(listed.get("Job/Old"), true);
      assert.equal(listed.get("Job/Quiet"), true);
    });

    test("renaming INBOX leaves INBOX subscribed and subscribes the new mailbox", async () => {
      const store = context.store();
      const { user } = await context.freshUser();
      await store.mailboxes.renameMailbox(user.id, "INBOX", "Old Inbox");
      const names = await store.mailboxes.listSubscriptions(user.id);
      assert.ok(names.includes("INBOX"));
      assert.ok(names.includes("Old Inbox"));
    });

    test("invalid names are refused; removing the user removes its subscriptions", async () => {
      const store = context.store();
      const { user } = await context.freshUser();
      await assert.rejects(
        store.mailboxes.setSubscribed(user.id, "", true),
        (error: unknown) => (error as { code?: string }).code === "invalid",
      );
      assert.deepEqual(await store.mailboxes.listSubscriptions(user.id), defaults);
      const address = (await store.directory.getUserById(user.id))!.address;
      await store.mailboxes.setSubscribed(user.id, "Dangling", true);
      await store.directory.removeUser(address);
      assert.deepEqual(await store.mailboxes.listSubscriptions(user.id), []);
    });
  });
}
