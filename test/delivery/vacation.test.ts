import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { dkimVerify } from "mailauth/lib/dkim/verify.js";
import { pino } from "pino";
import { createDeliveryAgent } from "../../src/delivery/agent.js";
import type { DeliveryAgent } from "../../src/delivery/types.js";
import { dkimTxtRecord, generateDkimKey } from "../../src/mail/dkim.js";
import { type Store, StoreError, type VacationSetting } from "../../src/store/types.js";
import { spyStore } from "../support/store-spy.js";
import { dummyCredentials, openTempStore } from "./helpers.js";

const logger = pino({ level: "silent" });
const WEEK = 7 * 24 * 3600_000;
const away: VacationSetting = {
  isEnabled: true,
  fromDate: null,
  toDate: null,
  subject: "Away",
  textBody: "Back on Monday.",
  htmlBody: null,
};

describe("vacation auto-replies at delivery (SQLite store)", () => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let agent: DeliveryAgent;
  let counter = 0;

  before(async () => {
    ({ store, cleanup } = await openTempStore());
    agent = createDeliveryAgent({ store, logger, vacationPeriod: WEEK });
    await store.directory.addDomain("example.org");
    for (const local of ["alice", "bob", "carol", "dave"]) {
      await store.directory.addUser(`${local}@example.org`, dummyCredentials);
    }
    await store.directory.addAlias("team@example.org", "alice@example.org");
  });
  after(() => cleanup());

  async function inbox(address: string): Promise<string[]> {
    const user = await store.directory.getUser(address);
    const mailbox = user && (await store.mailboxes.getMailbox(user.id, "INBOX"));
    assert.ok(mailbox);
    const texts = [];
    for (const row of await store.messages.listMessages(mailbox.id)) {
      texts.push((await store.blobs.readBlobBytes(row.messageId)).toString("utf8"));
    }
    return texts;
  }

  async function setVacation(address: string, setting: VacationSetting): Promise<void> {
    const user = await store.directory.getUser(address);
    assert.ok(user);
    await store.vacation.setVacation(user.id, setting);
  }

  async function deliver(using: DeliveryAgent, sender: string, rcpt: string, header: string): Promise<void> {
    const writer = await using.createBlobWriter();
    counter += 1;
    await writer.write(
      Buffer.from(`Return-Path: <${sender}>\r\n${header}Message-ID: <m${counter}@x>\r\n\r\nhello\r\n`),
    );
    await using.commit({
      blob: await writer.finish(),
      sender,
      recipients: [{ address: rcpt }],
      receivedAt: new Date(),
    });
  }

  test("a local sender gets the reply in their INBOX, for mail sent to an alias of the user", async () => {
    await setVacation("alice@example.org", away);
    await deliver(agent, "bob@example.org", "team@example.org", "To: team@example.org\r\nSubject: Plans\r\n");
    const replies = (await inbox("bob@example.org")).filter((text) => /Auto-Submitted/.test(text));
    assert.equal(replies.length, 1);
    assert.match(replies[0] ?? "", /^Return-Path: <>\r\n/);
    assert.match(replies[0] ?? "", /\r\nSubject: Away\r\n/);
    assert.match(replies[0] ?? "", /\r\nIn-Reply-To: <m\d+@x>\r\n/);
    assert.match(replies[0] ?? "", /Back on Monday\./);
  });

  test("the reply is DKIM-signed when the user's domain has a key, and verifies", async () => {
    await store.directory.addDomain("signed.example");
    await store.directory.addUser("erin@signed.example", dummyCredentials);
    await store.directory.setDkimKey("signed.example", {
      selector: "mr202612",
      privateKeyPem: await generateDkimKey("ed25519-sha256"),
      algorithm: "ed25519-sha256",
    });
    const key = await store.directory.getDkimKey("signed.example");
    assert.ok(key);
    await setVacation("erin@signed.example", away);
    await deliver(agent, "bob@example.org", "erin@signed.example", "To: erin@signed.example\r\n");
    const [reply] = (await inbox("bob@example.org")).filter((text) => text.includes("From: erin@"));
    assert.match(reply ?? "", /^Return-Path: <>\r\nDKIM-Signature: [^\r]*d=signed\.example;/);
    const record = dkimTxtRecord("signed.example", key);
    const result = await dkimVerify(Buffer.from(reply ?? ""), {
      resolver: async (name: string, type: string) => {
        if (type === "TXT" && name === record.name) return [[record.value]];
        throw Object.assign(new Error(`no ${type} for ${name}`), { code: "ENOTFOUND" });
      },
    });
    assert.deepEqual(
      result.results.map((entry) => entry.status.result),
      ["pass"],
    );
  });

  test("no reply to oneself, to Bcc copies, or outside the vacation's dates", async () => {
    await deliver(agent, "alice@example.org", "alice@example.org", "To: alice@example.org\r\n");
    await deliver(agent, "carol@example.org", "alice@example.org", "To: someone@example.net\r\n");
    await setVacation("dave@example.org", { ...away, toDate: new Date(Date.now() - 1000) });
    await deliver(agent, "carol@example.org", "dave@example.org", "To: dave@example.org\r\n");
    assert.equal((await inbox("alice@example.org")).filter((t) => /Auto-Submitted/.test(t)).length, 0);
    assert.equal((await inbox("carol@example.org")).length, 0);
  });

  test("a reply that cannot be made or committed neither fails nor loses the delivery", async () => {
    await setVacation("carol@example.org", away);
    let deliveries = 0;
    const failingReply = spyStore(store, {
      messages: (messages) => ({
        deliver: (input) => {
          deliveries += 1;
          // The first call is the delivery itself; the second, the reply.
          if (deliveries === 2) return Promise.reject(new StoreError("unavailable", "disk full"));
          return messages.deliver(input);
        },
      }),
    });
    await deliver(
      createDeliveryAgent({ store: failingReply, logger, vacationPeriod: WEEK }),
      "dave@example.org",
      "carol@example.org",
      "To: carol@example.org\r\nSubject: one\r\n",
    );
    assert.equal(deliveries, 2);
    const failingSetting = spyStore(store, {
      vacation: () => ({ getVacation: () => Promise.reject(new StoreError("unavailable", "gone")) }),
    });
    await deliver(
      createDeliveryAgent({ store: failingSetting, logger, vacationPeriod: WEEK }),
      "bob@example.org",
      "carol@example.org",
      "To: carol@example.org\r\nSubject: two\r\n",
    );
    const delivered = await inbox("carol@example.org");
    assert.equal(delivered.filter((text) => /Subject: (one|two)\r\n/.test(text)).length, 2);
    assert.equal((await inbox("dave@example.org")).filter((text) => /Auto-Submitted/.test(text)).length, 0);
  });
});
