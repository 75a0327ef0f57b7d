// What both backends' schema migrations to account-wide MODSEQs and email ids must leave, checked through
// the Store only. The caller builds, at the schema before, one user whose INBOX has HIGHESTMODSEQ 5 with
// UIDs 1 (MODSEQ 3) and 3 (MODSEQ 5) and UID 2 expunged at MODSEQ 4, and whose Junk has HIGHESTMODSEQ 2
// with UID 1 (MODSEQ 2).

import assert from "node:assert/strict";
import type { Store } from "../../src/store/types.js";
import { StoreError } from "../../src/store/types.js";

export async function checkUpgradedAccount(store: Store, address: string): Promise<void> {
  const user = (await store.directory.getUser(address))!;
  const inbox = (await store.mailboxes.getMailbox(user.id, "INBOX"))!;
  const junk = (await store.mailboxes.getMailbox(user.id, "Junk"))!;
  assert.equal(await store.emails.accountState(user.id), 5, "the account starts at its highest MODSEQ");
  const emails = await store.emails.listEmails(user.id);
  assert.equal(emails.length, 3);
  assert.deepEqual(new Set(emails.map((email) => email.emailId)).size, 3);
  for (const email of emails) assert.equal(email.threadId, email.emailId, "old messages: a thread each");
  assert.deepEqual(await store.messages.expungedSince(inbox.id, 3), [2], "QRESYNC history is kept");

  const none = await store.emails.emailChanges(user.id, 5);
  assert.deepEqual([none.created, none.updated, none.destroyed, none.newState], [[], [], [], 5]);
  await assert.rejects(
    store.emails.emailChanges(user.id, 4),
    (error: unknown) => error instanceof StoreError && error.code === "cannot-calculate",
    "expunges before the upgrade kept no email ids",
  );

  const writer = await store.blobs.createBlobWriter();
  await writer.write(Buffer.from("Subject: new\r\nMessage-ID: <new@x>\r\n\r\nbody\r\n"));
  const blob = await writer.finish();
  const delivered = await store.messages.deliver({
    blob,
    sender: "",
    internalDate: new Date(),
    mailboxes: [{ mailboxId: inbox.id }],
    queue: [],
  });
  assert.deepEqual(delivered.uids, [{ mailboxId: inbox.id, uid: 4 }]);
  const fresh = (await store.messages.getMessage(inbox.id, 4))!;
  assert.equal(fresh.modseq, 6);
  assert.ok(
    emails.every((email) => email.emailId < fresh.emailId),
    "new ids above the old ones",
  );
  const old = (await store.messages.getMessage(junk.id, 1))!;
  await store.messages.expunge(junk.id, [1]);
  const changes = await store.emails.emailChanges(user.id, 5);
  assert.deepEqual(
    [changes.created, changes.updated, changes.destroyed],
    [[fresh.emailId], [], [old.emailId]],
  );
  const boxes = await store.emails.mailboxChanges(user.id, 5);
  assert.deepEqual(
    [boxes.created, [...boxes.updated].sort(), boxes.destroyed],
    [[], [inbox.id, junk.id].sort(), []],
  );
}
