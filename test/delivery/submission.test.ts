// The submission policy of the real DeliveryAgent on SQLite: who may use which MAIL FROM, and DKIM
// signing of accepted mail, verified against a stub DNS resolver serving the published record.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { dkimVerify } from "mailauth/lib/dkim/verify.js";
import { pino } from "pino";
import { createDeliveryAgent } from "../../src/delivery/agent.js";
import type { DeliveryAgent, RecipientContext } from "../../src/delivery/types.js";
import { dkimTxtRecord, generateDkimKey } from "../../src/mail/dkim.js";
import { SmtpSession } from "../../src/smtp/server/session.js";
import type { DkimKey, Store, User } from "../../src/store/types.js";
import { FakeAuthenticator, testConfig } from "../smtp/fakes.js";
import { dummyCredentials, openTempStore } from "./helpers.js";

const logger = pino({ level: "silent" });

describe("submission policy of the DeliveryAgent", () => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let agent: DeliveryAgent;
  let alice: User;
  let bob: User;
  let key: DkimKey;
  const as = (user: User | null): RecipientContext => ({
    authenticated: user && { userId: user.id, address: user.address },
    remoteAddress: "192.0.2.1",
  });
  const verdict = async (address: string, user: User | null) =>
    (await agent.checkSender!(address, as(user))).kind;

  before(async () => {
    ({ store, cleanup } = await openTempStore());
    agent = createDeliveryAgent({ store, logger });
    await store.directory.addDomain("example.org");
    await store.directory.addDomain("unsigned.example");
    alice = await store.directory.addUser("alice@example.org", dummyCredentials);
    bob = await store.directory.addUser("bob@example.org", dummyCredentials);
    await store.directory.addUser("alice+work@example.org", dummyCredentials);
    await store.directory.addAlias("sales@example.org", "alice@example.org");
    await store.directory.addAlias("team@example.org", "alice@example.org");
    await store.directory.addAlias("team@example.org", "bob@example.org");
    await store.directory.addAlias("chain@example.org", "sales@example.org");
    await store.directory.addAlias("@example.org", "bob@example.org");
    await store.directory.addAlias("fwd@unsigned.example", "friend@remote.test");
    await store.directory.setDkimKey("example.org", {
      selector: "mr202406",
      privateKeyPem: await generateDkimKey("rsa-sha256"),
      algorithm: "rsa-sha256",
    });
    key = (await store.directory.getDkimKey("example.org"))!;
  });
  after(() => cleanup());

  test("own address (any case), +tag, aliases reaching the user and chains of them are allowed", async () => {
    for (const address of [
      "alice@example.org",
      "Alice@Example.ORG",
      "alice+news@example.org",
      "sales@example.org",
      "sales+x@example.org",
      "team@example.org",
      "chain@example.org",
    ]) {
      assert.equal(await verdict(address, alice), "accept", address);
    }
    assert.equal(await verdict("team@example.org", bob), "accept", "every member of a group alias");
  });

  test("other users, their tags, aliases of others, catch-alls and remote addresses are refused", async () => {
    for (const address of [
      "bob@example.org",
      "bob+x@example.org",
      "alice+work@example.org",
      "nobody@example.org",
      "fwd@unsigned.example",
      "alice@remote.test",
    ]) {
      assert.equal(await verdict(address, alice), "reject", address);
    }
    assert.equal(await verdict("sales@example.org", bob), "reject");
    assert.equal(await verdict("nobody@example.org", bob), "reject", "the catch-all hands out no addresses");
    const refusal = await agent.checkSender!("bob@example.org", as(alice));
    assert.deepEqual(refusal, {
      kind: "reject",
      code: 550,
      enhanced: "5.7.1",
      text: "<bob@example.org>: not owned by user alice@example.org; send from your own address or one of its aliases",
    });
  });

  test("the null sender and unauthenticated sessions are accepted", async () => {
    assert.equal(await verdict("", alice), "accept");
    assert.equal(await verdict("anyone@remote.test", null), "accept");
  });

  /** Runs one authenticated submission through a real session; returns the last reply and the commit. */
  async function attempt(message: string, from = "alice@example.org") {
    assert.equal(alice.id, 1, "FakeAuthenticator logs alice in as user 1");
    let committed: string | null = null;
    const watching: DeliveryAgent = {
      ...agent,
      checkRecipient: agent.checkRecipient,
      commit: async (accepted) => {
        committed = accepted.blob.id;
        return agent.commit(accepted);
      },
    };
    const session = new SmtpSession({
      hostname: "mx.example.org",
      config: testConfig({ maxMessageSize: 1_000_000 }),
      agent: watching,
      authenticator: new FakeAuthenticator(),
      logger,
      remoteAddress: "127.0.0.1",
      tls: { protocol: "TLSv1.3", cipher: "X" },
      starttls: false,
      authPolicy: "tls",
      authRequired: true,
      submission: true,
    });
    session.start();
    const plain = Buffer.from("\0alice@example.org\0secret").toString("base64");
    const output = await session.receive(
      Buffer.from(
        `EHLO c.example\r\nAUTH PLAIN ${plain}\r\nMAIL FROM:<${from}>\r\nRCPT TO:<bob@example.org>\r\n` +
          `RCPT TO:<friend@remote.test>\r\nDATA\r\n${message}.\r\n`,
      ),
    );
    return {
      last: output.replies.at(-1) ?? "",
      all: output.replies.join(""),
      committed: committed as string | null,
    };
  }

  /** One submission that must be accepted; returns the stored message. */
  async function submit(message: string, from = "alice@example.org"): Promise<Buffer> {
    const { last, all, committed } = await attempt(message, from);
    assert.match(last, /^250 2\.0\.0 Ok: queued as /, all);
    assert.ok(committed);
    return store.blobs.readBlobBytes(committed);
  }

  async function verify(message: Buffer) {
    const record = dkimTxtRecord("example.org", key);
    const result = await dkimVerify(message, {
      resolver: async (name: string, type: string) => {
        if (type === "TXT" && name === record.name) return [[record.value]];
        throw Object.assign(new Error(`no ${type} for ${name}`), { code: "ENOTFOUND" });
      },
    });
    return result.results.map((entry) => entry.status.result);
  }

  test("accepted mail from a keyed domain is signed after the trace fields, and verifies", async () => {
    const stored = await submit(
      "From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: hi\r\n\r\nHello\r\n",
    );
    const text = stored.toString("utf8");
    assert.match(text, /^Return-Path: <alice@example\.org>\r\nReceived: from c\.example /);
    assert.match(text, /\r\nDKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=example\.org;/);
    assert.ok(text.indexOf("DKIM-Signature:") < text.indexOf("From: Alice"));
    assert.match(
      text,
      /\r\nMessage-ID: <[^>]+@mx\.example\.org>\r\n/,
      "added before signing, so it is signed",
    );
    assert.match(text, /h=[^;]*Message-ID/i);
    assert.deepEqual(await verify(stored), ["pass"]);
    // Both the local mailbox and the queue got the signed copy: one blob.
    const inbox = await store.mailboxes.getMailbox(bob.id, "INBOX");
    const [entry] = await store.messages.listMessages(inbox!.id);
    assert.equal((await store.blobs.readBlobBytes(entry!.messageId)).toString("utf8"), text);
    const queued = (await store.queue.list()).find((item) => item.messageId === entry!.messageId);
    assert.ok(queued);
  });

  test("not signed: a domain without a key, no From:", async () => {
    await store.directory.addAlias("alice@unsigned.example", "alice@example.org");
    for (const header of ["From: alice@unsigned.example", "Subject: no author"]) {
      const stored = await submit(`${header}\r\n\r\nbody\r\n`);
      assert.doesNotMatch(stored.toString(), /DKIM-Signature:/, header);
    }
  });

  test("the Received id of signed mail is the id of the 250 reply, the mailbox and the queue", async () => {
    const { last, committed } = await attempt("From: alice@example.org\r\nSubject: ids\r\n\r\nbody\r\n");
    const id = /queued as (\S+)/.exec(last)?.[1];
    assert.ok(id && committed === id, last);
    const text = (await store.blobs.readBlobBytes(id)).toString("utf8");
    assert.match(text, /DKIM-Signature:/);
    const received = /^Received: (?:[^\r]*\r\n\t)*[^\r]*\r\n/m.exec(text)?.[0] ?? "";
    assert.match(received, new RegExp(`\\bid ${id}\\b`), received);
    assert.ok((await store.queue.list()).some((entry) => entry.messageId === id));
  });

  test("From: and Sender: may name only the user's own addresses, +tags and aliases reaching them", async () => {
    for (const header of [
      "From: Alice <alice@example.org>",
      "From: alice+list@example.org",
      "From: sales@example.org",
      "From: team@example.org",
      'From: "bob@example.org" <alice@example.org>',
      "From: alice@example.org, Sales <sales@example.org>",
      "From: team@example.org\r\nSender: alice@example.org",
      "FROM : alice@example.org",
      "Subject: no author at all",
    ]) {
      const { last } = await attempt(`${header}\r\n\r\nbody\r\n`);
      assert.match(last, /^250 /, header);
    }
  });

  test("a From: or Sender: naming someone else is refused with 550 5.7.1 saying which header; nothing is kept", async () => {
    const cases: Array<[string, RegExp]> = [
      [
        "From: bob@example.org",
        /^550 5\.7\.1 the From: header names <bob@example\.org>, which is not an address of user alice@example\.org; put your own address or one of its aliases there\r\n$/,
      ],
      ["From: alice@example.org, bob@example.org", /^550 5\.7\.1 the From: header names <bob@example\.org>/],
      [
        "From: alice@example.org\r\nSender: bob@example.org",
        /^550 5\.7\.1 the Sender: header names <bob@example\.org>/,
      ],
      [
        "From: alice@example.org\r\nfrom: boss@example.org",
        /^550 5\.7\.1 the From: header names <boss@example\.org>/,
      ],
      ["From: Alice\r\n <boss@example.org>", /^550 5\.7\.1 the From: header names <boss@example\.org>/],
      [
        "From: alice@example.org <nobody@example.org>",
        /^550 5\.7\.1 the From: header names <nobody@example\.org>/,
      ],
      ["From: friend@remote.test", /^550 5\.7\.1 the From: header names <friend@remote\.test>/],
      [
        "From: undisclosed:;",
        /^550 5\.7\.1 the From: header names no address; put your own address \(alice@example\.org\) there/,
      ],
    ];
    for (const [header, expected] of cases) {
      const before = (await store.queue.list()).length;
      const { last, committed } = await attempt(`${header}\r\n\r\nbody\r\n`);
      assert.match(last, expected, header);
      assert.equal(committed, null, header);
      assert.equal((await store.queue.list()).length, before, header);
    }
  });

  test("a header section too long to check is refused rather than passed unchecked", async () => {
    const padding = `X-Pad: ${"p".repeat(900)}\r\n`.repeat(300);
    const { last, committed } = await attempt(`${padding}From: bob@example.org\r\n\r\nbody\r\n`);
    assert.match(last, /^550 5\.7\.1 the header section is longer than 262144 octets/);
    assert.equal(committed, null);
  });
});
