// What the IMAP sessions of a process keep between commands (src/imap/caches.ts): a SELECT after other
// sessions' changes still shows the mailbox as it is, and the kept header blocks and listings stay bounded.

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { HeaderBlockCache, MailboxListings } from "../../src/imap/caches.js";
import { fieldIndexBytes, indexFields, scanHeader } from "../../src/mail/mime/header.js";
import type { ListMessagesOptions, Store } from "../../src/store/types.js";
import { spyStore } from "../support/store-spy.js";
import { createFixture, type ImapFixture, message, SessionDriver } from "./fixtures.js";

let fixture: ImapFixture;
beforeEach(async () => {
  fixture = await createFixture();
});
afterEach(async () => {
  await fixture.cleanup();
});

async function session(): Promise<SessionDriver> {
  const driver = new SessionDriver(fixture);
  await driver.login();
  return driver;
}

/** UID and flags of every message, as `FETCH 1:* (UID FLAGS)` reports them. */
function uidsAndFlags(reply: string): string[] {
  return [...reply.matchAll(/^\* \d+ FETCH \(UID (\d+) FLAGS \(([^)]*)\)\)/gm)].map(
    (m) => `${m[1]} ${(m[2] ?? "").split(" ").filter(Boolean).sort().join(" ")}`,
  );
}

/** The fixture's store, noting every message id whose header block is asked of it. */
function countingStore(): { store: Store; asked: string[] } {
  const asked: string[] = [];
  const store = spyStore(fixture.store, {
    blobs: (blobs) => ({
      readHeaderBlocks: (ids) => {
        asked.push(...ids);
        return blobs.readHeaderBlocks(ids);
      },
    }),
  });
  return { store, asked };
}

/**
 * `count` messages m1, m2, … and a header cache with room for two of their blocks with their field
 * indexes (the test messages' headers differ by a digit at most), reading through countingStore().
 */
async function roomForTwo(count: number) {
  for (let n = 1; n <= count; n++) await fixture.deliver(message(`m${n}`));
  const ids = (await fixture.store.messages.listMessages(fixture.inbox.id)).map((m) => m.messageId);
  const one = (await fixture.store.blobs.readHeaderBlocks([ids[0]!])).get(ids[0]!)!;
  const size = one.length + fieldIndexBytes(indexFields(scanHeader(one, 0, one.length)));
  return { ids, ...countingStore(), cache: new HeaderBlockCache(size * 2 + 1) };
}

describe("the listing SELECT starts from", () => {
  test("a second SELECT shows the flag changes, expunges and new messages made since the first", async () => {
    for (let n = 1; n <= 5; n++) await fixture.deliver(message(`m${n}`));
    const reader = await session();
    assert.match(await reader.command("a SELECT INBOX"), /\* 5 EXISTS/);
    assert.match(await reader.command("b CLOSE"), /b OK/);

    const writer = await session();
    await writer.command("c SELECT INBOX");
    assert.match(await writer.command("d STORE 2 +FLAGS.SILENT (\\Flagged $Later)"), /d OK/);
    assert.match(await writer.command("e STORE 3 +FLAGS.SILENT (\\Deleted)"), /e OK/);
    assert.match(await writer.command("f EXPUNGE"), /\* 3 EXPUNGE/);
    await fixture.deliver(message("m6"), undefined, ["\\Seen"]);

    const select = await reader.command("g SELECT INBOX");
    assert.match(select, /\* 5 EXISTS/);
    assert.match(select, /OK \[UIDNEXT 7\]/);
    assert.match(select, /\* FLAGS \([^)]*\$Later/);
    const expected = ["1 ", "2 $Later \\Flagged", "4 ", "5 ", "6 \\Seen"];
    // The new message is recent to this session, the first to learn of it (RFC 3501 §2.3.2).
    assert.deepEqual(uidsAndFlags(await reader.command("h FETCH 1:* (UID FLAGS)")), [
      ...expected.slice(0, 4),
      "6 \\Recent \\Seen",
    ]);
    // A third session on the same store sees the same mailbox.
    const third = await session();
    assert.match(await third.command("i EXAMINE INBOX"), /\* 5 EXISTS/);
    assert.deepEqual(uidsAndFlags(await third.command("j FETCH 1:* (UID FLAGS)")), expected);
  });

  test("an unchanged mailbox is not listed again; a changed one only since its HIGHESTMODSEQ", async () => {
    for (let n = 1; n <= 4; n++) await fixture.deliver(message(`m${n}`));
    const calls: Array<number | undefined> = [];
    const store = spyStore(fixture.store, {
      messages: (messages) => ({
        listMessages: (mailboxId, options) => {
          calls.push(options?.sinceModseq);
          return messages.listMessages(mailboxId, options);
        },
      }),
    });
    const listings = new MailboxListings();
    const inbox = async () => (await fixture.store.mailboxes.getMailboxById(fixture.inbox.id))!;
    const first = await inbox();
    assert.equal((await listings.list(store, first)).length, 4);
    assert.equal((await listings.list(store, await inbox())).length, 4);
    assert.deepEqual(calls, [undefined]);
    await fixture.store.messages.updateFlags(fixture.inbox.id, [1], "add", ["\\Seen"]);
    const listed = await listings.list(store, await inbox());
    assert.deepEqual(calls, [undefined, first.highestModseq]);
    assert.deepEqual(listed[0]?.flags, ["\\Seen"]);
  });

  test("past its bound a listing is not kept", async () => {
    for (let n = 1; n <= 3; n++) await fixture.deliver(message(`m${n}`));
    let calls = 0;
    const store = spyStore(fixture.store, {
      messages: (messages) => ({
        listMessages: (mailboxId, options) => {
          calls++;
          return messages.listMessages(mailboxId, options);
        },
      }),
    });
    const listings = new MailboxListings(2);
    const inbox = (await fixture.store.mailboxes.getMailboxById(fixture.inbox.id))!;
    await listings.list(store, inbox);
    await listings.list(store, inbox);
    assert.equal(calls, 2);
  });
});

describe("the summary SELECT reports from a kept listing", () => {
  /** FLAGS, UNSEEN and HIGHESTMODSEQ as the store's own listing and mailbox row give them now. */
  async function expected(): Promise<{ keywords: string[]; unseen: number; modseq: number }> {
    const listed = await fixture.store.messages.listMessages(fixture.inbox.id);
    const row = (await fixture.store.mailboxes.getMailboxById(fixture.inbox.id))!;
    const keywords = [...new Set(listed.flatMap((m) => m.flags.filter((f) => !f.startsWith("\\"))))];
    const unseen = listed.findIndex((m) => !m.flags.includes("\\Seen")) + 1;
    const modseq = Math.max(row.highestModseq, ...listed.map((m) => m.modseq));
    return { keywords: keywords.sort(), unseen, modseq };
  }

  function reported(select: string): { keywords: string[]; unseen: number; modseq: number } {
    const flags = /^\* FLAGS \(([^)]*)\)/m.exec(select)?.[1] ?? "";
    return {
      keywords: flags
        .split(" ")
        .filter((f) => f !== "" && !f.startsWith("\\"))
        .sort(),
      unseen: Number(/OK \[UNSEEN (\d+)\]/.exec(select)?.[1] ?? 0),
      modseq: Number(/OK \[HIGHESTMODSEQ (\d+)\]/.exec(select)?.[1]),
    };
  }

  test("stays right across other sessions' flag changes, expunges and appends", async () => {
    for (let n = 1; n <= 5; n++) await fixture.deliver(message(`m${n}`), undefined, ["\\Seen"]);
    const reader = await session();
    const writer = await session();
    await writer.command("w0 SELECT INBOX");
    const changes = [
      "STORE 3 -FLAGS.SILENT (\\Seen)",
      "STORE 2 -FLAGS.SILENT (\\Seen $Later)",
      "STORE 2 +FLAGS.SILENT (\\Seen)",
      "STORE 3 +FLAGS.SILENT (\\Seen)",
      "STORE 4 +FLAGS.SILENT (\\Deleted)",
      "EXPUNGE",
      "STORE 1 -FLAGS.SILENT (\\Seen)",
      "STORE 1 +FLAGS.SILENT (\\Deleted)",
      "EXPUNGE",
      "APPEND INBOX (Other) {14}\r\nSubject: x\r\n\r\n",
      "STORE 2 -FLAGS.SILENT ($Later)",
    ];
    assert.deepEqual(reported(await reader.command("r0 SELECT INBOX")), await expected());
    for (const [i, change] of changes.entries()) {
      assert.match(await writer.command(`w${i + 1} ${change}`), new RegExp(`w${i + 1} OK`));
      // Twice: the second SELECT finds the listing the first one brought up to date, with its summary.
      for (const again of ["a", "b"]) {
        const select = await reader.command(`r${i + 1}${again} SELECT INBOX`);
        assert.deepEqual(reported(select), await expected(), `after ${change} (${again})`);
      }
    }
  });
});

describe("a FETCH of a few messages", () => {
  test("in a changed mailbox reads their range rather than bring the kept listing up to date", async () => {
    for (let n = 1; n <= 40; n++) await fixture.deliver(message(`m${n}`));
    const calls: Array<ListMessagesOptions | undefined> = [];
    const store = spyStore(fixture.store, {
      messages: (messages) => ({
        listMessages: (mailboxId, options) => {
          calls.push(options);
          return messages.listMessages(mailboxId, options);
        },
      }),
    });
    const reader = new SessionDriver(fixture, { store });
    await reader.login();
    await reader.command("a SELECT INBOX");
    assert.equal(uidsAndFlags(await reader.command("b FETCH 1:* (UID FLAGS)")).length, 40);
    const writer = await session();
    await writer.command("w1 SELECT INBOX");
    assert.match(await writer.command("w2 STORE 12 +FLAGS.SILENT (\\Flagged)"), /w2 OK/);
    calls.length = 0;
    const few = uidsAndFlags(await reader.command("c UID FETCH 10:14 (UID FLAGS)"));
    assert.deepEqual(few, [
      "10 \\Recent",
      "11 \\Recent",
      "12 \\Flagged \\Recent",
      "13 \\Recent",
      "14 \\Recent",
    ]);
    assert.deepEqual(
      calls.filter((options) => options?.uidFrom === 10),
      [{ uidFrom: 10, uidTo: 14 }],
    );
    assert.equal(
      calls.filter((options) => options?.sinceModseq !== undefined && options.uidFrom === undefined).length,
      0,
    );
  });
});

describe("kept header blocks", () => {
  test("are read from the store once, and the oldest kept go past the bound", async () => {
    const { ids, store, asked, cache } = await roomForTwo(3);
    const first = await cache.read(store, ids);
    assert.equal(first.size, 3);
    assert.ok(first.get(ids[1]!)?.block.toString("latin1").includes("Subject: m2\r\n"));
    asked.length = 0;
    const again = await cache.read(store, [ids[1]!, ids[2]!]);
    assert.deepEqual(asked, []);
    assert.deepEqual(again, new Map([ids[1]!, ids[2]!].map((id) => [id, first.get(id)])));
    await cache.read(store, [ids[0]!]);
    assert.deepEqual(asked, [ids[0]]);
  });
});

describe("kept HEADER.FIELDS answers", () => {
  test("are the answer for their own field list only: other lists, kinds and messages are cut afresh", async () => {
    await fixture.deliver(message("one", "body\r\n", "X-Tag: a\r\n"));
    await fixture.deliver(message("two"));
    const reader = await session();
    await reader.command("a SELECT INBOX");
    const fields = (reply: string) => [...reply.matchAll(/\{\d+\}\r\n([\s\S]*?)\r\n\r\n/g)].map((m) => m[1]);
    const subjects = ["Subject: one", "Subject: two"];
    assert.deepEqual(
      fields(await reader.command("b FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")),
      subjects,
    );
    // The same list in another case and order, then again as it was: the kept answer.
    assert.deepEqual(
      fields(await reader.command("c FETCH 1:* (BODY.PEEK[HEADER.FIELDS (subject)])")),
      subjects,
    );
    assert.deepEqual(fields(await reader.command("d FETCH 1 (BODY.PEEK[HEADER.FIELDS (X-TAG SUBJECT)])")), [
      "Subject: one\r\nX-Tag: a",
    ]);
    assert.deepEqual(fields(await reader.command("e FETCH 1 (BODY.PEEK[HEADER.FIELDS (subject x-tag)])")), [
      "Subject: one\r\nX-Tag: a",
    ]);
    const not = await reader.command("f FETCH 2 (BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT)])");
    assert.doesNotMatch(not, /Subject:/);
    assert.match(not, /From: Bob/);
    assert.deepEqual(fields(await reader.command("g FETCH 2 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")), [
      "Subject: two",
    ]);
  });

  test("count towards the bound, so keeping them drops the oldest blocks", async () => {
    // Room for both blocks, not for an answer besides.
    const { ids, store, asked, cache } = await roomForTwo(2);
    const kept = await cache.read(store, ids);
    const section = { text: "HEADER.FIELDS" as const, fields: ["Subject"] };
    assert.equal(cache.topHeader(kept.get(ids[1]!)!, section).toString("latin1"), "Subject: m2\r\n\r\n");
    asked.length = 0;
    await cache.read(store, ids);
    assert.deepEqual(asked, [ids[0]]);
  });
});
