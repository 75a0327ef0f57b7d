// Another session's flag changes to more messages than are read one by one: SEARCH sees them and the
// next sync reports each, read in one listing of what changed; an expunged one is neither.

import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";
import { createFixture, type ImapFixture, message, SessionDriver } from "./fixtures.js";

let fixture: ImapFixture;
beforeEach(async () => {
  fixture = await createFixture();
});
afterEach(async () => {
  await fixture.cleanup();
});

test("twenty flag changes from another session: SEARCH and the FETCH updates see all, in one read", async () => {
  for (let i = 1; i <= 30; i++) await fixture.deliver(message(`m${i}`));
  const reader = new SessionDriver(fixture);
  await reader.login();
  assert.match(await reader.command("R1 SELECT INBOX"), /R1 OK/);
  const writer = new SessionDriver(fixture);
  await writer.login();
  assert.match(await writer.command("W1 SELECT INBOX"), /W1 OK/);
  // An old change first, so the messages' known MODSEQs differ.
  assert.match(await writer.command("W2 STORE 5 +FLAGS.SILENT (\\Seen)"), /W2 OK/);
  assert.match(await reader.command("R2 NOOP"), /\* 5 FETCH \(FLAGS \(\\Seen \\Recent\)\)/);
  assert.match(await writer.command("W3 STORE 1:20 +FLAGS.SILENT (\\Flagged)"), /W3 OK/);
  assert.match(await writer.command("W4 STORE 20 +FLAGS.SILENT (\\Deleted)"), /W4 OK/);
  assert.match(await writer.command("W5 EXPUNGE"), /\* 20 EXPUNGE/);
  const search = await reader.command("R3 SEARCH FLAGGED");
  assert.match(search, /\* SEARCH 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19\r\n/);
  // The updates come with the SEARCH (the flags) and the NOOP after it (the expunge, RFC 9051 §7.5.1).
  const updates = search + (await reader.command("R4 NOOP"));
  const fetched = [...updates.matchAll(/\* (\d+) FETCH \(FLAGS \(([^)]*)\)\)/g)].map((m) => [
    Number(m[1]),
    (m[2] ?? "").split(" ").sort().join(" "),
  ]);
  assert.deepEqual(
    fetched,
    Array.from({ length: 19 }, (_, i) => [
      i + 1,
      i + 1 === 5 ? "\\Flagged \\Recent \\Seen" : "\\Flagged \\Recent",
    ]),
  );
  assert.match(updates, /\* 20 EXPUNGE\r\n/);
});
