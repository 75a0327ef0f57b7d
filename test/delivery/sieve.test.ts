// Sieve at local delivery: the action mapping (pure), and the agent running each recipient's active
// script against a real SQLite store — fileinto (with and without :create), discard, imap4flags,
// redirect into the queue, and a broken or failing script keeping the mail in INBOX.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { createDeliveryAgent } from "../../src/delivery/agent.js";
import { KEEP, planActions, REDIRECT_HOP_LIMIT, receivedCount } from "../../src/delivery/sieve.js";
import type { DeliveryAgent } from "../../src/delivery/types.js";
import type { Store } from "../../src/store/types.js";
import { dummyCredentials, openTempStore } from "./helpers.js";

describe("planActions", () => {
  test("keep and fileinto file once per mailbox, flags merged; discard and header edits file nothing", () => {
    assert.deepEqual(planActions([{ type: "keep", flags: [], implicit: true }], 0), KEEP);
    assert.deepEqual(
      planActions(
        [
          { type: "fileinto", mailbox: "Lists", flags: ["\\Seen"], create: true, copy: false },
          { type: "fileinto", mailbox: "inbox", flags: ["$Work"], create: false, copy: true },
          { type: "keep", flags: ["\\Flagged"], implicit: false },
          { type: "addheader", name: "X-Seen", value: "1", last: false },
        ],
        0,
      ),
      {
        file: [
          { mailbox: "Lists", flags: ["\\Seen"], create: true },
          { mailbox: "INBOX", flags: ["$Work", "\\Flagged"], create: false },
        ],
        redirect: [],
        reject: null,
        vacation: null,
        unsupported: [],
      },
    );
    assert.deepEqual(planActions([{ type: "discard" }], 0), {
      file: [],
      redirect: [],
      reject: null,
      vacation: null,
      unsupported: [],
    });
  });

  test("redirect forwards unless the message is looping; reject files nothing and keeps its reason", () => {
    const redirect = { type: "redirect", address: "bob@remote.test", copy: false } as const;
    assert.deepEqual(planActions([redirect], 2), {
      file: [],
      redirect: ["bob@remote.test"],
      reject: null,
      vacation: null,
      unsupported: [],
    });
    const looping = planActions([redirect], REDIRECT_HOP_LIMIT);
    assert.deepEqual(looping.file, KEEP.file);
    assert.deepEqual(looping.redirect, []);
    assert.match(looping.unsupported[0] ?? "", /looping/);
    const reject = planActions([{ type: "reject", reason: "no", extended: true }], 0);
    assert.deepEqual(
      [reject.file, reject.reject, reject.unsupported],
      [[], { reason: "no", extended: true }, []],
    );
  });

  test("receivedCount counts the header's Received fields, not the body's", () => {
    const message = Buffer.from(
      "Received: a\r\nreceived: b\r\n\tfolded\r\nSubject: x\r\n\r\nReceived: body\r\n",
    );
    assert.equal(receivedCount(message), 2);
  });
});

describe("DeliveryAgent runs the recipient's active Sieve script (SQLite)", () => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let agent: DeliveryAgent;
  let carol: number;
  const logger = pino({ level: "silent" });

  const deliver = async (text: string, recipients = ["carol@example.org"]) => {
    const writer = await agent.createBlobWriter();
    await writer.write(Buffer.from(text));
    const blob = await writer.finish();
    return agent.commit({
      blob,
      sender: "list@lists.test",
      receivedAt: new Date(),
      recipients: recipients.map((address) => ({ address })),
    });
  };
  const inMailbox = async (name: string) => {
    const mailbox = await store.mailboxes.getMailbox(carol, name);
    return mailbox === null ? null : store.messages.listMessages(mailbox.id);
  };
  const script = async (source: string) => {
    await store.sieveScripts.putScript(carol, "main", source);
    await store.sieveScripts.activateScript(carol, "main");
  };

  before(async () => {
    ({ store, cleanup } = await openTempStore());
    agent = createDeliveryAgent({ store, logger });
    await store.directory.addDomain("example.org");
    carol = (await store.directory.addUser("carol@example.org", dummyCredentials)).id;
    await store.directory.addUser("dave@example.org", dummyCredentials);
  });
  after(() => cleanup());

  test("fileinto :create files list mail with its flags; other mail stays in INBOX", async () => {
    await script(`require ["fileinto", "mailbox", "imap4flags"];
if header :contains "list-id" "dev.lists.test" { fileinto :create :flags "\\\\Seen" "Lists/Dev"; }`);
    await deliver("List-Id: <dev.lists.test>\r\nSubject: one\r\n\r\nbody\r\n");
    await deliver("Subject: personal\r\n\r\nbody\r\n");
    const lists = await inMailbox("Lists/Dev");
    assert.ok(lists);
    assert.deepEqual(
      lists.map((message) => message.flags),
      [["\\Seen"]],
    );
    assert.equal((await inMailbox("INBOX"))?.length, 1);
  });

  test("fileinto a missing mailbox without :create keeps the mail in INBOX", async () => {
    await script('require "fileinto"; fileinto "Nowhere";');
    const before = (await inMailbox("INBOX"))?.length ?? 0;
    await deliver("Subject: lost?\r\n\r\nbody\r\n");
    assert.equal(await inMailbox("Nowhere"), null);
    assert.equal((await inMailbox("INBOX"))?.length, before + 1);
  });

  test("discard stores nothing for that user; the other recipient gets the mail", async () => {
    await script("discard;");
    const before = (await inMailbox("INBOX"))?.length ?? 0;
    await deliver("Subject: noise\r\n\r\nbody\r\n");
    assert.equal((await inMailbox("INBOX"))?.length, before);
    const dave = await store.directory.getUser("dave@example.org");
    assert.ok(dave);
    const daveInbox = await store.mailboxes.getMailbox(dave.id, "INBOX");
    assert.ok(daveInbox);
    await deliver("Subject: both\r\n\r\nbody\r\n", ["carol@example.org", "dave@example.org"]);
    assert.equal((await inMailbox("INBOX"))?.length, before);
    assert.equal((await store.messages.listMessages(daveInbox.id)).length, 1);
  });

  test("addflag flags the kept copy", async () => {
    await script('require "imap4flags"; addflag "\\\\Flagged"; addflag "$Important";');
    await deliver("Subject: flagged\r\n\r\nbody\r\n");
    const inbox = (await inMailbox("INBOX")) ?? [];
    assert.deepEqual(inbox.at(-1)?.flags.sort(), ["$Important", "\\Flagged"]);
  });

  test("redirect queues the message for the address", async () => {
    await script('redirect "elsewhere@remote.test";');
    const before = (await inMailbox("INBOX"))?.length ?? 0;
    const result = await deliver("Subject: forward me\r\n\r\nbody\r\n");
    assert.equal(result.queueIds.length, 1);
    const entries = await store.queue.list();
    assert.ok(entries.some((entry) => entry.recipient === "elsewhere@remote.test"));
    assert.equal((await inMailbox("INBOX"))?.length, before);
  });

  test("a script that does not compile, or fails while running, keeps the mail in INBOX", async () => {
    // Stored past the CLI's check (an older build's script, say): delivery must still not lose mail.
    await script('fileinto "Food";');
    const before = (await inMailbox("INBOX"))?.length ?? 0;
    await deliver("Subject: still here\r\n\r\nbody\r\n");
    assert.equal((await inMailbox("INBOX"))?.length, before + 1);
    // Five redirects: past the interpreter's limit of four, a runtime error (RFC 5228 §2.10.6).
    await script(["v", "w", "x", "y", "z"].map((name) => `redirect "${name}@remote.test";`).join("\n"));
    const queued = (await store.queue.list()).length;
    await deliver("Subject: too many redirects\r\n\r\nbody\r\n");
    assert.equal((await inMailbox("INBOX"))?.length, before + 2);
    assert.equal((await store.queue.list()).length, queued);
  });
});
