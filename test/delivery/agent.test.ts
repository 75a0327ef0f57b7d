import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { createDeliveryAgent } from "../../src/delivery/agent.js";
import type { DeliveryAgent, RecipientContext } from "../../src/delivery/types.js";
import { type DeliveryInput, type Store, StoreError } from "../../src/store/types.js";
import { spyStore } from "../support/store-spy.js";
import { dummyCredentials, openTempStore } from "./helpers.js";

const logger = pino({ level: "silent" });
const anonymous: RecipientContext = { authenticated: null, remoteAddress: "192.0.2.1" };
const signedIn: RecipientContext = {
  authenticated: { userId: 1, address: "alice@example.org" },
  remoteAddress: "192.0.2.1",
};

describe("DeliveryAgent on the SQLite store", () => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let agent: DeliveryAgent;
  const deliverCalls: DeliveryInput[] = [];

  before(async () => {
    ({ store, cleanup } = await openTempStore());
    // Watch deliver() to check the commit is a single call.
    const watched = spyStore(store, {
      messages: (messages) => ({
        deliver: (input) => {
          deliverCalls.push(input);
          return messages.deliver(input);
        },
      }),
    });
    agent = createDeliveryAgent({ store: watched, logger });
    await store.directory.addDomain("example.org");
    await store.directory.addUser("alice@example.org", dummyCredentials);
    await store.directory.addUser("bob@example.org", dummyCredentials);
    await store.directory.addAlias("team@example.org", "alice@example.org");
    await store.directory.addAlias("team@example.org", "bob@example.org");
    await store.directory.addAlias("fwd@example.org", "friend@remote.test");
  });
  after(() => cleanup());

  test("a local user, an alias and a +tag are local", async () => {
    for (const address of [
      "alice@example.org",
      "TEAM@example.org",
      "bob+lists@example.org",
      "fwd@example.org",
    ]) {
      assert.deepEqual(await agent.checkRecipient(address, anonymous), { kind: "local" }, address);
    }
  });

  test("nobody on a local domain is 550 5.1.1", async () => {
    const verdict = await agent.checkRecipient("ghost@example.org", anonymous);
    assert.deepEqual(verdict, {
      kind: "reject",
      code: 550,
      enhanced: "5.1.1",
      text: "<ghost@example.org>: no such user here",
    });
  });

  test("another domain is 554 5.7.1 without authentication: never an open relay", async () => {
    const verdict = await agent.checkRecipient("someone@remote.test", anonymous);
    assert.deepEqual(verdict, {
      kind: "reject",
      code: 554,
      enhanced: "5.7.1",
      text: "<someone@remote.test>: relay access denied",
    });
  });

  test("another domain is remote for an authenticated user", async () => {
    assert.deepEqual(await agent.checkRecipient("someone@remote.test", signedIn), { kind: "remote" });
  });

  test("a failing store gives a temporary 451 4.3.0", async () => {
    const failing = spyStore(store, {
      directory: () => ({
        getDomain: () => Promise.reject(new StoreError("unavailable", "database is locked")),
      }),
    });
    const failingAgent = createDeliveryAgent({ store: failing, logger });
    const verdict = await failingAgent.checkRecipient("alice@example.org", anonymous);
    assert.equal(verdict.kind, "reject");
    assert.ok(verdict.kind === "reject" && verdict.code === 451 && verdict.enhanced === "4.3.0");
  });

  test("commit: one store call, each user once, remote recipients queued with DSN", async () => {
    const body = Buffer.from("Subject: hi\r\n\r\nhello\r\n");
    const writer = await agent.createBlobWriter();
    await writer.write(body);
    const blob = await writer.finish();
    deliverCalls.length = 0;
    const receivedAt = new Date("2025-07-01T10:00:00Z");
    const result = await agent.commit({
      blob,
      sender: "sender@remote.test",
      receivedAt,
      recipients: [
        { address: "alice@example.org" },
        { address: "team@example.org" },
        { address: "Bob+x@example.org" },
        { address: "fwd@example.org", dsn: { notify: ["FAILURE"] } },
        { address: "other@remote.test", dsn: { orcpt: "rfc822;other@remote.test" } },
        { address: "other@remote.test" },
      ],
      envelopeDsn: { ret: "HDRS", envid: "env-1" },
    });
    assert.equal(deliverCalls.length, 1);
    assert.equal(result.uids.length, 2);
    assert.equal(result.queueIds.length, 2);

    for (const address of ["alice@example.org", "bob@example.org"]) {
      const user = await store.directory.getUser(address);
      assert.ok(user);
      const inbox = await store.mailboxes.getMailbox(user.id, "INBOX");
      assert.ok(inbox);
      const messages = await store.messages.listMessages(inbox.id);
      assert.equal(messages.length, 1, `${address} gets exactly one copy`);
      assert.equal(messages[0]?.internalDate.getTime(), receivedAt.getTime());
      assert.deepEqual(await store.blobs.readBlobBytes(messages[0]?.messageId ?? ""), body);
    }

    const queue = await store.queue.list();
    const byRecipient = new Map(queue.map((entry) => [entry.recipient, entry]));
    assert.deepEqual([...byRecipient.keys()].sort(), ["friend@remote.test", "other@remote.test"]);
    const forwarded = byRecipient.get("friend@remote.test");
    assert.deepEqual(forwarded?.dsn.notify, ["FAILURE"]);
    assert.equal(forwarded?.dsn.orcpt, "rfc822;fwd@example.org");
    assert.equal(byRecipient.get("other@remote.test")?.dsn.orcpt, "rfc822;other@remote.test");
    assert.equal(forwarded?.sender, "sender@remote.test");
    assert.deepEqual(forwarded?.envelopeDsn, { ret: "HDRS", envid: "env-1" });
    for (const entry of queue) await store.queue.complete(entry.id);
  });

  test("commit refuses, committing nothing, when a recipient has vanished since RCPT", async () => {
    await store.directory.addUser("temp@example.org", dummyCredentials);
    const writer = await agent.createBlobWriter();
    await writer.write(Buffer.from("Subject: late\r\n\r\n"));
    const blob = await writer.finish();
    await store.directory.removeUser("temp@example.org");
    const alice = await store.directory.getUser("alice@example.org");
    assert.ok(alice);
    const inbox = await store.mailboxes.getMailbox(alice.id, "INBOX");
    assert.ok(inbox);
    const before = (await store.messages.listMessages(inbox.id)).length;
    await assert.rejects(
      agent.commit({
        blob,
        sender: "",
        receivedAt: new Date(),
        recipients: [{ address: "alice@example.org" }, { address: "temp@example.org" }],
      }),
      (err: unknown) =>
        err instanceof StoreError && err.code === "not-found" && /temp@example\.org/.test(err.message),
    );
    assert.equal((await store.messages.listMessages(inbox.id)).length, before);
    assert.deepEqual(await store.queue.list(), []);
  });

  test("NOTIFY=SUCCESS for a local recipient sends the sender a 'delivered' report (RFC 3461 §5.2.2)", async () => {
    const writer = await agent.createBlobWriter();
    await writer.write(Buffer.from("Subject: please confirm\r\n\r\nbody\r\n"));
    const blob = await writer.finish();
    const result = await agent.commit({
      blob,
      sender: "alice@example.org",
      recipients: [
        { address: "bob@example.org", dsn: { notify: ["SUCCESS"], orcpt: "rfc822;bob@example.org" } },
      ],
      envelopeDsn: { envid: "conf-1" },
      receivedAt: new Date(),
    });
    const alice = await store.directory.getUser("alice@example.org");
    const inbox = alice && (await store.mailboxes.getMailbox(alice.id, "INBOX"));
    assert.ok(inbox);
    const reports = [];
    for (const row of await store.messages.listMessages(inbox.id)) {
      const text = (await store.blobs.readBlobBytes(row.messageId)).toString("latin1");
      if (text.includes("multipart/report")) reports.push(text);
    }
    assert.equal(reports.length, 1);
    const [report] = reports;
    assert.match(report ?? "", /^Return-Path: <>\r\n/);
    assert.match(report ?? "", /Action: delivered/);
    assert.match(report ?? "", /Final-Recipient: rfc822; ?bob@example\.org/);
    assert.match(report ?? "", /Original-Envelope-Id: conf-1/);
    assert.ok(result.messageId);
  });
});

describe("DeliveryAgent: the commit's trace", () => {
  test("session, refusals, routes (alias, catch-all, +tag), Sieve, mailboxes and queueing, in one commit", async () => {
    const { store, cleanup } = await openTempStore();
    try {
      await store.directory.addDomain("example.org");
      const alice = await store.directory.addUser("alice@example.org", dummyCredentials);
      await store.directory.addUser("bob@example.org", dummyCredentials);
      await store.directory.addAlias("team@example.org", "bob@example.org");
      await store.directory.addAlias("team@example.org", "friend@remote.test");
      await store.directory.addAlias("@example.org", "alice@example.org");
      await store.sieveScripts.putScript(alice.id, "main", 'require "fileinto"; fileinto "INBOX";');
      await store.sieveScripts.activateScript(alice.id, "main");
      const agent = createDeliveryAgent({ store, logger });
      const writer = await agent.createBlobWriter();
      await writer.write(Buffer.from("From: x@remote.test\r\nSubject: t\r\n\r\nhi\r\n"));
      const blob = await writer.finish();
      const receivedAt = new Date();
      const refusedAt = new Date(receivedAt.getTime() - 1000);
      const result = await agent.commit({
        blob,
        sender: "x@remote.test",
        recipients: [
          { address: "team@example.org" },
          { address: "bob+news@example.org" },
          { address: "stray@example.org" },
        ],
        receivedAt,
        origin: {
          protocol: "smtp",
          listener: "smtp",
          client: "192.0.2.9",
          helo: "mx.remote.test",
          tls: null,
          user: null,
        },
        refused: [{ address: "ghost@other.test", reply: "554 5.7.1 relay access denied", at: refusedAt }],
      });
      const events = await store.traces.getTrace(result.messageId);
      const shown = events.map((event) => [
        event.kind,
        event.recipient,
        event.data.via ?? event.data.mailbox ?? event.data.verdict ?? null,
      ]);
      assert.deepEqual(shown, [
        ["session", null, null],
        ["recipient", "ghost@other.test", "refused"],
        ["recipient", "team@example.org", "accepted"],
        ["route", "team@example.org", "alias"],
        ["route", "team@example.org", "alias"],
        ["queued", "friend@remote.test", null],
        ["recipient", "bob+news@example.org", "accepted"],
        ["route", "bob+news@example.org", "plus-tag"],
        ["recipient", "stray@example.org", "accepted"],
        ["route", "stray@example.org", "catch-all"],
        ["mailbox", "bob@example.org", "INBOX"],
        ["sieve", "alice@example.org", null],
        ["mailbox", "alice@example.org", "INBOX"],
      ]);
      assert.equal(events[0]?.at.getTime(), refusedAt.getTime(), "the session comes before its refusals");
      assert.deepEqual(events[0]?.data, {
        protocol: "smtp",
        listener: "smtp",
        client: "192.0.2.9",
        helo: "mx.remote.test",
        tls: null,
        user: null,
        sender: "x@remote.test",
      });
      assert.deepEqual(events.find((event) => event.kind === "sieve")?.data.file, ["INBOX"]);
    } finally {
      await cleanup();
    }
  });
});
