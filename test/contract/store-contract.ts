// The store contract: what every Store backend must do, written against the Store interface only.
// A backend's test file calls runStoreContract with a function that opens a fresh, empty store.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import {
  type BlobRef,
  DEFAULT_MAILBOXES,
  type Mailbox,
  type MailboxEvent,
  type Store,
  StoreError,
  type User,
} from "../../src/store/types.js";
import { describeHeaderBlocks } from "./header-blocks.js";
import { describeImport } from "./import.js";
import { describeListMessages } from "./list-messages.js";
import { describeQueueLeases } from "./queue-leases.js";
import { describeSaveHeaderBlocks } from "./save-header-blocks.js";
import { describeSubscriptions } from "./subscriptions.js";

type OpenStore = () => Promise<{ store: Store; cleanup(): Promise<void> }>;

const CREDENTIALS = { passwordHash: "scrypt$test$hash", scramSha256: "scram$test$verifier" };

async function rejectsWith(promise: Promise<unknown>, code: StoreError["code"]): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof StoreError, `expected a StoreError, got ${String(error)}`);
    assert.equal(error.code, code, `expected code ${code}, got ${error.code}: ${error.message}`);
    assert.ok(error.message.length > 0);
    return true;
  });
}

async function writeBlob(store: Store, bytes: Uint8Array | string, chunkSize = 64 * 1024): Promise<BlobRef> {
  const data = typeof bytes === "string" ? Buffer.from(bytes) : Buffer.from(bytes);
  const writer = await store.createBlobWriter();
  for (let offset = 0; offset < data.length; offset += chunkSize) {
    await writer.write(data.subarray(offset, offset + chunkSize));
  }
  const ref = await writer.finish();
  assert.equal(ref.id, writer.id);
  assert.equal(ref.size, data.length);
  return ref;
}

function message(subject: string): string {
  return `From: a@example.net\r\nSubject: ${subject}\r\n\r\nHello ${subject}\r\n`;
}

async function streamToBuffer(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

export function runStoreContract(name: string, open: OpenStore): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let counter = 0;

    before(async () => {
      ({ store, cleanup } = await open());
    });
    after(async () => {
      await store.close();
      await cleanup();
    });

    /** A fresh domain and user per test, so tests share one store without seeing each other. */
    async function freshUser(): Promise<{ domain: string; user: User; inbox: Mailbox }> {
      counter += 1;
      const domain = `d${counter}-${randomBytes(3).toString("hex")}.example`;
      await store.addDomain(domain);
      const user = await store.addUser(`user@${domain}`, CREDENTIALS);
      const inbox = await store.getMailbox(user.id, "INBOX");
      assert.ok(inbox);
      return { domain, user, inbox };
    }

    async function deliverTo(mailboxId: number, subject: string, flags?: string[]) {
      const blob = await writeBlob(store, message(subject));
      const result = await store.deliver({
        blob,
        sender: "a@example.net",
        internalDate: new Date(),
        mailboxes: [flags ? { mailboxId, flags } : { mailboxId }],
        queue: [],
      });
      return { blob, uid: result.uids[0]!.uid };
    }

    function collectEvents(): { events: MailboxEvent[]; stop: () => void } {
      const events: MailboxEvent[] = [];
      const stop = store.events.subscribe((event) => events.push(event));
      return { events, stop };
    }

    describeHeaderBlocks({ store: () => store, freshUser });
    describeImport({ store: () => store, freshUser });
    describeListMessages({ store: () => store, freshUser });
    describeQueueLeases({ store: () => store });
    describeSaveHeaderBlocks({ store: () => store, freshUser });
    describeSubscriptions({ store: () => store, freshUser });

    describe("domains", () => {
      test("add, get (case-insensitive), list, remove", async () => {
        const domain = await store.addDomain("Contract-Domains.EXAMPLE");
        assert.equal(domain.name, "contract-domains.example");
        assert.ok(domain.createdAt instanceof Date);
        const found = await store.getDomain("CONTRACT-domains.example");
        assert.equal(found?.id, domain.id);
        assert.ok((await store.listDomains()).some((d) => d.name === "contract-domains.example"));
        await store.removeDomain("contract-domains.example");
        assert.equal(await store.getDomain("contract-domains.example"), null);
      });

      test("error codes: exists, not-found, invalid, not-empty", async () => {
        await store.addDomain("dup.example");
        await rejectsWith(store.addDomain("DUP.example"), "exists");
        await rejectsWith(store.removeDomain("never-added.example"), "not-found");
        await rejectsWith(store.addDomain("not a domain"), "invalid");
        await rejectsWith(store.addDomain(""), "invalid");
        const { domain } = await freshUser();
        await rejectsWith(store.removeDomain(domain), "not-empty");
        await store.addDomain("aliased.example");
        await store.addAlias("x@aliased.example", "y@elsewhere.example");
        await rejectsWith(store.removeDomain("aliased.example"), "not-empty");
      });
    });

    describe("DKIM keys", () => {
      const pem = (tag: string) => `-----BEGIN PRIVATE KEY-----\n${tag}\n-----END PRIVATE KEY-----\n`;

      test("set, get (domain case-insensitive), replace on rotation", async () => {
        const { domain } = await freshUser();
        assert.equal(await store.getDkimKey(domain), null);
        const before = Date.now();
        await store.setDkimKey(domain.toUpperCase(), {
          selector: "MR202406",
          privateKeyPem: pem("first"),
          algorithm: "rsa-sha256",
        });
        const first = await store.getDkimKey(domain.toUpperCase());
        assert.ok(first);
        assert.equal(first.selector, "mr202406");
        assert.equal(first.privateKeyPem, pem("first"));
        assert.equal(first.algorithm, "rsa-sha256");
        assert.ok(first.createdAt instanceof Date);
        assert.ok(first.createdAt.getTime() >= before - 5_000);
        await store.setDkimKey(domain, {
          selector: "mr202407",
          privateKeyPem: pem("second"),
          algorithm: "ed25519-sha256",
        });
        const second = await store.getDkimKey(domain);
        assert.deepEqual(
          [second?.selector, second?.privateKeyPem, second?.algorithm],
          ["mr202407", pem("second"), "ed25519-sha256"],
        );
      });

      test("keys are per domain and go with the domain", async () => {
        const a = `dkim-a-${randomBytes(3).toString("hex")}.example`;
        const b = `dkim-b-${randomBytes(3).toString("hex")}.example`;
        await store.addDomain(a);
        await store.addDomain(b);
        await store.setDkimKey(a, { selector: "sa", privateKeyPem: pem("a"), algorithm: "rsa-sha256" });
        assert.equal(await store.getDkimKey(b), null);
        await store.removeDomain(a);
        assert.equal(await store.getDkimKey(a), null);
        await store.addDomain(a);
        assert.equal(await store.getDkimKey(a), null, "a re-added domain starts without the old key");
      });

      test("error codes: not-found for an unserved domain, invalid input changes nothing", async () => {
        const { domain } = await freshUser();
        const good = { selector: "s1", privateKeyPem: pem("k"), algorithm: "rsa-sha256" } as const;
        await rejectsWith(store.setDkimKey("unserved-dkim.example", good), "not-found");
        await rejectsWith(store.setDkimKey("not a domain", good), "invalid");
        await store.setDkimKey(domain, good);
        await rejectsWith(store.setDkimKey(domain, { ...good, selector: "bad selector" }), "invalid");
        await rejectsWith(store.setDkimKey(domain, { ...good, selector: "" }), "invalid");
        await rejectsWith(store.setDkimKey(domain, { ...good, privateKeyPem: "not a key" }), "invalid");
        await rejectsWith(
          store.setDkimKey(domain, { ...good, algorithm: "rsa-sha1" as unknown as "rsa-sha256" }),
          "invalid",
        );
        assert.equal((await store.getDkimKey(domain))?.selector, "s1");
      });
    });

    describe("users", () => {
      test("addUser lower-cases, creates the default mailboxes, and can be found", async () => {
        await store.addDomain("users.example");
        const user = await store.addUser("Bob.Smith@Users.Example", CREDENTIALS);
        assert.equal(user.address, "bob.smith@users.example");
        assert.equal(user.passwordHash, CREDENTIALS.passwordHash);
        assert.equal(user.scramSha256, CREDENTIALS.scramSha256);
        assert.equal(user.domainId, (await store.getDomain("users.example"))!.id);
        assert.equal((await store.getUser("BOB.SMITH@users.example"))?.id, user.id);
        assert.equal((await store.getUserById(user.id))?.address, user.address);
        assert.equal(await store.getUserById(user.id + 100000), null);
        const mailboxes = await store.listMailboxes(user.id);
        assert.deepEqual(
          mailboxes.map((m) => [m.name, m.specialUse]).sort(),
          DEFAULT_MAILBOXES.map((m) => [m.name, m.specialUse]).sort(),
        );
        for (const mailbox of mailboxes) {
          assert.equal(mailbox.userId, user.id);
          assert.equal(mailbox.uidNext, 1);
          assert.equal(mailbox.highestModseq, 1);
          assert.ok(mailbox.uidValidity > 0);
        }
      });

      test("error codes: unknown domain, taken address, bad address, unknown user", async () => {
        await rejectsWith(store.addUser("a@no-such-domain.example", CREDENTIALS), "not-found");
        const { user } = await freshUser();
        await rejectsWith(store.addUser(user.address.toUpperCase(), CREDENTIALS), "exists");
        await rejectsWith(store.addUser("no-at-sign", CREDENTIALS), "invalid");
        await rejectsWith(store.addUser("@nolocal.example", CREDENTIALS), "invalid");
        await rejectsWith(store.removeUser("ghost@nowhere.example"), "not-found");
        await rejectsWith(store.setCredentials("ghost@nowhere.example", CREDENTIALS), "not-found");
        assert.equal(await store.getUser("ghost@nowhere.example"), null);
      });

      test("listUsers by domain, setCredentials", async () => {
        const { domain, user } = await freshUser();
        const second = await store.addUser(`second@${domain}`, CREDENTIALS);
        const listed = await store.listUsers(domain);
        assert.deepEqual(listed.map((u) => u.address).sort(), [second.address, user.address].sort());
        const all = await store.listUsers();
        assert.ok(all.some((u) => u.id === user.id) && all.some((u) => u.id === second.id));
        await store.setCredentials(user.address, { passwordHash: "new-hash", scramSha256: "new-scram" });
        const changed = await store.getUser(user.address);
        assert.equal(changed?.passwordHash, "new-hash");
        assert.equal(changed?.scramSha256, "new-scram");
      });

      test("removeUser removes the user, its mailboxes and its messages", async () => {
        const { user, inbox } = await freshUser();
        const { blob } = await deliverTo(inbox.id, "to be removed");
        await store.removeUser(user.address);
        assert.equal(await store.getUser(user.address), null);
        assert.equal(await store.getMailboxById(inbox.id), null);
        assert.deepEqual(await store.listMailboxes(user.id), []);
        assert.deepEqual(await store.listMessages(inbox.id), []);
        await rejectsWith(store.readBlobBytes(blob.id), "not-found");
      });

      test("removeUser keeps a body another user still holds", async () => {
        const a = await freshUser();
        const b = await freshUser();
        const blob = await writeBlob(store, message("shared"));
        await store.deliver({
          blob,
          sender: "",
          internalDate: new Date(),
          mailboxes: [{ mailboxId: a.inbox.id }, { mailboxId: b.inbox.id }],
          queue: [],
        });
        await store.removeUser(a.user.address);
        assert.equal((await store.readBlobBytes(blob.id)).toString(), message("shared"));
        assert.equal((await store.listMessages(b.inbox.id)).length, 1);
      });
    });

    describe("aliases", () => {
      test("many destinations per source, catch-all, lower-casing, listing by domain", async () => {
        await store.addDomain("alias.example");
        const first = await store.addAlias("Team@Alias.Example", "Ann@alias.example");
        assert.equal(first.source, "team@alias.example");
        assert.equal(first.destination, "ann@alias.example");
        await store.addAlias("team@alias.example", "bob@remote.example");
        await store.addAlias("@alias.example", "postmaster@alias.example");
        assert.deepEqual((await store.aliasDestinations("TEAM@alias.example")).sort(), [
          "ann@alias.example",
          "bob@remote.example",
        ]);
        assert.deepEqual(await store.aliasDestinations("@alias.example"), ["postmaster@alias.example"]);
        assert.deepEqual(await store.aliasDestinations("nobody@alias.example"), []);
        const listed = await store.listAliases("alias.example");
        assert.equal(listed.length, 3);
        assert.ok(listed.every((a) => a.source.endsWith("@alias.example")));
        assert.ok((await store.listAliases()).length >= 3);
      });

      test("error codes and removal", async () => {
        await store.addDomain("alias2.example");
        await store.addAlias("a@alias2.example", "x@alias2.example");
        await store.addAlias("a@alias2.example", "y@alias2.example");
        await rejectsWith(store.addAlias("A@alias2.example", "X@alias2.example"), "exists");
        await rejectsWith(store.addAlias("a@unknown-domain.example", "x@alias2.example"), "not-found");
        await rejectsWith(store.addAlias("a@alias2.example", "not an address"), "invalid");
        await store.removeAlias("a@alias2.example", "x@alias2.example");
        assert.deepEqual(await store.aliasDestinations("a@alias2.example"), ["y@alias2.example"]);
        await rejectsWith(store.removeAlias("a@alias2.example", "x@alias2.example"), "not-found");
        await store.addAlias("a@alias2.example", "z@alias2.example");
        await store.removeAlias("a@alias2.example");
        assert.deepEqual(await store.aliasDestinations("a@alias2.example"), []);
        await rejectsWith(store.removeAlias("a@alias2.example"), "not-found");
      });
    });

    describe("mailboxes", () => {
      test("create, get (INBOX case-insensitive), getById, duplicates", async () => {
        const { user, inbox } = await freshUser();
        assert.equal((await store.getMailbox(user.id, "iNbOx"))?.id, inbox.id);
        const work = await store.createMailbox(user.id, "Work/Projects");
        assert.equal(work.name, "Work/Projects");
        assert.equal(work.specialUse, null);
        assert.equal(work.uidNext, 1);
        assert.equal(work.highestModseq, 1);
        const flagged = await store.createMailbox(user.id, "Starred", "\\Flagged");
        assert.equal(flagged.specialUse, "\\Flagged");
        assert.equal((await store.getMailboxById(work.id))?.name, "Work/Projects");
        assert.equal(await store.getMailbox(user.id, "Nope"), null);
        await rejectsWith(store.createMailbox(user.id, "Work/Projects"), "exists");
        await rejectsWith(store.createMailbox(user.id, "inbox"), "exists");
        await rejectsWith(store.createMailbox(user.id, ""), "invalid");
        await rejectsWith(store.createMailbox(user.id, "a//b"), "invalid");
      });

      test("uidValidity differs when a name is deleted and created again", async () => {
        const { user } = await freshUser();
        const first = await store.createMailbox(user.id, "Again");
        await store.deleteMailbox(user.id, "Again");
        const second = await store.createMailbox(user.id, "Again");
        assert.notEqual(second.uidValidity, first.uidValidity);
      });

      test("rename moves the mailbox and its inferiors, keeping messages", async () => {
        const { user } = await freshUser();
        const parent = await store.createMailbox(user.id, "Old");
        await store.createMailbox(user.id, "Old/Child");
        const { uid } = await deliverTo(parent.id, "kept");
        await store.renameMailbox(user.id, "Old", "New");
        assert.equal(await store.getMailbox(user.id, "Old"), null);
        assert.equal(await store.getMailbox(user.id, "Old/Child"), null);
        const renamed = await store.getMailbox(user.id, "New");
        assert.equal(renamed?.id, parent.id);
        assert.equal(renamed?.uidValidity, parent.uidValidity);
        assert.ok(await store.getMailbox(user.id, "New/Child"));
        assert.ok(await store.getMessage(parent.id, uid));
        await rejectsWith(store.renameMailbox(user.id, "Missing", "Other"), "not-found");
        await rejectsWith(store.renameMailbox(user.id, "New", "Drafts"), "exists");
      });

      test("renaming INBOX moves its messages to a new mailbox and leaves INBOX empty", async () => {
        const { user, inbox } = await freshUser();
        await deliverTo(inbox.id, "one", ["\\Seen"]);
        await deliverTo(inbox.id, "two");
        await store.renameMailbox(user.id, "INBOX", "Old Mail");
        const stillInbox = await store.getMailbox(user.id, "INBOX");
        assert.equal(stillInbox?.id, inbox.id);
        assert.deepEqual(await store.listMessages(inbox.id), []);
        const moved = await store.getMailbox(user.id, "Old Mail");
        assert.ok(moved);
        assert.notEqual(moved.id, inbox.id);
        const messages = await store.listMessages(moved.id);
        assert.equal(messages.length, 2);
        assert.deepEqual(messages[0]!.flags, ["\\Seen"]);
        const body = await store.readBlobBytes(messages[1]!.messageId);
        assert.equal(body.toString(), message("two"));
        // New messages still arrive in INBOX, with UIDs above the ones it had.
        const { uid } = await deliverTo(inbox.id, "three");
        assert.equal(uid, 3);
      });

      test("delete: not INBOX, not-found, removes messages", async () => {
        const { user } = await freshUser();
        await rejectsWith(store.deleteMailbox(user.id, "INBOX"), "invalid");
        await rejectsWith(store.deleteMailbox(user.id, "Nope"), "not-found");
        const box = await store.createMailbox(user.id, "Gone");
        const { blob } = await deliverTo(box.id, "gone");
        await store.deleteMailbox(user.id, "Gone");
        assert.equal(await store.getMailboxById(box.id), null);
        await rejectsWith(store.readBlobBytes(blob.id), "not-found");
      });

      test("subscribe and unsubscribe", async () => {
        const { user } = await freshUser();
        await store.createMailbox(user.id, "Lists");
        await store.setSubscribed(user.id, "Lists", false);
        assert.equal((await store.getMailbox(user.id, "Lists"))?.subscribed, false);
        await store.setSubscribed(user.id, "Lists", true);
        assert.equal((await store.getMailbox(user.id, "Lists"))?.subscribed, true);
        await rejectsWith(store.setSubscribed(user.id + 1_000_000, "Lists", true), "not-found");
      });

      test("status counts messages, unseen and size", async () => {
        const { inbox } = await freshUser();
        await deliverTo(inbox.id, "a", ["\\Seen"]);
        await deliverTo(inbox.id, "bb");
        await deliverTo(inbox.id, "ccc", ["\\Flagged"]);
        const status = await store.mailboxStatus(inbox.id);
        assert.equal(status.messages, 3);
        assert.equal(status.unseen, 2);
        assert.equal(status.size, message("a").length + message("bb").length + message("ccc").length);
        assert.equal(status.uidNext, 4);
        assert.equal(status.uidValidity, inbox.uidValidity);
        assert.equal(status.highestModseq, (await store.getMailboxById(inbox.id))!.highestModseq);
        await rejectsWith(store.mailboxStatus(inbox.id + 1000000), "not-found");
      });
    });

    describe("blobs", () => {
      test("byte-exact round trip: empty, binary, 2 MB", async () => {
        const cases = [
          Buffer.alloc(0),
          Buffer.from([0, 255, 13, 10, 0, 46, 13, 10]),
          randomBytes(2 * 1024 * 1024),
        ];
        for (const bytes of cases) {
          const ref = await writeBlob(store, bytes, 100_000);
          assert.ok(ref.id.length > 0);
          assert.deepEqual(await store.readBlobBytes(ref.id), bytes);
          assert.deepEqual(await streamToBuffer(store.readBlob(ref.id)), bytes);
        }
      });

      test("abort discards; unknown ids are not-found", async () => {
        const writer = await store.createBlobWriter();
        await writer.write(Buffer.from("partial"));
        await writer.abort();
        await writer.abort();
        await rejectsWith(store.readBlobBytes(writer.id), "not-found");
        await rejectsWith(streamToBuffer(store.readBlob(writer.id)), "not-found");
        await rejectsWith(store.readBlobBytes("does-not-exist"), "not-found");
      });

      test("writer ids are distinct", async () => {
        const writers = await Promise.all(Array.from({ length: 20 }, () => store.createBlobWriter()));
        assert.equal(new Set(writers.map((w) => w.id)).size, 20);
        await Promise.all(writers.map((w) => w.abort()));
      });

      test("a body that was never finished cannot be delivered", async () => {
        const { inbox } = await freshUser();
        const writer = await store.createBlobWriter();
        await writer.write(Buffer.from("unfinished"));
        await assert.rejects(
          store.deliver({
            blob: { id: writer.id, size: 10 },
            sender: "",
            internalDate: new Date(),
            mailboxes: [{ mailboxId: inbox.id }],
            queue: [],
          }),
          StoreError,
        );
        await writer.abort();
        assert.deepEqual(await store.listMessages(inbox.id), []);
      });
    });

    describe("deliver and append", () => {
      test("one body shared by several mailboxes, plus queue entries", async () => {
        const a = await freshUser();
        const b = await freshUser();
        const blob = await writeBlob(store, message("shared"));
        const date = new Date("2024-05-06T07:08:09.000Z");
        const result = await store.deliver({
          blob,
          sender: "Sender@Example.NET",
          internalDate: date,
          mailboxes: [{ mailboxId: a.inbox.id, flags: ["\\Seen", "$Label1"] }, { mailboxId: b.inbox.id }],
          queue: [
            {
              recipient: "r1@remote.example",
              dsn: { notify: ["SUCCESS", "FAILURE"], orcpt: "rfc822;r1@remote.example" },
            },
            { recipient: "r2@remote.example" },
          ],
          envelopeDsn: { ret: "HDRS", envid: "ENV123" },
        });
        assert.equal(result.messageId, blob.id);
        assert.deepEqual(result.uids, [
          { mailboxId: a.inbox.id, uid: 1 },
          { mailboxId: b.inbox.id, uid: 1 },
        ]);
        assert.equal(result.queueIds.length, 2);
        assert.equal(new Set(result.queueIds).size, 2);

        const inA = await store.getMessage(a.inbox.id, 1);
        assert.ok(inA);
        assert.equal(inA.messageId, blob.id);
        assert.equal(inA.size, blob.size);
        assert.equal(inA.internalDate.getTime(), date.getTime());
        assert.deepEqual([...inA.flags].sort(), ["$Label1", "\\Seen"]);
        assert.deepEqual((await store.getMessage(b.inbox.id, 1))?.flags, []);
        assert.equal(await store.getMessage(a.inbox.id, 2), null);

        const q1 = await store.getQueueEntry(result.queueIds[0]!);
        assert.ok(q1);
        assert.equal(q1.messageId, blob.id);
        assert.equal(q1.recipient, "r1@remote.example");
        assert.deepEqual(q1.dsn, { notify: ["SUCCESS", "FAILURE"], orcpt: "rfc822;r1@remote.example" });
        assert.deepEqual(q1.envelopeDsn, { ret: "HDRS", envid: "ENV123" });
        assert.equal(q1.state, "queued");
        assert.equal(q1.attempts, 0);
        assert.equal(q1.lastError, null);
        assert.equal(q1.claimedUntil, null);
        assert.equal(q1.delayNotified, false);
        assert.ok(q1.nextAttemptAt.getTime() <= Date.now());
        const q2 = await store.getQueueEntry(result.queueIds[1]!);
        assert.deepEqual(q2?.dsn, {});

        // The body stays while anything references it, and goes with the last reference.
        await store.expunge(a.inbox.id, [1]);
        await store.expunge(b.inbox.id, [1]);
        assert.equal((await store.readBlobBytes(blob.id)).toString(), message("shared"));
        await store.completeQueueEntry(result.queueIds[0]!);
        assert.equal((await store.readBlobBytes(blob.id)).toString(), message("shared"));
        await store.completeQueueEntry(result.queueIds[1]!);
        await rejectsWith(store.readBlobBytes(blob.id), "not-found");
      });

      test("null sender, queue-only delivery", async () => {
        const blob = await writeBlob(store, message("bounce"));
        const result = await store.deliver({
          blob,
          sender: "",
          internalDate: new Date(),
          mailboxes: [],
          queue: [{ recipient: "someone@remote.example" }],
        });
        assert.deepEqual(result.uids, []);
        const entry = await store.getQueueEntry(result.queueIds[0]!);
        assert.equal(entry?.sender, "");
        await store.completeQueueEntry(result.queueIds[0]!);
      });

      test("an unknown mailbox fails that delivery only, with nothing committed", async () => {
        const { inbox } = await freshUser();
        const good = writeBlob(store, message("good"));
        const bad = writeBlob(store, message("bad"));
        const [goodBlob, badBlob] = await Promise.all([good, bad]);
        const queueBefore = (await store.listQueue()).length;
        const results = await Promise.allSettled([
          store.deliver({
            blob: goodBlob,
            sender: "",
            internalDate: new Date(),
            mailboxes: [{ mailboxId: inbox.id }],
            queue: [],
          }),
          store.deliver({
            blob: badBlob,
            sender: "",
            internalDate: new Date(),
            mailboxes: [{ mailboxId: inbox.id }, { mailboxId: inbox.id + 1000000 }],
            queue: [{ recipient: "x@remote.example" }],
          }),
        ]);
        assert.equal(results[0]!.status, "fulfilled");
        assert.equal(results[1]!.status, "rejected");
        const reason = (results[1] as PromiseRejectedResult).reason;
        assert.ok(reason instanceof StoreError);
        assert.equal(reason.code, "not-found");
        const listed = await store.listMessages(inbox.id);
        assert.deepEqual(
          listed.map((m) => m.messageId),
          [goodBlob.id],
        );
        assert.equal((await store.listQueue()).length, queueBefore);
      });

      test("a delivery with no recipients is invalid", async () => {
        const blob = await writeBlob(store, message("nobody"));
        await rejectsWith(
          store.deliver({ blob, sender: "", internalDate: new Date(), mailboxes: [], queue: [] }),
          "invalid",
        );
      });

      test("append returns the stored message", async () => {
        const { user } = await freshUser();
        const sent = (await store.getMailbox(user.id, "Sent"))!;
        const blob = await writeBlob(store, message("appended"));
        const date = new Date("2023-01-02T03:04:05.000Z");
        const appended = await store.append(sent.id, blob, ["\\Seen", "\\Draft"], date);
        assert.equal(appended.mailboxId, sent.id);
        assert.equal(appended.uid, 1);
        assert.equal(appended.messageId, blob.id);
        assert.equal(appended.size, blob.size);
        assert.equal(appended.internalDate.getTime(), date.getTime());
        assert.deepEqual([...appended.flags].sort(), ["\\Draft", "\\Seen"]);
        assert.deepEqual(await store.getMessage(sent.id, 1), appended);
        const blob2 = await writeBlob(store, message("x"));
        await rejectsWith(store.append(sent.id + 1000000, blob2, [], new Date()), "not-found");
      });

      test("50 concurrent deliveries all succeed with distinct UIDs", async () => {
        const { inbox } = await freshUser();
        const blobs = await Promise.all(
          Array.from({ length: 50 }, (_, i) => writeBlob(store, message(`c${i}`))),
        );
        const results = await Promise.all(
          blobs.map((blob) =>
            store.deliver({
              blob,
              sender: "",
              internalDate: new Date(),
              mailboxes: [{ mailboxId: inbox.id }],
              queue: [],
            }),
          ),
        );
        const uids = results.map((r) => r.uids[0]!.uid);
        assert.equal(new Set(uids).size, 50);
        assert.deepEqual(
          [...uids].sort((a, b) => a - b),
          Array.from({ length: 50 }, (_, i) => i + 1),
        );
        const listed = await store.listMessages(inbox.id);
        assert.equal(listed.length, 50);
        for (const [index, result] of results.entries()) {
          const entry = listed.find((m) => m.uid === result.uids[0]!.uid);
          assert.equal(entry?.messageId, blobs[index]!.id);
        }
        assert.equal((await store.mailboxStatus(inbox.id)).uidNext, 51);
      });
    });

    describe("UIDs and MODSEQ", () => {
      test("UIDs increase and are never reused after expunge", async () => {
        const { inbox } = await freshUser();
        const first = await deliverTo(inbox.id, "1");
        const second = await deliverTo(inbox.id, "2");
        assert.ok(second.uid > first.uid);
        assert.deepEqual(await store.expunge(inbox.id, [second.uid]), [second.uid]);
        const third = await deliverTo(inbox.id, "3");
        assert.ok(third.uid > second.uid);
        assert.deepEqual(
          (await store.listMessages(inbox.id)).map((m) => m.uid),
          [first.uid, third.uid],
        );
      });

      test("every append, flag change and expunge raises the mailbox's highestModseq", async () => {
        const { inbox } = await freshUser();
        const modseq = async () => (await store.mailboxStatus(inbox.id)).highestModseq;
        const m0 = await modseq();
        assert.equal(m0, 1);
        const { uid } = await deliverTo(inbox.id, "m");
        const m1 = await modseq();
        assert.ok(m1 > m0);
        assert.equal((await store.getMessage(inbox.id, uid))?.modseq, m1);
        await store.updateFlags(inbox.id, [uid], "add", ["\\Seen"]);
        const m2 = await modseq();
        assert.ok(m2 > m1);
        assert.equal((await store.getMessage(inbox.id, uid))?.modseq, m2);
        // A no-op change changes nothing.
        const noop = await store.updateFlags(inbox.id, [uid], "add", ["\\seen"]);
        assert.deepEqual(noop.updated, []);
        assert.equal(await modseq(), m2);
        await store.expunge(inbox.id, [uid]);
        assert.ok((await modseq()) > m2);
        // Expunging nothing changes nothing.
        const m3 = await modseq();
        assert.deepEqual(await store.expunge(inbox.id, [uid, 999]), []);
        assert.equal(await modseq(), m3);
      });

      test("updateFlags add, remove, set; unknown UIDs ignored", async () => {
        const { inbox } = await freshUser();
        const { uid } = await deliverTo(inbox.id, "flags", ["\\Seen"]);
        const added = await store.updateFlags(inbox.id, [uid, 4242], "add", ["\\Flagged", "$Work"]);
        assert.equal(added.updated.length, 1);
        assert.deepEqual([...added.updated[0]!.flags].sort(), ["$Work", "\\Flagged", "\\Seen"]);
        assert.deepEqual(added.modified, []);
        const removed = await store.updateFlags(inbox.id, [uid], "remove", ["\\seen", "$work"]);
        assert.deepEqual(removed.updated[0]!.flags, ["\\Flagged"]);
        const set = await store.updateFlags(inbox.id, [uid], "set", ["\\Answered"]);
        assert.deepEqual(set.updated[0]!.flags, ["\\Answered"]);
        assert.deepEqual((await store.getMessage(inbox.id, uid))?.flags, ["\\Answered"]);
        assert.equal(set.updated[0]!.modseq, (await store.mailboxStatus(inbox.id)).highestModseq);
        assert.equal((await store.mailboxStatus(inbox.id)).unseen, 1);
      });

      test("UNCHANGEDSINCE leaves newer messages alone and reports them", async () => {
        const { inbox } = await freshUser();
        const a = await deliverTo(inbox.id, "a");
        const b = await deliverTo(inbox.id, "b");
        const before = (await store.getMessage(inbox.id, a.uid))!.modseq;
        await store.updateFlags(inbox.id, [b.uid], "add", ["\\Seen"]);
        const result = await store.updateFlags(inbox.id, [a.uid, b.uid], "add", ["\\Flagged"], {
          unchangedSince: (await store.getMessage(inbox.id, a.uid))!.modseq,
        });
        assert.deepEqual(
          result.updated.map((m) => m.uid),
          [a.uid],
        );
        assert.deepEqual(result.modified, [b.uid]);
        assert.deepEqual((await store.getMessage(inbox.id, b.uid))?.flags, ["\\Seen"]);
        assert.ok((await store.getMessage(inbox.id, a.uid))!.modseq > before);
      });

      test("listMessages sinceModseq and expungedSince", async () => {
        const { inbox } = await freshUser();
        const a = await deliverTo(inbox.id, "a");
        const b = await deliverTo(inbox.id, "b");
        const c = await deliverTo(inbox.id, "c");
        const mark = (await store.mailboxStatus(inbox.id)).highestModseq;
        assert.deepEqual(await store.listMessages(inbox.id, { sinceModseq: mark }), []);
        await store.updateFlags(inbox.id, [b.uid], "add", ["\\Seen"]);
        await store.expunge(inbox.id, [c.uid]);
        assert.deepEqual(
          (await store.listMessages(inbox.id, { sinceModseq: mark })).map((m) => m.uid),
          [b.uid],
        );
        assert.deepEqual(await store.expungedSince(inbox.id, mark), [c.uid]);
        assert.deepEqual(
          await store.expungedSince(inbox.id, (await store.mailboxStatus(inbox.id)).highestModseq),
          [],
        );
        assert.deepEqual(
          (await store.listMessages(inbox.id, { sinceModseq: 0 })).map((m) => m.uid),
          [a.uid, b.uid],
        );
      });
    });

    describe("copy and move", () => {
      test("copy maps source UIDs to new destination UIDs and keeps flags", async () => {
        const { user, inbox } = await freshUser();
        const archive = (await store.getMailbox(user.id, "Archive"))!;
        await deliverTo(archive.id, "pre-existing");
        const a = await deliverTo(inbox.id, "a", ["\\Seen"]);
        const b = await deliverTo(inbox.id, "b");
        const result = await store.copyMessages(inbox.id, [b.uid, a.uid, 999], archive.id);
        assert.equal(result.uidValidity, archive.uidValidity);
        assert.deepEqual(result.mapping, [
          [a.uid, 2],
          [b.uid, 3],
        ]);
        const copied = await store.getMessage(archive.id, 2);
        assert.deepEqual(copied?.flags, ["\\Seen"]);
        assert.equal(copied?.messageId, a.blob.id);
        assert.equal((await store.listMessages(inbox.id)).length, 2);
        const empty = await store.copyMessages(inbox.id, [999], archive.id);
        assert.deepEqual(empty.mapping, []);
        await rejectsWith(store.copyMessages(inbox.id, [a.uid], archive.id + 1000000), "not-found");
      });

      test("move copies and expunges in one step", async () => {
        const { user, inbox } = await freshUser();
        const trash = (await store.getMailbox(user.id, "Trash"))!;
        const a = await deliverTo(inbox.id, "a");
        const b = await deliverTo(inbox.id, "b");
        const mark = (await store.mailboxStatus(inbox.id)).highestModseq;
        const result = await store.moveMessages(inbox.id, [a.uid], trash.id);
        assert.deepEqual(result.mapping, [[a.uid, 1]]);
        assert.equal(result.uidValidity, trash.uidValidity);
        assert.deepEqual(
          (await store.listMessages(inbox.id)).map((m) => m.uid),
          [b.uid],
        );
        assert.deepEqual(await store.expungedSince(inbox.id, mark), [a.uid]);
        assert.equal(
          (await store.readBlobBytes((await store.getMessage(trash.id, 1))!.messageId)).toString(),
          message("a"),
        );
      });
    });

    describe("events", () => {
      test("exists, flags, expunge and mailboxes are published after the change", async () => {
        const { user, inbox } = await freshUser();
        const { events, stop } = collectEvents();
        const { uid } = await deliverTo(inbox.id, "evented");
        await store.updateFlags(inbox.id, [uid], "add", ["\\Seen"]);
        await store.expunge(inbox.id, [uid]);
        await store.createMailbox(user.id, "Evented");
        const highest = (await store.getMailboxById(inbox.id))!.highestModseq;
        // Backends may deliver events asynchronously (PostgreSQL NOTIFY): wait for them, bounded.
        const mineOf = () => events.filter((e) => e.userId === user.id);
        for (let waited = 0; mineOf().length < 4 && waited < 5000; waited += 10) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        stop();
        await deliverTo(inbox.id, "after unsubscribe");
        const mine = mineOf();
        assert.deepEqual(
          mine.map((e) => e.kind),
          ["exists", "flags", "expunge", "mailboxes"],
        );
        const exists = mine[0]!;
        assert.ok(exists.kind === "exists");
        assert.equal(exists.mailboxId, inbox.id);
        assert.deepEqual(exists.uids, [uid]);
        const flags = mine[1]!;
        assert.ok(flags.kind === "flags");
        assert.equal(flags.modseq, highest - 1);
        const expunge = mine[2]!;
        assert.ok(expunge.kind === "expunge");
        assert.deepEqual(expunge.uids, [uid]);
        assert.equal(expunge.modseq, highest);
      });
    });

    describe("maildrop lock", () => {
      test("only one holder at a time; release is idempotent", async () => {
        const { user } = await freshUser();
        const first = await store.lockMaildrop(user.id);
        assert.ok(first);
        assert.equal(await store.lockMaildrop(user.id), null);
        await first.release();
        await first.release();
        const second = await store.lockMaildrop(user.id);
        assert.ok(second);
        // A stale release must not free somebody else's lock.
        await first.release();
        assert.equal(await store.lockMaildrop(user.id), null);
        await second.release();
      });
    });

    describe("queue", () => {
      async function queueOne(recipient: string): Promise<string> {
        const blob = await writeBlob(store, message(recipient));
        const result = await store.deliver({
          blob,
          sender: "s@example.net",
          internalDate: new Date(),
          mailboxes: [],
          queue: [{ recipient }],
        });
        return result.queueIds[0]!;
      }

      // Claims are global: each queue test moves time far ahead and settles every entry it claimed.
      /** Empties the queue, including entries other suites left leased or due far in the future. */
      async function drain(now: Date): Promise<void> {
        for (const entry of await store.claimQueueEntries(now, 1000, 60_000))
          await store.completeQueueEntry(entry.id);
        for (const entry of await store.listQueue()) await store.completeQueueEntry(entry.id);
      }

      test("claim, lease expiry, defer, retry, complete", async () => {
        await drain(new Date(Date.now() + 10 * 86_400_000));
        const id = await queueOne("claim@remote.example");
        const now = new Date(Date.now() + 1000);
        const claimed = await store.claimQueueEntries(now, 10, 60_000);
        assert.deepEqual(
          claimed.map((e) => e.id),
          [id],
        );
        assert.equal(claimed[0]!.state, "delivering");
        assert.equal(claimed[0]!.attempts, 1);
        assert.equal(claimed[0]!.claimedUntil?.getTime(), now.getTime() + 60_000);
        assert.deepEqual(await store.claimQueueEntries(new Date(now.getTime() + 59_000), 10, 60_000), []);
        // Past the lease the claimer is presumed dead and the entry is due again.
        const reclaimed = await store.claimQueueEntries(new Date(now.getTime() + 61_000), 10, 60_000);
        assert.deepEqual(
          reclaimed.map((e) => [e.id, e.attempts]),
          [[id, 2]],
        );

        const later = new Date(now.getTime() + 3_600_000);
        await store.deferQueueEntry(id, later, "451 4.3.0 try again", true);
        const deferred = await store.getQueueEntry(id);
        assert.equal(deferred?.state, "queued");
        assert.equal(deferred?.nextAttemptAt.getTime(), later.getTime());
        assert.equal(deferred?.lastError, "451 4.3.0 try again");
        assert.equal(deferred?.claimedUntil, null);
        assert.equal(deferred?.delayNotified, true);
        assert.deepEqual(await store.claimQueueEntries(new Date(now.getTime() + 120_000), 10, 60_000), []);

        await store.deferQueueEntry(id, later, "second error");
        assert.equal((await store.getQueueEntry(id))?.delayNotified, true);

        assert.equal(await store.retryQueue(id), 1);
        const due = await store.getQueueEntry(id);
        assert.ok(due!.nextAttemptAt.getTime() <= Date.now());
        assert.equal(await store.retryQueue("no-such-entry"), 0);
        const again = await store.claimQueueEntries(new Date(Date.now() + 1000), 10, 60_000);
        assert.deepEqual(
          again.map((e) => e.id),
          [id],
        );
        await store.completeQueueEntry(id);
        assert.equal(await store.getQueueEntry(id), null);
        await rejectsWith(store.completeQueueEntry(id), "not-found");
        await rejectsWith(store.deferQueueEntry(id, later, "x"), "not-found");
      });

      test("claim respects the limit and takes each entry once", async () => {
        await drain(new Date(Date.now() + 10 * 86_400_000));
        const ids = await Promise.all([1, 2, 3].map((n) => queueOne(`limit${n}@remote.example`)));
        const now = new Date(Date.now() + 1000);
        const first = await store.claimQueueEntries(now, 2, 60_000);
        const second = await store.claimQueueEntries(now, 2, 60_000);
        assert.equal(first.length, 2);
        assert.equal(second.length, 1);
        assert.deepEqual([...first, ...second].map((e) => e.id).sort(), [...ids].sort());
        const listed = await store.listQueue();
        for (const id of ids) assert.equal(listed.find((e) => e.id === id)?.state, "delivering");
        for (const id of ids) await store.completeQueueEntry(id);
      });

      test("retryQueue without an id makes every queued entry due", async () => {
        await drain(new Date(Date.now() + 10 * 86_400_000));
        const ids = await Promise.all([1, 2].map((n) => queueOne(`retry${n}@remote.example`)));
        const now = new Date(Date.now() + 1000);
        await store.claimQueueEntries(now, 10, 60_000);
        const farAway = new Date(Date.now() + 86_400_000);
        for (const id of ids) await store.deferQueueEntry(id, farAway, "later");
        assert.equal(await store.retryQueue(), 2);
        const claimed = await store.claimQueueEntries(new Date(Date.now() + 1000), 10, 60_000);
        assert.deepEqual(claimed.map((e) => e.id).sort(), [...ids].sort());
        for (const id of ids) await store.completeQueueEntry(id);
      });
    });
  });
}
