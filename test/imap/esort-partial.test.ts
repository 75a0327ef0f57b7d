// ESORT (RFC 5267 §3) and PARTIAL (RFC 9394) through the sans-IO session on a real store: SORT RETURN
// answered with ESEARCH in sort order, windows of SEARCH and SORT results and of UID FETCH.

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

/** Three messages whose subjects sort b, c, a: sequence numbers 2, 3, 1. */
async function selected(): Promise<SessionDriver> {
  for (const subject of ["charlie", "alpha", "bravo"]) await fixture.deliver(message(subject));
  const driver = new SessionDriver(fixture);
  await driver.login();
  await driver.command("s SELECT INBOX");
  return driver;
}

const first = (text: string) => text.split("\r\n")[0];

describe("IMAP ESORT and PARTIAL", () => {
  test("SORT RETURN: MIN and MAX are first and last in sort order, ALL keeps the order", async () => {
    const driver = await selected();
    assert.match(await driver.command("C1 CAPABILITY"), / ESORT PARTIAL /);
    assert.equal(
      first(await driver.command("a SORT RETURN (MIN MAX COUNT ALL) (SUBJECT) UTF-8 ALL")),
      '* ESEARCH (TAG "a") MIN 2 MAX 1 COUNT 3 ALL 2:3,1',
    );
    assert.equal(
      first(await driver.command("b UID SORT RETURN () (REVERSE SUBJECT) UTF-8 ALL")),
      '* ESEARCH (TAG "b") UID ALL 1,3,2',
    );
    assert.equal(
      first(await driver.command("c SORT RETURN (COUNT) (SUBJECT) UTF-8 SUBJECT nothing")),
      '* ESEARCH (TAG "c") COUNT 0',
    );
    // Without RETURN, SORT answers as RFC 5256 has it.
    assert.equal(first(await driver.command("d SORT (SUBJECT) UTF-8 ALL")), "* SORT 2 3 1");
  });

  test("PARTIAL windows of SEARCH and SORT, from the start and from the end; NIL when empty", async () => {
    const driver = await selected();
    assert.equal(
      first(await driver.command("a SEARCH RETURN (PARTIAL 1:2) ALL")),
      '* ESEARCH (TAG "a") PARTIAL (1:2 1:2)',
    );
    assert.equal(
      first(await driver.command("b UID SEARCH RETURN (COUNT PARTIAL -1:-2) ALL")),
      '* ESEARCH (TAG "b") UID COUNT 3 PARTIAL (-1:-2 2:3)',
    );
    assert.equal(
      first(await driver.command("c SORT RETURN (PARTIAL 2:3) (SUBJECT) UTF-8 ALL")),
      '* ESEARCH (TAG "c") PARTIAL (2:3 3,1)',
    );
    assert.equal(
      first(await driver.command("d SEARCH RETURN (PARTIAL 5:9) ALL")),
      '* ESEARCH (TAG "d") PARTIAL (5:9 NIL)',
    );
    assert.match(await driver.command("e SEARCH RETURN (ALL PARTIAL 1:2) ALL"), /^e BAD .*PARTIAL and ALL/);
    assert.match(await driver.command("f SEARCH RETURN (PARTIAL 1:-2) ALL"), /^f BAD /);
    // SAVE with PARTIAL keeps the window.
    await driver.command("g SEARCH RETURN (SAVE PARTIAL -1:-1) ALL");
    assert.match(await driver.command("h UID SEARCH UID $"), /^\* SEARCH 3\r\n/);
  });

  test("UID FETCH (PARTIAL -1:-2): the last two of the named messages only", async () => {
    const driver = await selected();
    const text = await driver.command("a UID FETCH 1:* (FLAGS) (PARTIAL -1:-2)");
    assert.deepEqual(
      [...text.matchAll(/UID (\d+)/g)].map((m) => m[1]),
      ["2", "3"],
    );
    const head = await driver.command("b UID FETCH 1:* (UID) (PARTIAL 1:1)");
    assert.deepEqual(
      [...head.matchAll(/UID (\d+)/g)].map((m) => m[1]),
      ["1"],
    );
  });
});
