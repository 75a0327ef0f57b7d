// SORT and THREAD through an IMAP session on a real store: parsing, header facts read from stored
// header sections, UID forms, search criteria, errors, and the capabilities that announce them.

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { createFixture, type ImapFixture, SessionDriver } from "../fixtures.js";

let fixture: ImapFixture;
beforeEach(async () => {
  fixture = await createFixture();
});
afterEach(async () => {
  await fixture.cleanup();
});

function mail(headers: Record<string, string>, body = "Hi.\r\n"): string {
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return `${lines.join("")}\r\n${body}`;
}

async function session(): Promise<SessionDriver> {
  const driver = new SessionDriver(fixture);
  await driver.login();
  assert.match(await driver.command("S1 SELECT INBOX"), /S1 OK/);
  return driver;
}

describe("IMAP SORT and THREAD (RFC 5256)", () => {
  beforeEach(async () => {
    await fixture.deliver(
      mail({
        From: '"Zed" <zed@example.org>',
        To: "alice@example.test",
        Subject: "Plans",
        Date: "Tue, 06 Feb 2024 09:00:00 +0100 (CET)",
        "Message-ID": "<plans@example.org>",
      }),
    );
    await fixture.deliver(
      mail({
        From: "amy@example.org",
        To: "bob@example.org",
        Subject: "Re: Plans",
        Date: "Tue, 06 Feb 2024 07:30:00 -0000",
        "Message-ID": "<reply@example.org>",
        "In-Reply-To": "<plans@example.org>",
      }),
    );
    await fixture.deliver(
      mail({
        From: "=?utf-8?q?=C3=89mile?= <emile@example.org>",
        To: "alice@example.test",
        Cc: "carl@example.org",
        Subject: "[team] Agenda",
        Date: "not a date",
        "Message-ID": "<agenda@example.org>",
      }),
      undefined,
      ["\\Seen"],
    );
  });

  test("CAPABILITY announces SORT, SORT=DISPLAY and both threading algorithms", async () => {
    const driver = await session();
    const caps = await driver.command("C1 CAPABILITY");
    for (const cap of ["SORT", "SORT=DISPLAY", "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES"]) {
      assert.match(caps, new RegExp(` ${cap}[ \\r]`));
    }
  });

  test("SORT by sent date (in UTC; an unreadable Date falls back to the internal date), subject, from, display name", async () => {
    const driver = await session();
    // Message 2 was sent 07:30 UTC, message 1 08:00 UTC; message 3's Date is unreadable, so its internal
    // date (2024-02-01) counts.
    assert.match(await driver.command("A1 SORT (DATE) UTF-8 ALL"), /\* SORT 3 2 1\r\nA1 OK SORT completed/);
    assert.match(await driver.command("A2 SORT (REVERSE DATE) UTF-8 ALL"), /\* SORT 1 2 3\r\n/);
    // Base subjects "agenda", "plans", "plans": ties keep mailbox order.
    assert.match(await driver.command("A3 SORT (SUBJECT) US-ASCII ALL"), /\* SORT 3 1 2\r\n/);
    // addr-mailbox: amy, emile, zed.
    assert.match(await driver.command("A4 SORT (FROM) UTF-8 ALL"), /\* SORT 2 3 1\r\n/);
    // Display names: "amy@example.org" (no name), "Émile" (decoded, folded and decomposed: "e" first), "Zed".
    assert.match(await driver.command("A5 SORT (DISPLAYFROM) UTF-8 ALL"), /\* SORT 2 3 1\r\n/);
    // Missing Cc sorts first; ties in mailbox order.
    assert.match(await driver.command("A6 SORT (CC) UTF-8 ALL"), /\* SORT 1 2 3\r\n/);
    assert.match(await driver.command("A7 SORT (TO SUBJECT) UTF-8 ALL"), /\* SORT 3 1 2\r\n/);
  });

  test("UID SORT answers UIDs, and the search criteria choose the messages", async () => {
    const driver = await session();
    const uids = (await driver.command("U0 UID SEARCH ALL")).match(/\* SEARCH ([\d ]+)\r\n/)?.[1]?.split(" ");
    assert.ok(uids && uids.length === 3);
    // The fixture gives every message one internal date: the tie keeps mailbox order, REVERSE or not.
    assert.match(
      await driver.command("U1 UID SORT (REVERSE ARRIVAL) UTF-8 UNSEEN"),
      new RegExp(`\\* SORT ${uids[0]} ${uids[1]}\\r\\nU1 OK UID SORT completed`),
    );
    assert.match(await driver.command("U2 SORT (SIZE) UTF-8 SUBJECT nothing-like-this"), /\* SORT\r\nU2 OK/);
  });

  test("THREAD REFERENCES links the reply; ORDEREDSUBJECT groups by base subject", async () => {
    const driver = await session();
    assert.match(
      await driver.command("T1 THREAD REFERENCES UTF-8 ALL"),
      /\* THREAD \(3\)\(1 2\)\r\nT1 OK THREAD completed/,
    );
    // ORDEREDSUBJECT orders within a thread by sent date: the reply (07:30 UTC) came first.
    assert.match(await driver.command("T2 THREAD ORDEREDSUBJECT UTF-8 ALL"), /\* THREAD \(3\)\(2 1\)\r\n/);
    const uids = (await driver.command("T3 UID SEARCH ALL")).match(/\* SEARCH ([\d ]+)\r\n/)?.[1]?.split(" ");
    assert.ok(uids);
    assert.match(
      await driver.command("T4 UID THREAD REFERENCES UTF-8 UNSEEN"),
      new RegExp(`\\* THREAD \\(${uids[0]} ${uids[1]}\\)\\r\\n`),
    );
    assert.match(await driver.command("T5 THREAD REFERENCES UTF-8 DELETED"), /\* THREAD\r\nT5 OK/);
  });

  test("bad input: unknown keys and algorithms are BAD, an unknown charset is NO [BADCHARSET], nothing changes", async () => {
    const driver = await session();
    assert.match(await driver.command("B1 SORT (COLOR) UTF-8 ALL"), /B1 BAD .*unknown sort key COLOR/);
    assert.match(await driver.command("B2 SORT (REVERSE) UTF-8 ALL"), /B2 BAD /);
    assert.match(await driver.command("B3 SORT () UTF-8 ALL"), /B3 BAD /);
    assert.match(await driver.command("B4 SORT (DATE) ALL"), /B4 (BAD|NO) /);
    assert.match(await driver.command("B5 SORT (DATE) KOI8-R ALL"), /B5 NO \[BADCHARSET/);
    assert.match(
      await driver.command("B6 THREAD SPAGHETTI UTF-8 ALL"),
      /B6 BAD .*unknown threading algorithm/,
    );
    assert.match(await driver.command("B7 SORT (DATE) UTF-8"), /B7 BAD /);
    assert.match(await driver.command("B8 FETCH 1:* (FLAGS)"), /\* 3 FETCH \(FLAGS \(\\Seen( \\Recent)?\)\)/);
    const fresh = new SessionDriver(fixture);
    await fresh.login();
    assert.match(await fresh.command("N1 SORT (DATE) UTF-8 ALL"), /N1 BAD /);
  });
});
