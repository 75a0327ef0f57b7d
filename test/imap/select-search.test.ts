// SEARCH answered in rounds (view, header blocks, bodies), SELECT's QRESYNC seq-match-data, SEARCH's
// MODSEQ forms, and subscriptions that outlive their mailbox (\NonExistent).

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { matches } from "../../src/imap/search/evaluate.js";
import type { SearchKey } from "../../src/imap/search/types.js";
import type { Store } from "../../src/store/types.js";
import { spyStore } from "../support/store-spy.js";
import { createFixture, type ImapFixture, message, SessionDriver } from "./fixtures.js";

let fixture: ImapFixture;
beforeEach(async () => {
  fixture = await createFixture();
});
afterEach(async () => {
  await fixture.cleanup();
});

interface Counts {
  blobReads: number;
  headerCalls: number;
  headerIds: number;
}

/** The fixture's store, counting body and header-block reads; `hideHeaders` ids get no header block. */
function countingStore(
  store: Store,
  hideHeaders: ReadonlySet<string> = new Set(),
): { store: Store; counts: Counts } {
  const counts: Counts = { blobReads: 0, headerCalls: 0, headerIds: 0 };
  const wrapped = spyStore(store, {
    blobs: (blobs) => ({
      readBlob: (id) => {
        counts.blobReads++;
        return blobs.readBlob(id);
      },
      readBlobBytes: (id) => {
        counts.blobReads++;
        return blobs.readBlobBytes(id);
      },
      readHeaderBlocks: async (ids) => {
        counts.headerCalls++;
        counts.headerIds += ids.length;
        const blocks = await blobs.readHeaderBlocks(ids);
        for (const id of hideHeaders) blocks.delete(id);
        return blocks;
      },
    }),
  });
  return { store: wrapped, counts };
}

async function session(store: Store = fixture.store): Promise<SessionDriver> {
  const driver = new SessionDriver({ ...fixture, store });
  await driver.login();
  assert.match(await driver.command("S1 SELECT INBOX"), /S1 OK \[READ-WRITE\]/);
  return driver;
}

/** Eight messages; subjects, bodies, flags and sizes chosen so keys split them differently. */
async function deliverMix(): Promise<void> {
  const mix: Array<[string, string, string[]]> = [
    ["Quarterly report", "Numbers are up.\r\n", ["\\Seen"]],
    ["Lunch", "Pizza on friday?\r\n", []],
    ["=?UTF-8?B?UXVhcnRlcmx5IMO8YmVyc2ljaHQ=?=", "Encoded subject.\r\n", ["\\Seen", "$Work"]],
    ["Holiday", "quarterly plans inside the body\r\n", []],
    ["quarterly review", `${"long line of text\r\n".repeat(400)}`, ["\\Flagged"]],
    ["Invoice", "Pay by Monday.\r\n", ["\\Seen"]],
    ["Re: Lunch", "Pizza it is.\r\n", ["$Work"]],
    ["Status", "All quiet.\r\n", []],
  ];
  for (const [subject, body, flags] of mix) await fixture.deliver(message(subject, body), undefined, flags);
}

/** Waits until the index keeps every INBOX body's words (a search hands them over after its answer). */
async function wordsKept(): Promise<void> {
  for (let tries = 0; ; tries++) {
    const { unkept } = await fixture.store.search.cannotMatch(fixture.userId, fixture.inbox.id, ["x"]);
    if (unkept.length === 0) return;
    assert.ok(tries < 200, "the search's words are kept");
    await delay(10);
  }
}

function searchNumbers(reply: string): number[] {
  const line = /^\* SEARCH([^\r(]*)/m.exec(reply);
  assert.ok(line, `no SEARCH response in ${reply}`);
  return (line[1] ?? "").trim() === "" ? [] : (line[1] ?? "").trim().split(" ").map(Number);
}

describe("SEARCH reads only what its keys need", () => {
  test("header keys are answered from header blocks, without reading a body", async () => {
    await deliverMix();
    const { store, counts } = countingStore(fixture.store);
    const driver = await session(store);
    assert.deepEqual(searchNumbers(await driver.command('a UID SEARCH SUBJECT "quarterly"')), [1, 3, 5]);
    assert.deepEqual(searchNumbers(await driver.command('b SEARCH HEADER Message-ID "<lunch@"')), [2]);
    assert.deepEqual(
      searchNumbers(await driver.command("c SEARCH SENTON 1-Feb-2024 FROM bob TO alice")),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    assert.equal(counts.blobReads, 0);
    // The first search reads the header blocks; the others find them kept (src/imap/caches.ts).
    assert.equal(counts.headerCalls, 1);
    assert.equal(counts.headerIds, 8);
  });

  test("flag, size and date keys read neither header blocks nor bodies", async () => {
    await deliverMix();
    const { store, counts } = countingStore(fixture.store);
    const driver = await session(store);
    assert.deepEqual(searchNumbers(await driver.command("a SEARCH UNSEEN")), [2, 4, 5, 7, 8]);
    assert.deepEqual(searchNumbers(await driver.command("b SEARCH LARGER 2000")), [5]);
    assert.deepEqual(searchNumbers(await driver.command("c SEARCH KEYWORD $Work SINCE 1-Feb-2024")), [3, 7]);
    assert.deepEqual(counts, { blobReads: 0, headerCalls: 0, headerIds: 0 });
  });

  test("a message without a stored header block falls back to its body", async () => {
    await deliverMix();
    const listed = await fixture.store.messages.listMessages(fixture.inbox.id);
    const hidden = new Set([listed[0]?.messageId ?? "", listed[3]?.messageId ?? ""]);
    const { store, counts } = countingStore(fixture.store, hidden);
    const driver = await session(store);
    assert.deepEqual(searchNumbers(await driver.command('a SEARCH SUBJECT "quarterly"')), [1, 3, 5]);
    assert.equal(counts.blobReads, 2);
  });

  test("body keys read only the bodies the index cannot rule out; cheaper keys ANDed spare more", async () => {
    await deliverMix();
    const { store, counts } = countingStore(fixture.store);
    const driver = await session(store);
    // The first search reads every body, and keeps each one's words in the index for the next.
    assert.deepEqual(searchNumbers(await driver.command('a SEARCH BODY "quarterly"')), [4]);
    assert.equal(counts.blobReads, 8);
    counts.blobReads = 0;
    // The words kept are those of everything TEXT searches, header fields included, so the four
    // messages with "quarterly" in a subject or body are read (one matches), the others not.
    await wordsKept();
    assert.deepEqual(searchNumbers(await driver.command('a1 SEARCH BODY "quarterly"')), [4]);
    assert.equal(counts.blobReads, 4);
    counts.blobReads = 0;
    assert.deepEqual(searchNumbers(await driver.command('a2 SEARCH TEXT "uarterl"')), [1, 3, 4, 5]);
    assert.equal(counts.blobReads, 4);
    counts.blobReads = 0;
    assert.deepEqual(searchNumbers(await driver.command('a3 SEARCH BODY "walrus"')), []);
    assert.equal(counts.blobReads, 0);
    // Three messages are \Seen, and of them only the first has "numbers".
    assert.deepEqual(searchNumbers(await driver.command('b SEARCH SEEN BODY "numbers"')), [1]);
    assert.equal(counts.blobReads, 1);
    counts.blobReads = 0;
    // The subject decides first (from header blocks); only the two lunch messages' bodies are read.
    assert.deepEqual(searchNumbers(await driver.command('c SEARCH BODY "pizza" SUBJECT "lunch"')), [2, 7]);
    assert.equal(counts.blobReads, 2);
    counts.blobReads = 0;
    // OR: a true cheap side decides without the body.
    assert.deepEqual(searchNumbers(await driver.command('d SEARCH OR FLAGGED TEXT "friday"')), [2, 5]);
    assert.equal(counts.blobReads, 7);
  });

  test("results equal evaluating every key over the whole stored message", async () => {
    await deliverMix();
    const driver = await session();
    const programs: Array<[string, SearchKey]> = [
      ['SUBJECT "quarterly"', { type: "header", field: "subject", value: "quarterly" }],
      ['NOT SUBJECT "lunch"', { type: "not", key: { type: "header", field: "subject", value: "lunch" } }],
      [
        'OR BODY "pizza" SUBJECT "invoice"',
        {
          type: "or",
          left: { type: "body", value: "pizza" },
          right: { type: "header", field: "subject", value: "invoice" },
        },
      ],
      [
        'TEXT "bob" UNSEEN',
        {
          type: "and",
          keys: [
            { type: "text", value: "bob" },
            { type: "flag", flag: "\\Seen", set: false },
          ],
        },
      ],
      [
        "NOT SENTBEFORE 1-Feb-2024 LARGER 300",
        {
          type: "and",
          keys: [
            { type: "not", key: { type: "sentDate", op: "before", date: { year: 2024, month: 2, day: 1 } } },
            { type: "size", op: "larger", octets: 300 },
          ],
        },
      ],
      ['HEADER X-Missing ""', { type: "header", field: "x-missing", value: "" }],
    ];
    const listed = await fixture.store.messages.listMessages(fixture.inbox.id);
    for (const [program, key] of programs) {
      const expected: number[] = [];
      for (const [index, m] of listed.entries()) {
        const bytes = await fixture.store.blobs.readBlobBytes(m.messageId);
        const hit = matches(
          key,
          { ...m, seq: index + 1, body: () => bytes },
          { maxSeq: listed.length, maxUid: m.uid },
        );
        if (hit) expected.push(index + 1);
      }
      assert.deepEqual(searchNumbers(await driver.command(`t SEARCH ${program}`)), expected, program);
    }
  });

  test("flags another session changed count at once, and are still reported as FETCH after", async () => {
    await deliverMix();
    const first = await session();
    const second = await session();
    await second.command("a STORE 2 +FLAGS (\\Seen)");
    const reply = await first.command("b SEARCH UNSEEN");
    assert.deepEqual(searchNumbers(reply), [4, 5, 7, 8]);
    // The first session to select the mailbox is the one that sees the messages as recent.
    assert.match(reply, /\* 2 FETCH \(FLAGS \(\\Seen \\Recent\)\)\r\nb OK/);
    // A message expunged by the other session is no longer found, and not announced during SEARCH.
    await second.command("c STORE 8 +FLAGS.SILENT (\\Deleted)");
    await second.command("d EXPUNGE");
    const after = await first.command("e SEARCH UNSEEN");
    assert.deepEqual(searchNumbers(after), [4, 5, 7]);
    assert.doesNotMatch(after, /EXPUNGE/);
  });
});

describe("SEARCH and MODSEQ (RFC 7162 §3.1.5, RFC 4731 §3.2)", () => {
  async function prepared(): Promise<{ driver: SessionDriver; base: number; modseqs: number[] }> {
    for (const s of ["a", "b", "c", "d"]) await fixture.deliver(message(s));
    const base = (await fixture.store.mailboxes.mailboxStatus(fixture.inbox.id)).highestModseq;
    // Later changes get higher MODSEQs: message 3, then 2.
    await fixture.store.messages.updateFlags(fixture.inbox.id, [3], "add", ["\\Flagged"]);
    await fixture.store.messages.updateFlags(fixture.inbox.id, [2], "add", ["\\Flagged"]);
    const modseqs = (await fixture.store.messages.listMessages(fixture.inbox.id)).map((m) => m.modseq);
    return { driver: await session(), base, modseqs };
  }

  test("SEARCH and UID SEARCH append the highest MODSEQ of the matches, and none when nothing matches", async () => {
    const { driver, base, modseqs } = await prepared();
    // The first MODSEQ search turns CONDSTORE on, which is announced first (RFC 7162 §3.1).
    assert.match(
      await driver.command(`a SEARCH MODSEQ ${base + 1}`),
      new RegExp(
        `^\\* OK \\[HIGHESTMODSEQ ${modseqs[1]}\\] .*\r\n\\* SEARCH 2 3 \\(MODSEQ ${modseqs[1]}\\)\r\n`,
      ),
    );
    assert.match(
      await driver.command(`b UID SEARCH MODSEQ ${base + 1} NOT UID 2`),
      new RegExp(`^\\* SEARCH 3 \\(MODSEQ ${modseqs[2]}\\)\r\n`),
    );
    assert.match(await driver.command(`c SEARCH MODSEQ ${base + 100}`), /^\* SEARCH\r\nc OK/);
    // Without the MODSEQ criterion there is no MODSEQ, CONDSTORE or not.
    assert.match(await driver.command("d SEARCH FLAGGED"), /^\* SEARCH 2 3\r\n/);
  });

  test("ESEARCH: MODSEQ of the MIN/MAX messages alone, of every match with ALL or COUNT", async () => {
    const { driver, base, modseqs } = await prepared();
    assert.match(
      await driver.command(`a UID SEARCH RETURN (MIN) MODSEQ ${base + 1}`),
      new RegExp(
        `^\\* OK \\[HIGHESTMODSEQ \\d+\\] .*\r\n\\* ESEARCH \\(TAG "a"\\) UID MIN 2 MODSEQ ${modseqs[1]}\r\n`,
      ),
    );
    assert.match(
      await driver.command(`b SEARCH RETURN (MAX) MODSEQ ${base + 1}`),
      new RegExp(`^\\* ESEARCH \\(TAG "b"\\) MAX 3 MODSEQ ${modseqs[2]}\r\n`),
    );
    assert.match(
      await driver.command(`c SEARCH RETURN (MAX COUNT) MODSEQ ${base + 1}`),
      new RegExp(`^\\* ESEARCH \\(TAG "c"\\) MAX 3 COUNT 2 MODSEQ ${modseqs[1]}\r\n`),
    );
    assert.match(
      await driver.command(`d SEARCH RETURN (COUNT) MODSEQ ${base + 100}`),
      /^\* ESEARCH \(TAG "d"\) COUNT 0\r\n/,
    );
    // IMAP4rev2: every SEARCH answers with ESEARCH, RETURN (ALL) implied (RFC 9051 §6.4.4).
    assert.match(await driver.command("e ENABLE IMAP4rev2"), /ENABLED IMAP4REV2/i);
    assert.match(
      await driver.command(`f SEARCH MODSEQ ${base + 1}`),
      new RegExp(`^\\* ESEARCH \\(TAG "f"\\) ALL 2:3 MODSEQ ${modseqs[1]}\r\n`),
    );
    assert.match(
      await driver.command(`g UID SEARCH MODSEQ ${base + 100}`),
      /^\* ESEARCH \(TAG "g"\) UID\r\n/,
    );
  });

  test("SAVE with MIN keeps only the minimum (RFC 5182 §2.4); with COUNT, every match", async () => {
    const { driver } = await prepared();
    assert.match(
      await driver.command("a SEARCH RETURN (SAVE MIN) FLAGGED"),
      /^\* ESEARCH \(TAG "a"\) MIN 2\r\n/,
    );
    assert.deepEqual(searchNumbers(await driver.command("b SEARCH $")), [2]);
    assert.match(await driver.command("c SEARCH RETURN (SAVE COUNT) FLAGGED"), /COUNT 2\r\n/);
    assert.deepEqual(searchNumbers(await driver.command("d SEARCH $")), [2, 3]);
    assert.equal(await driver.command("e SEARCH RETURN (SAVE) UNFLAGGED"), "e OK SEARCH completed\r\n");
    assert.deepEqual(searchNumbers(await driver.command("f UID SEARCH $")), [1, 4]);
  });
});

describe("SELECT with QRESYNC seq-match-data (RFC 7162 §3.2.5.2)", () => {
  /**
   * Ten messages; the client saw UID 3 expunged (so it knows 1,2,4:10 as messages 1–9) but its MODSEQ is
   * older than that expunge. Then UID 8 is expunged too. Returns the client's MODSEQ.
   */
  async function history(): Promise<number> {
    for (let i = 1; i <= 10; i++) await fixture.deliver(message(`m${i}`));
    const modseq = (await fixture.store.mailboxes.mailboxStatus(fixture.inbox.id)).highestModseq;
    await fixture.store.messages.expunge(fixture.inbox.id, [3]);
    await fixture.store.messages.expunge(fixture.inbox.id, [8]);
    return modseq;
  }

  async function qresyncSelect(params: string): Promise<string> {
    const driver = new SessionDriver(fixture);
    await driver.login();
    await driver.command("a ENABLE QRESYNC");
    return driver.command(`b SELECT INBOX (QRESYNC (${fixture.inbox.uidValidity} ${params}))`);
  }

  test("without it every expunge since the MODSEQ is reported", async () => {
    const modseq = await history();
    assert.match(await qresyncSelect(`${modseq} 1:10`), /\* VANISHED \(EARLIER\) 3,8\r\n/);
  });

  test("a matching pair means nothing below its UID vanished unseen", async () => {
    const modseq = await history();
    // The client's message 5 is UID 6 — still so — and message 8 is UID 9, now message 7.
    const reply = await qresyncSelect(`${modseq} 1:10 (2,5,8 2,6,9)`);
    assert.match(reply, /\* VANISHED \(EARLIER\) 8\r\n/);
    assert.match(reply, /b OK \[READ-WRITE\]/);
    // Ranges pair up element by element: 1:2,4:5 with 1:2,5:6 — message 4 is UID 6 (matches).
    assert.match(await qresyncSelect(`${modseq} 1:10 (1:2,4:5 1:2,5:6)`), /\* VANISHED \(EARLIER\) 8\r\n/);
    // No pair matches (the client's view is wrong from message 3 on): the full answer.
    assert.match(await qresyncSelect(`${modseq} 1:10 (3,4 3,4)`), /\* VANISHED \(EARLIER\) 3,8\r\n/);
    // A pair past the end of the mailbox is skipped, whatever its size.
    assert.match(
      await qresyncSelect(`${modseq} 1:10 (2,4000000000 2,4000000000)`),
      /\* VANISHED \(EARLIER\) 3,8\r\n/,
    );
  });

  test("malformed seq-match-data is BAD and selects nothing", async () => {
    const modseq = await history();
    assert.match(await qresyncSelect(`${modseq} 1:10 (1:3 1:2)`), /b BAD .*known-sequence-set has 3 numbers/);
    assert.match(await qresyncSelect(`${modseq} 1:10 (1,* 1,2)`), /b BAD .*cannot contain \*/);
    assert.match(await qresyncSelect(`${modseq} 1:10 (5,2 6,2)`), /b BAD .*ascending order/);
  });
});

describe("subscriptions outlive their mailbox (RFC 9051 §6.3.9, RFC 5258 §3.4)", () => {
  test("LIST (SUBSCRIBED) shows a deleted subscribed mailbox as \\NonExistent; UNSUBSCRIBE removes it", async () => {
    const driver = new SessionDriver(fixture);
    await driver.login();
    await driver.command("a CREATE Projects/Old");
    await driver.command("b CREATE Projects/New");
    await driver.command("c SUBSCRIBE Projects/Old");
    await driver.command("d SUBSCRIBE Projects");
    await driver.command("e SUBSCRIBE Projects/New");
    assert.match(await driver.command("f DELETE Projects/Old"), /f OK/);
    const subscribed = await driver.command('g LIST (SUBSCRIBED) "" "Projects*"');
    assert.match(subscribed, /\* LIST \(\\HasChildren \\Subscribed\) "\/" "Projects"\r\n/);
    assert.match(subscribed, /\* LIST \(\\HasNoChildren \\Subscribed\) "\/" "Projects\/New"\r\n/);
    assert.match(
      subscribed,
      /\* LIST \(\\NonExistent \\HasNoChildren \\Subscribed\) "\/" "Projects\/Old"\r\n/,
    );
    // Without the SUBSCRIBED selection only existing mailboxes are listed; RETURN (SUBSCRIBED) marks them.
    const all = await driver.command('h LIST "" "Projects*" RETURN (SUBSCRIBED)');
    assert.match(all, /\* LIST \(\\HasNoChildren \\Subscribed\) "\/" "Projects\/New"\r\n/);
    assert.doesNotMatch(all, /Projects\/Old/);
    assert.match(
      await driver.command('i LSUB "" "Projects/*"'),
      /\* LSUB \(\\Noselect \\HasNoChildren\) "\/" "Projects\/Old"\r\n/,
    );
    // A \NonExistent name gets no STATUS (RFC 5819).
    const withStatus = await driver.command('j LIST (SUBSCRIBED) "" "Projects/*" RETURN (STATUS (MESSAGES))');
    assert.match(withStatus, /\* STATUS "Projects\/New" \(MESSAGES 0\)/);
    assert.doesNotMatch(withStatus, /STATUS "Projects\/Old"/);
    assert.match(await driver.command("k UNSUBSCRIBE Projects/Old"), /k OK/);
    assert.doesNotMatch(await driver.command('l LIST (SUBSCRIBED) "" "*"'), /Projects\/Old/);
  });

  test("SUBSCRIBE to a name with no mailbox is refused with NONEXISTENT", async () => {
    const driver = new SessionDriver(fixture);
    await driver.login();
    assert.match(await driver.command("a SUBSCRIBE Nowhere"), /a NO \[NONEXISTENT\]/);
    assert.doesNotMatch(await driver.command('b LSUB "" *'), /Nowhere/);
  });
});
