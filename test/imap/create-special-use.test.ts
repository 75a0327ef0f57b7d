// CREATE-SPECIAL-USE (RFC 6154 §3) in an IMAP session on a real store: the attribute shows in LIST, the
// refusals are NO [USEATTR] and create nothing.

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { createFixture, type ImapFixture, SessionDriver } from "./fixtures.js";

let fixture: ImapFixture;
beforeEach(async () => {
  fixture = await createFixture();
});
afterEach(async () => {
  await fixture.cleanup();
});

describe("IMAP CREATE-SPECIAL-USE (RFC 6154 §3)", () => {
  test("CREATE with USE gives the mailbox its special use; LIST shows it", async () => {
    const driver = new SessionDriver(fixture);
    await driver.login();
    assert.match(await driver.command("C0 CAPABILITY"), / CREATE-SPECIAL-USE /);
    assert.match(await driver.command("C1 CREATE Projects/Receipts (USE (\\archive))"), /C1 OK \[MAILBOXID/);
    assert.match(
      await driver.command('L1 LIST "" Projects/Receipts'),
      /\* LIST \([^)]*\\Archive[^)]*\) "\/" "?Projects\/Receipts"?/,
    );
    // The parent made to place it has no special use.
    assert.doesNotMatch(await driver.command('L2 LIST "" Projects'), /\\Archive/);
    const box = await fixture.store.mailboxes.getMailbox(fixture.userId, "Projects/Receipts");
    assert.equal(box?.specialUse, "\\Archive");
  });

  test("virtual or several uses are NO [USEATTR]; nothing is created", async () => {
    const driver = new SessionDriver(fixture);
    await driver.login();
    assert.match(await driver.command("C1 CREATE Everything (USE (\\All))"), /C1 NO \[USEATTR\] /);
    assert.match(await driver.command("C2 CREATE Both (USE (\\Sent \\Archive))"), /C2 NO \[USEATTR\] /);
    assert.match(await driver.command("C3 CREATE Odd (USE (\\Important))"), /C3 NO \[USEATTR\] /);
    assert.match(await driver.command("C4 CREATE Colour (COLOR red)"), /C4 BAD /);
    const names = (await fixture.store.mailboxes.listMailboxes(fixture.userId)).map((m) => m.name);
    for (const name of ["Everything", "Both", "Odd", "Colour"]) assert.ok(!names.includes(name));
  });
});
