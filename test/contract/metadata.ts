// Store contract, part `metadata`: IMAP METADATA entries on mailboxes and the server (RFC 5464).
// Run by runStoreContract (store-contract.ts) against every backend.

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { Store } from "../../src/store/types.js";
import { type ContractContext, rejectsWith } from "./support.js";

const value = (text: string) => Buffer.from(text);
const named = (entries: Array<{ entry: string; value: Buffer }>) =>
  entries.map((each) => `${each.entry}=${each.value.toString()}`);

export function describeMetadataContract(context: ContractContext): void {
  describe("metadata", () => {
    let store: Store;
    before(() => {
      store = context.store();
    });
    const { freshUser } = context;

    test("entries are kept per mailbox and for the server, per user; NIL removes; depth reaches down", async () => {
      const { user, inbox } = await freshUser();
      const { user: other, inbox: otherInbox } = await freshUser();
      await store.metadata.setMetadata(
        user.id,
        inbox.id,
        [
          { entry: "/private/comment", value: value("mine") },
          { entry: "/private/comment/a", value: value("child") },
          { entry: "/private/comment/a/b", value: value("grandchild") },
          { entry: "/private/commentary", value: value("not a child") },
          { entry: "/private/x_y%", value: value("like characters") },
        ],
        100,
      );
      await store.metadata.setMetadata(
        user.id,
        null,
        [{ entry: "/private/comment", value: value("server") }],
        100,
      );
      await store.metadata.setMetadata(
        other.id,
        otherInbox.id,
        [{ entry: "/private/comment", value: value("theirs") }],
        100,
      );
      const get = (depth: 0 | 1 | "infinity", entries = ["/private/comment"]) =>
        store.metadata.getMetadata(user.id, inbox.id, entries, depth).then(named);
      assert.deepEqual(await get(0), ["/private/comment=mine"]);
      assert.deepEqual(await get(1), ["/private/comment=mine", "/private/comment/a=child"]);
      assert.deepEqual(await get("infinity"), [
        "/private/comment=mine",
        "/private/comment/a=child",
        "/private/comment/a/b=grandchild",
      ]);
      // LIKE's own characters in a name match only themselves.
      assert.deepEqual(await get("infinity", ["/private/x_y%", "/private/xzy"]), [
        "/private/x_y%=like characters",
      ]);
      assert.deepEqual(named(await store.metadata.getMetadata(user.id, null, ["/private/comment"], 0)), [
        "/private/comment=server",
      ]);
      assert.deepEqual(
        named(await store.metadata.getMetadata(other.id, otherInbox.id, ["/private/comment"], 1)),
        ["/private/comment=theirs"],
      );
      assert.deepEqual(await store.metadata.getMetadata(user.id, inbox.id, [], "infinity"), []);

      await store.metadata.setMetadata(
        user.id,
        inbox.id,
        [
          { entry: "/private/comment", value: null },
          { entry: "/private/comment/a", value: value("changed") },
        ],
        100,
      );
      assert.deepEqual(await get(1), ["/private/comment/a=changed"]);
    });

    test("binary values come back byte for byte", async () => {
      const { user, inbox } = await freshUser();
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      await store.metadata.setMetadata(user.id, inbox.id, [{ entry: "/shared/blob", value: bytes }], 10);
      const [found] = await store.metadata.getMetadata(user.id, inbox.id, ["/shared/blob"], 0);
      assert.deepEqual(found?.value, bytes);
    });

    test("over the limit nothing is set; another user's mailbox is refused; a deleted mailbox's entries go", async () => {
      const { user, inbox } = await freshUser();
      const { inbox: otherInbox } = await freshUser();
      await store.metadata.setMetadata(user.id, null, [{ entry: "/private/one", value: value("1") }], 2);
      await rejectsWith(
        store.metadata.setMetadata(
          user.id,
          inbox.id,
          [
            { entry: "/private/two", value: value("2") },
            { entry: "/private/three", value: value("3") },
          ],
          2,
        ),
        "full",
      );
      assert.deepEqual(await store.metadata.getMetadata(user.id, inbox.id, ["/private"], "infinity"), []);
      await rejectsWith(
        store.metadata.setMetadata(user.id, otherInbox.id, [{ entry: "/private/x", value: value("x") }], 10),
        "not-found",
      );
      const box = await store.mailboxes.createMailbox(user.id, "Projects");
      await store.metadata.setMetadata(
        user.id,
        box.id,
        [{ entry: "/private/comment", value: value("p") }],
        10,
      );
      await store.mailboxes.renameMailbox(user.id, "Projects", "Work");
      const renamed = await store.mailboxes.getMailbox(user.id, "Work");
      assert.equal(renamed?.id, box.id);
      assert.equal((await store.metadata.getMetadata(user.id, box.id, ["/private/comment"], 0)).length, 1);
      await store.mailboxes.deleteMailbox(user.id, "Work");
      assert.deepEqual(await store.metadata.getMetadata(user.id, box.id, ["/private/comment"], 0), []);
      // The deleted mailbox's entry no longer counts: one server entry and one more fit under 2.
      await store.metadata.setMetadata(user.id, inbox.id, [{ entry: "/private/two", value: value("2") }], 2);
    });
  });
}
