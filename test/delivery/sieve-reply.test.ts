// What a Sieve script says to the sender at delivery, against a real SQLite store: reject/ereject
// (RFC 5429) refused in the SMTP dialogue when every recipient refuses, otherwise committed for the
// others with an MDN (reject) or a DSN (ereject) to the sender, never to <>; and vacation (RFC 5230)
// answered once per sender per :days/:seconds and :handle under RFC 3834's rules, with :subject, :from,
// :addresses and :mime.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { createDeliveryAgent } from "../../src/delivery/agent.js";
import { refusalReplyText } from "../../src/delivery/refusal.js";
import { type DeliveryAgent, ScriptRefusal } from "../../src/delivery/types.js";
import type { Store } from "../../src/store/types.js";
import { dummyCredentials, openTempStore } from "./helpers.js";

const logger = pino({ level: "silent" });

describe("Sieve reject and vacation at delivery (SQLite)", () => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let agent: DeliveryAgent;
  let counter = 0;

  before(async () => {
    ({ store, cleanup } = await openTempStore());
    agent = createDeliveryAgent({ store, logger, hostname: "mx.example.org" });
    await store.directory.addDomain("example.org");
    for (const local of ["sender", "carol", "dave", "erin"]) {
      await store.directory.addUser(`${local}@example.org`, dummyCredentials);
    }
    await store.directory.addAlias("help@example.org", "erin@example.org");
  });
  after(() => cleanup());

  async function userId(address: string): Promise<number> {
    const user = await store.directory.getUser(address);
    assert.ok(user);
    return user.id;
  }
  async function script(address: string, source: string): Promise<void> {
    const id = await userId(address);
    await store.sieveScripts.putScript(id, "main", source);
    await store.sieveScripts.activateScript(id, "main");
  }
  async function inbox(address: string): Promise<string[]> {
    const mailbox = await store.mailboxes.getMailbox(await userId(address), "INBOX");
    assert.ok(mailbox);
    const texts: string[] = [];
    for (const row of await store.messages.listMessages(mailbox.id)) {
      texts.push((await store.blobs.readBlobBytes(row.messageId)).toString("utf8"));
    }
    return texts;
  }
  async function deliver(
    recipients: string[],
    options: { sender?: string; canRefuse?: boolean; header?: string } = {},
  ) {
    const sender = options.sender ?? "sender@example.org";
    counter += 1;
    const writer = await agent.createBlobWriter();
    await writer.write(
      Buffer.from(
        `Return-Path: <${sender}>\r\nFrom: <${sender}>\r\nTo: ${recipients.join(", ")}\r\n` +
          `${options.header ?? ""}Subject: note ${counter}\r\nMessage-ID: <n${counter}@x>\r\n\r\nhello\r\n`,
      ),
    );
    return agent.commit({
      blob: await writer.finish(),
      sender,
      recipients: recipients.map((address) => ({ address })),
      receivedAt: new Date(),
      ...(options.canRefuse === false ? {} : { canRefuse: true }),
    });
  }

  test("every recipient rejects: ScriptRefusal with the reason, nothing stored, no notice", async () => {
    await script("carol@example.org", 'require "reject";\nreject text:\nI do not take mail\nfrom you\n.\n;');
    const notices = (await inbox("sender@example.org")).length;
    await assert.rejects(deliver(["carol@example.org"]), (err: unknown) => {
      assert.ok(err instanceof ScriptRefusal);
      assert.equal(err.code, 550);
      assert.equal(err.enhanced, "5.7.1");
      assert.equal(err.text, "I do not take mail from you");
      return true;
    });
    assert.equal((await inbox("carol@example.org")).length, 0);
    assert.equal((await inbox("sender@example.org")).length, notices);
  });

  test("another recipient accepts: delivered to them, an MDN names the refusing address", async () => {
    const result = await deliver(["carol@example.org", "dave@example.org"]);
    assert.equal(result.uids.length, 1);
    assert.equal((await inbox("dave@example.org")).length, 1);
    assert.equal((await inbox("carol@example.org")).length, 0);
    const notice = (await inbox("sender@example.org")).at(-1) ?? "";
    assert.match(notice, /^Return-Path: <>\r\n/);
    assert.match(notice, /report-type=disposition-notification/);
    assert.match(notice, /Disposition: automatic-action\/MDN-sent-automatically; deleted/);
    assert.match(notice, /Final-Recipient: rfc822; carol@example\.org/);
    assert.match(notice, /I do not take mail\r\nfrom you/);
    assert.match(notice, /Original-Message-ID: <n\d+@x>/);
  });

  test("ereject among accepting recipients sends a DSN; without SMTP, even a sole refusal is a notice", async () => {
    await script("erin@example.org", 'require "ereject"; ereject "closed";');
    await deliver(["help@example.org", "dave@example.org"]);
    const dsn = (await inbox("sender@example.org")).at(-1) ?? "";
    assert.match(dsn, /report-type=delivery-status/);
    assert.match(dsn, /Final-Recipient: rfc822; help@example\.org/);
    assert.match(dsn, /Status: 5\.7\.1/);
    assert.match(dsn, /closed/);
    const before = (await inbox("sender@example.org")).length;
    const result = await deliver(["erin@example.org"], { canRefuse: false });
    assert.deepEqual(result.uids, []);
    assert.equal((await inbox("sender@example.org")).length, before + 1);
    assert.equal((await inbox("erin@example.org")).length, 0);
  });

  test("a refused message from <> gets no notice; the other recipient still gets it", async () => {
    const before = (await inbox("sender@example.org")).length;
    const daves = (await inbox("dave@example.org")).length;
    await deliver(["carol@example.org", "dave@example.org"], { sender: "" });
    assert.equal((await inbox("sender@example.org")).length, before);
    assert.equal((await inbox("dave@example.org")).length, daves + 1);
  });

  test("refusalReplyText keeps the SMTP reply on one 7-bit line", () => {
    assert.equal(refusalReplyText("  "), "Rejected by the recipient's mail filter");
    assert.equal(refusalReplyText("non\u00e9\ttoo"), "non? too");
    assert.equal(refusalReplyText("x".repeat(1000)).length, 400);
  });

  test("vacation answers once per period with its subject and text; :handle separates replies", async () => {
    await script(
      "dave@example.org",
      'require "vacation"; vacation :days 3 :subject "Out of office" "Back next week.";',
    );
    const replies = async () =>
      (await inbox("sender@example.org")).filter((text) => /Auto-Submitted: auto-replied/.test(text));
    const before = (await replies()).length;
    await deliver(["dave@example.org"]);
    await deliver(["dave@example.org"]);
    const after = await replies();
    assert.equal(after.length, before + 1);
    const reply = after.at(-1) ?? "";
    assert.match(reply, /^Return-Path: <>\r\n/);
    assert.match(reply, /Subject: Out of office/);
    assert.match(reply, /Back next week\./);
    assert.match(reply, /From: dave@example\.org/);
    // A different :handle is a different responder: it answers the same sender again.
    await script("dave@example.org", 'require "vacation"; vacation :handle "other" "Second text.";');
    await deliver(["dave@example.org"]);
    const third = await replies();
    assert.equal(third.length, before + 2);
    assert.match(third.at(-1) ?? "", /Subject: Auto: note \d+/);
    // The mail itself is kept: vacation does not cancel the implicit keep.
    assert.equal(
      (await inbox("dave@example.org")).filter((text) => /Subject: note/.test(text)).length >= 3,
      true,
    );
  });

  test("vacation honours :addresses, :from it owns, :mime, :seconds 0, and RFC 3834's exclusions", async () => {
    await script(
      "carol@example.org",
      `require ["vacation", "vacation-seconds"];
vacation :seconds 0 :addresses ["team@example.org"] :from "Carol <carol@example.org>" :mime text:
Content-Type: text/plain; charset=utf-8

Gone fishing.
.
;`,
    );
    const replies = async () =>
      (await inbox("sender@example.org")).filter((text) => /Gone fishing/.test(text));
    const wrote = async (to: string) => {
      counter += 1;
      const writer = await agent.createBlobWriter();
      await writer.write(
        Buffer.from(`Return-Path: <sender@example.org>\r\nTo: ${to}\r\nSubject: s${counter}\r\n\r\nhi\r\n`),
      );
      await agent.commit({
        blob: await writer.finish(),
        sender: "sender@example.org",
        recipients: [{ address: "carol@example.org" }],
        receivedAt: new Date(),
      });
    };
    // Not addressed to carol or her :addresses (a Bcc copy): no reply.
    await wrote("undisclosed-recipients:;");
    assert.equal((await replies()).length, 0);
    await wrote("team@example.org");
    await wrote("team@example.org");
    const sent = await replies();
    assert.equal(sent.length, 2, ":seconds 0 answers every time");
    assert.match(sent[0] ?? "", /From: Carol <carol@example\.org>/);
    assert.match(sent[0] ?? "", /Content-Type: text\/plain; charset=utf-8\r\n\r\nGone fishing\./);
    assert.equal((sent[0]?.match(/^MIME-Version:/gm) ?? []).length, 1);
    // A list message and a sender of <> are never answered.
    await deliver(["carol@example.org"], { header: "List-Id: <l.test>\r\n" });
    await deliver(["carol@example.org"], { sender: "" });
    assert.equal((await replies()).length, 2);
    // A :from the user does not own is replaced by their own address.
    await script(
      "carol@example.org",
      'require ["vacation", "vacation-seconds"]; vacation :seconds 0 :from "boss@elsewhere.test" "Away.";',
    );
    await deliver(["carol@example.org"]);
    const last = (await inbox("sender@example.org")).at(-1) ?? "";
    assert.match(last, /Away\./);
    assert.match(last, /From: carol@example\.org/);
  });
});
