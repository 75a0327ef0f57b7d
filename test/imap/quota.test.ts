// QUOTA (RFC 9208) in an IMAP session on a real store: the one root "", STORAGE in KiB, APPEND refused
// before the literal is sent, COPY refused before anything is copied, a move between mailboxes allowed.

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

async function session(): Promise<SessionDriver> {
  const driver = new SessionDriver(fixture);
  await driver.login();
  return driver;
}

describe("IMAP QUOTA (RFC 9208)", () => {
  test("without a limit INBOX is in no quota root; CAPABILITY names QUOTA and RES-STORAGE", async () => {
    const driver = await session();
    assert.match(await driver.command("C1 CAPABILITY"), / QUOTA QUOTA=RES-STORAGE /);
    assert.match(
      await driver.command("Q1 GETQUOTAROOT INBOX"),
      /^\* QUOTAROOT "INBOX"\r\nQ1 OK GETQUOTAROOT completed/,
    );
    assert.match(await driver.command('Q2 GETQUOTA ""'), /^Q2 NO \[NONEXISTENT\] /);
    assert.match(await driver.command('Q3 GETQUOTAROOT "No such"'), /^Q3 NO \[NONEXISTENT\] /);
  });

  test("with a limit: usage and limit in KiB, SETQUOTA refused as the administrator's", async () => {
    await fixture.deliver(message("one", "x".repeat(3000)));
    await fixture.store.quotas.setQuota(fixture.userId, 100 * 1024);
    const { used } = await fixture.store.quotas.getQuota(fixture.userId);
    const driver = await session();
    const kib = Math.ceil(used / 1024);
    assert.match(
      await driver.command("Q1 GETQUOTAROOT INBOX"),
      new RegExp(`^\\* QUOTAROOT "INBOX" ""\\r\\n\\* QUOTA "" \\(STORAGE ${kib} 100\\)\\r\\nQ1 OK`),
    );
    assert.match(
      await driver.command('Q2 GETQUOTA ""'),
      new RegExp(`^\\* QUOTA "" \\(STORAGE ${kib} 100\\)\\r\\nQ2 OK`),
    );
    assert.match(
      await driver.command('Q3 SETQUOTA "" (STORAGE 1000)'),
      /^Q3 NO \[NOPERM\] .*mailroom user quota/,
    );
    assert.match(await driver.command('Q4 GETQUOTA "other"'), /^Q4 NO \[NONEXISTENT\] /);
  });

  test("APPEND over the limit is refused before the literal; COPY too; a move between mailboxes is not", async () => {
    await fixture.deliver(message("first", "y".repeat(2000)));
    const { used } = await fixture.store.quotas.getQuota(fixture.userId);
    await fixture.store.quotas.setQuota(fixture.userId, used + 500);
    const driver = await session();
    const big = message("too big", "z".repeat(600));
    // A synchronizing literal gets its NO instead of "+": the client never sends the bytes.
    const refused = await driver.send(`A1 APPEND INBOX {${Buffer.byteLength(big)}}\r\n`);
    assert.match(refused, /^A1 NO \[OVERQUOTA\] .*quota/);
    const small = "Subject: s\r\n\r\nok\r\n";
    assert.match(
      await driver.send(`A2 APPEND INBOX {${small.length}+}\r\n${small}\r\n`),
      /A2 OK \[APPENDUID /,
    );
    assert.match(await driver.command("S1 SELECT INBOX"), /\* 2 EXISTS/);
    assert.match(await driver.command("C1 COPY 1 Archive"), /^C1 NO \[OVERQUOTA\] /);
    assert.equal((await fixture.store.messages.listMessages(fixture.inbox.id)).length, 2);
    assert.match(await driver.command("M1 MOVE 1 Archive"), /M1 OK /);
    assert.ok((await fixture.store.quotas.getQuota(fixture.userId)).used <= used + 500);
  });
});
