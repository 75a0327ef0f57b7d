// CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 §4) through the sans-IO session on a real store: updating
// searches told of new mail, flag changes and expunges by ESEARCH ADDTO/REMOVEFROM, CANCELUPDATE, the
// NOUPDATE limit, tag reuse, and the interplay with PARTIAL, SAVE and IDLE.

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

async function session(options: ConstructorParameters<typeof SessionDriver>[1] = {}): Promise<SessionDriver> {
  const driver = new SessionDriver(fixture, options);
  await driver.login();
  await driver.command("s SELECT INBOX");
  return driver;
}

/** The untagged ESEARCH lines of a reply. */
const esearch = (text: string) => text.split("\r\n").filter((line) => line.startsWith("* ESEARCH"));

describe("IMAP CONTEXT=SEARCH and CONTEXT=SORT", () => {
  test("advertised, and RETURN (UPDATE) alone answers as ALL", async () => {
    for (const subject of ["one", "two"]) await fixture.deliver(message(subject));
    const a = await session();
    const caps = await a.command("c CAPABILITY");
    assert.match(caps, / CONTEXT=SEARCH CONTEXT=SORT /);
    assert.match(caps, / ESORT PARTIAL /);
    assert.deepEqual(esearch(await a.command("u1 SEARCH RETURN (UPDATE) ALL")), [
      '* ESEARCH (TAG "u1") ALL 1:2',
    ]);
    assert.deepEqual(esearch(await a.command("u2 SEARCH RETURN (CONTEXT COUNT) ALL")), [
      '* ESEARCH (TAG "u2") COUNT 2',
    ]);
  });

  test("flag changes by another session: ADDTO and REMOVEFROM at position 0, as UIDs or numbers", async () => {
    for (const subject of ["one", "two", "three"]) await fixture.deliver(message(subject));
    const a = await session();
    const b = await session();
    assert.deepEqual(esearch(await a.command("f1 UID SEARCH RETURN (UPDATE COUNT) FLAGGED")), [
      '* ESEARCH (TAG "f1") UID COUNT 0',
    ]);
    assert.deepEqual(esearch(await a.command("f2 SEARCH RETURN (UPDATE) UNFLAGGED")), [
      '* ESEARCH (TAG "f2") ALL 1:3',
    ]);
    await b.command("b1 STORE 2:3 +FLAGS (\\Flagged)");
    const noop = await a.command("n1 NOOP");
    const lines = noop.split("\r\n");
    // The causal FETCH first, then the updates (RFC 5267 §4.3.2); COUNT is not repeated.
    assert.ok(
      lines.findIndex((l) => l.includes("FETCH")) < lines.findIndex((l) => l.startsWith("* ESEARCH")),
    );
    assert.deepEqual(esearch(noop), [
      '* ESEARCH (TAG "f1") UID ADDTO (0 2:3)',
      '* ESEARCH (TAG "f2") REMOVEFROM (0 2:3)',
    ]);
    // Nothing changed since: nothing more is said.
    assert.deepEqual(esearch(await a.command("n2 NOOP")), []);
    await b.command("b2 STORE 3 -FLAGS (\\Flagged)");
    assert.deepEqual(esearch(await a.command("n3 NOOP")), [
      '* ESEARCH (TAG "f1") UID REMOVEFROM (0 3)',
      '* ESEARCH (TAG "f2") ADDTO (0 3)',
    ]);
  });

  test("the session's own STORE updates its contexts too; a change that keeps the match says nothing", async () => {
    for (const subject of ["one", "two"]) await fixture.deliver(message(subject));
    const a = await session();
    await a.command("u SEARCH RETURN (UPDATE) SEEN");
    const stored = await a.command("s1 STORE 1 +FLAGS (\\Seen)");
    const later = await a.command("n NOOP");
    assert.deepEqual([...esearch(stored), ...esearch(later)], ['* ESEARCH (TAG "u") ADDTO (0 1)']);
    await a.command("s2 STORE 1 +FLAGS (\\Answered)");
    assert.deepEqual(esearch(await a.command("n2 NOOP")), []);
  });

  test("new mail: ADDTO after the EXISTS that numbers it; message numbers in the program stay frozen", async () => {
    await fixture.deliver(message("one"));
    const a = await session();
    await a.command("x SEARCH RETURN (UPDATE) SUBJECT news");
    await a.command("y UID SEARCH RETURN (UPDATE) 1:*");
    await a.command("z SEARCH RETURN (UPDATE) ALL");
    await fixture.deliver(message("news today"));
    const noop = await a.command("n NOOP");
    const lines = noop.split("\r\n");
    const exists = lines.indexOf("* 2 EXISTS");
    assert.ok(exists >= 0, noop);
    assert.ok(exists < lines.indexOf('* ESEARCH (TAG "x") ADDTO (0 2)'), noop);
    // "1:*" meant message 1 when the command ran (RFC 5267 §4.3): the new message is not in it.
    assert.deepEqual(esearch(noop), ['* ESEARCH (TAG "x") ADDTO (0 2)', '* ESEARCH (TAG "z") ADDTO (0 2)']);
  });

  test("expunge: REMOVEFROM before the EXPUNGE, with the number it had; at once even while EXPUNGE must wait", async () => {
    for (const subject of ["one", "two", "three"]) await fixture.deliver(message(subject));
    const a = await session();
    const b = await session();
    await a.command("u SEARCH RETURN (UPDATE) ALL");
    await b.command("b1 STORE 2 +FLAGS (\\Deleted)");
    await b.command("b2 EXPUNGE");
    // FETCH may not report the expunge (RFC 9051 §7.5.1), yet the update goes out (RFC 5267 A.3).
    const fetched = await a.command("f FETCH 1 (UID)");
    assert.deepEqual(esearch(fetched), ['* ESEARCH (TAG "u") REMOVEFROM (0 2)']);
    assert.doesNotMatch(fetched, /EXPUNGE/);
    const noop = await a.command("n NOOP");
    assert.match(noop, /\* 2 EXPUNGE/);
    assert.deepEqual(esearch(noop), []);
    // The session's own EXPUNGE: REMOVEFROM first.
    await a.command("d STORE 1 +FLAGS (\\Deleted)");
    const own = (await a.command("e EXPUNGE")).split("\r\n");
    assert.ok(own.indexOf('* ESEARCH (TAG "u") REMOVEFROM (0 1)') >= 0, own.join("\n"));
    assert.ok(
      own.indexOf('* ESEARCH (TAG "u") REMOVEFROM (0 1)') < own.indexOf("* 1 EXPUNGE"),
      own.join("\n"),
    );
  });

  test("SORT contexts: positions in the sort order for removals and insertions", async () => {
    for (const subject of ["bravo", "delta", "foxtrot"]) await fixture.deliver(message(subject));
    const a = await session();
    assert.deepEqual(esearch(await a.command("s UID SORT RETURN (UPDATE) (SUBJECT) UTF-8 UNDELETED")), [
      '* ESEARCH (TAG "s") UID ALL 1:3',
    ]);
    const charlie = await fixture.deliver(message("charlie"));
    const alpha = await fixture.deliver(message("alpha"));
    // alpha goes first, charlie between bravo and delta.
    assert.deepEqual(esearch(await a.command("n NOOP")), [
      `* ESEARCH (TAG "s") UID ADDTO (1 ${alpha} 3 ${charlie})`,
    ]);
    const stored = await a.command("d UID STORE 1,2 +FLAGS (\\Deleted)");
    // List alpha bravo charlie delta foxtrot: bravo (position 2) goes, then delta (now position 3).
    assert.deepEqual(esearch(stored + (await a.command("n2 NOOP"))), [
      '* ESEARCH (TAG "s") UID REMOVEFROM (2 1 3 2)',
    ]);
    assert.deepEqual(esearch(await a.command("s2 UID SORT RETURN (ALL) (SUBJECT) UTF-8 UNDELETED")), [
      `* ESEARCH (TAG "s2") UID ALL ${alpha},${charlie},3`,
    ]);
  });

  test("PARTIAL with UPDATE: the window is returned, updates cover every match (RFC 5267 §4.4)", async () => {
    for (const subject of ["one", "two", "three"]) await fixture.deliver(message(subject));
    const a = await session();
    assert.deepEqual(esearch(await a.command("p UID SEARCH RETURN (UPDATE PARTIAL 1:1) ALL")), [
      '* ESEARCH (TAG "p") UID PARTIAL (1:1 1)',
    ]);
    await a.command("d UID STORE 3 +FLAGS (\\Seen)");
    await fixture.deliver(message("four"));
    assert.deepEqual(esearch(await a.command("n NOOP")), ['* ESEARCH (TAG "p") UID ADDTO (0 4)']);
    // SAVE with UPDATE saves once; the saved result is not updated.
    assert.deepEqual(esearch(await a.command("v SEARCH RETURN (SAVE UPDATE) 1")), []);
    assert.match(await a.command("w UID SEARCH UID $"), /^\* SEARCH 1\r\n/);
  });

  test("CANCELUPDATE stops updates; tag reuse is BAD; unknown tags are BAD and cancel nothing", async () => {
    await fixture.deliver(message("one"));
    const a = await session();
    await a.command("u1 SEARCH RETURN (UPDATE) UNSEEN");
    await a.command("u2 SEARCH RETURN (UPDATE) SEEN");
    assert.match(await a.command("u1 SORT RETURN (UPDATE) (DATE) UTF-8 ALL"), /^u1 BAD .*already names/m);
    assert.match(await a.command('c1 CANCELUPDATE "u1" "nope"'), /^c1 BAD .*"nope"; nothing was cancelled/m);
    assert.match(await a.command("c2 CANCELUPDATE u1"), /^c2 BAD /m);
    assert.match(await a.command('c3 CANCELUPDATE "u1"'), /^c3 OK /m);
    const stored = await a.command("s STORE 1 +FLAGS (\\Seen)");
    assert.deepEqual(esearch(stored + (await a.command("n NOOP"))), ['* ESEARCH (TAG "u2") ADDTO (0 1)']);
    // A cancelled tag may be used again.
    assert.match(await a.command("u1 SEARCH RETURN (UPDATE) SEEN"), /^u1 OK /m);
  });

  test("the limit: NO [NOUPDATE tag], the results still given; leaving the mailbox ends every context", async () => {
    await fixture.deliver(message("one"));
    const a = await session({ maxUpdateContexts: 1 });
    await a.command("u1 SEARCH RETURN (UPDATE) ALL");
    const refused = await a.command("u2 SORT RETURN (UPDATE COUNT) (SUBJECT) UTF-8 ALL");
    assert.match(refused, /^\* ESEARCH \(TAG "u2"\) COUNT 1\r\n\* NO \[NOUPDATE "u2"\] .*\r\nu2 OK /);
    await a.command("x UNSELECT");
    await a.command("y SELECT INBOX");
    assert.match(await a.command('c CANCELUPDATE "u1"'), /^c BAD /m);
    assert.match(await a.command("u3 SEARCH RETURN (UPDATE) ALL"), /^u3 OK /m);
    assert.match(await a.command("x UNSELECT"), /^x OK /m);
    assert.match(await a.command('c CANCELUPDATE "u3"'), /^c BAD .*selected mailbox/m);
  });

  test("IDLE: updates are pushed as they happen", async () => {
    await fixture.deliver(message("one"));
    const a = await session();
    await a.command("u UID SEARCH RETURN (UPDATE) FLAGGED");
    const b = await session();
    await a.command("i IDLE");
    await b.command("b UID STORE 1 +FLAGS (\\Flagged)");
    for (let i = 0; i < 50 && !Buffer.concat(a.pushed).toString().includes("ESEARCH"); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.deepEqual(esearch(Buffer.concat(a.pushed).toString()), ['* ESEARCH (TAG "u") UID ADDTO (0 1)']);
    assert.match(await a.send("DONE\r\n"), /i OK/);
  });
});
