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
    await store.addDomain("example.org");
    await store.addDomain("unsigned.example");
    alice = await store.addUser("alice@example.org", dummyCredentials);
    bob = await store.addUser("bob@example.org", dummyCredentials);
    await store.addUser("alice+work@example.org", dummyCredentials);
    await store.addAlias("sales@example.org", "alice@example.org");
    await store.addAlias("team@example.org", "alice@example.org");
    await store.addAlias("team@example.org", "bob@example.org");
    await store.addAlias("chain@example.org", "sales@example.org");
    await store.addAlias("@example.org", "bob@example.org");
    await store.addAlias("fwd@unsigned.example", "friend@remote.test");
    await store.setDkimKey("example.org", {
      selector: "mr202406",
      privateKeyPem: await generateDkimKey("rsa-sha256"),
      algorithm: "rsa-sha256",
    });
    key = (await store.getDkimKey("example.org"))!;
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

  /** Runs one authenticated submission through a real session; returns the stored message. */
  async function submit(message: string, from = "alice@example.org"): Promise<Buffer> {
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
      config: testConfig({ maxMessageSize: 100_000 }),
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
    const last = output.replies.at(-1) ?? "";
    assert.match(last, /^250 2\.0\.0 Ok: queued as /, output.replies.join(""));
    assert.ok(committed);
    return store.readBlobBytes(committed);
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
    const inbox = await store.getMailbox(bob.id, "INBOX");
    const [entry] = await store.listMessages(inbox!.id);
    assert.equal((await store.readBlobBytes(entry!.messageId)).toString("utf8"), text);
    const queued = (await store.listQueue()).find((item) => item.messageId === entry!.messageId);
    assert.ok(queued);
  });

  test("not signed: a From: the user does not own, a domain without a key, no From:", async () => {
    for (const header of ["From: bob@example.org", "From: fwd@unsigned.example", "Subject: no author"]) {
      const stored = await submit(`${header}\r\n\r\nbody\r\n`);
      assert.doesNotMatch(stored.toString(), /DKIM-Signature:/, header);
    }
  });
});
