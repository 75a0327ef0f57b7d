// SAVEDATE (RFC 8514) through the sans-IO session on a real store: FETCH SAVEDATE is when the message
// entered the mailbox (APPEND, COPY, MOVE, delivery), not its internal date, and SEARCH SAVED* keys use it.

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { createFixture, type ImapFixture, message, SessionDriver } from "./fixtures.js";

let fixture: ImapFixture;
beforeEach(async () => {
  fixture = await createFixture();
});
afterEach(async () => {
  await fixture.cleanup();
});

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
/** An IMAP search date (RFC 9051 date), in UTC as the server compares them. */
const imapDay = (date: Date) => `${date.getUTCDate()}-${MONTHS[date.getUTCMonth()]}-${date.getUTCFullYear()}`;

describe("IMAP SAVEDATE (RFC 8514)", () => {
  test("APPEND with an old date: INTERNALDATE is the client's, SAVEDATE is the store's, SEARCH SAVED* agree", async () => {
    const driver = new SessionDriver(fixture);
    await driver.login();
    assert.match(await driver.command("C1 CAPABILITY"), / SAVEDATE /);
    const raw = message("old");
    assert.match(
      await driver.send(`a APPEND INBOX "17-Jul-1996 02:44:25 -0700" {${raw.length}+}\r\n${raw}\r\n`),
      /^a OK /,
    );
    await driver.command("s SELECT INBOX");
    const stored = await fixture.store.messages.getMessage(fixture.inbox.id, 1);
    assert.ok(stored);
    assert.ok(stored.savedDate.getTime() > Date.UTC(2020, 0, 1), "saved now, not in 1996");
    const fetched = await driver.command("f FETCH 1 (INTERNALDATE SAVEDATE)");
    const match = /INTERNALDATE "([^"]+)" SAVEDATE "([^"]+)"/.exec(fetched);
    assert.ok(match, fetched);
    assert.equal(match[1], "17-Jul-1996 09:44:25 +0000");
    assert.equal(new Date(match[2] ?? "").getTime(), Math.floor(stored.savedDate.getTime() / 1000) * 1000);
    const today = imapDay(stored.savedDate);
    assert.match(await driver.command(`q1 SEARCH SAVEDON ${today}`), /^\* SEARCH 1\r\n/);
    assert.match(await driver.command(`q2 SEARCH SAVEDBEFORE ${today}`), /^\* SEARCH\r\n/);
    assert.match(
      await driver.command("q3 SEARCH SAVEDSINCE 1-Jan-2000 SAVEDATESUPPORTED"),
      /^\* SEARCH 1\r\n/,
    );
    assert.match(await driver.command("q4 SEARCH ON 17-Jul-1996"), /^\* SEARCH 1\r\n/);
    assert.match(await driver.command(`q5 SEARCH ON ${today}`), /^\* SEARCH\r\n/);
  });

  test("COPY and MOVE give the copy a save date of its own; delivery is saved at delivery", async () => {
    const uid = await fixture.deliver(message("delivered"));
    const before = await fixture.store.messages.getMessage(fixture.inbox.id, uid);
    assert.ok(before);
    // The fixture delivers with a fixed internal date in 2024; the save date is the delivery's own.
    assert.equal(before.internalDate.toISOString(), "2024-02-01T10:00:00.000Z");
    assert.notEqual(before.savedDate.toISOString(), before.internalDate.toISOString());
    const driver = new SessionDriver(fixture);
    await driver.login();
    await driver.command("s SELECT INBOX");
    await driver.command("c UID COPY 1 Archive");
    const copied = await driver.command("x EXAMINE Archive");
    assert.match(copied, /\* 1 EXISTS/);
    const fetched = await driver.command("f FETCH 1 (SAVEDATE)");
    assert.match(fetched, /^\* 1 FETCH \(SAVEDATE "\d{2}-[A-Z][a-z]{2}-\d{4} \d{2}:\d{2}:\d{2} \+0000"\)/);
    const archive = await fixture.store.mailboxes.getMailbox(fixture.userId, "Archive");
    const copy = await fixture.store.messages.getMessage(archive?.id ?? 0, 1);
    assert.ok(copy && copy.savedDate.getTime() >= before.savedDate.getTime());
  });
});
