// UNAUTHENTICATE (RFC 8437) in an IMAP session: back to not authenticated, the mailbox and every
// ENABLEd extension gone, and a new login on the same connection starts afresh.

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

describe("IMAP UNAUTHENTICATE (RFC 8437)", () => {
  test("leaves the user, the mailbox and ENABLE behind; the connection can log in again", async () => {
    await fixture.deliver(message("one"));
    const driver = new SessionDriver(fixture);
    assert.doesNotMatch(driver.greeting(), /UNAUTHENTICATE/);
    assert.match(await driver.command("U0 UNAUTHENTICATE"), /U0 BAD /);
    assert.match(await driver.login(), /UNAUTHENTICATE/);
    assert.match(await driver.command("E1 ENABLE CONDSTORE"), /\* ENABLED CONDSTORE\r\n/);
    assert.match(await driver.command("S1 SELECT INBOX"), /S1 OK/);
    assert.match(await driver.command("U1 UNAUTHENTICATE"), /^U1 OK /);
    assert.equal(driver.session.state, "not-authenticated");
    assert.match(await driver.command("F1 FETCH 1 (FLAGS)"), /F1 BAD /);
    assert.match(await driver.command("S2 SELECT INBOX"), /S2 BAD /);
    await driver.login();
    // ENABLE starts from nothing again: CONDSTORE is reported as newly enabled.
    assert.match(await driver.command("E2 ENABLE CONDSTORE"), /\* ENABLED CONDSTORE\r\n/);
    assert.match(await driver.command("S3 SELECT INBOX"), /\* 1 EXISTS/);
  });
});
