// Another session's flag changes to more messages than are read one by one: SEARCH sees them and the
// next sync reports each, read in one listing of what changed; an expunged one is neither. A session's
// own changes are not read back.

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

/** `count` messages in INBOX and two sessions with it selected. */
async function twoSessions(count: number): Promise<[SessionDriver, SessionDriver]> {
  for (let i = 1; i <= count; i++) await fixture.deliver(message(`m${i}`));
  const sessions: SessionDriver[] = [];
  for (const name of ["S1", "S2"]) {
    const session = new SessionDriver(fixture);
    await session.login();
    assert.match(await session.command(`${name} SELECT INBOX`), new RegExp(`${name} OK`));
    sessions.push(session);
  }
  return sessions as [SessionDriver, SessionDriver];
}

test("twenty flag changes from another session: SEARCH and the FETCH updates see all, in one read", async () => {
  const [reader, writer] = await twoSessions(30);
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

test("a session's own STORE is not read back from the store; a later change by another still is", async () => {
  const [own, other] = await twoSessions(30);
  const messages = fixture.store.messages;
  const reads: string[] = [];
  const listMessages = messages.listMessages.bind(messages);
  const getMessage = messages.getMessage.bind(messages);
  messages.listMessages = (...args) => {
    reads.push("listMessages");
    return listMessages(...args);
  };
  messages.getMessage = (...args) => {
    reads.push("getMessage");
    return getMessage(...args);
  };
  try {
    const stored = await own.command("A2 STORE 1:30 +FLAGS.SILENT (\\Flagged)");
    assert.match(stored, /A2 OK/);
    const noop = await own.command("A3 NOOP");
    assert.doesNotMatch(stored + noop, /FETCH/);
    assert.deepEqual(reads, []);
    // Another session changes two of the messages after the STORE: both are reported, with the flags
    // that session left.
    assert.match(await other.command("B2 STORE 7 -FLAGS.SILENT (\\Flagged)"), /B2 OK/);
    const store = await own.command("A4 STORE 8 +FLAGS.SILENT (\\Seen)");
    assert.match(store, /A4 OK/);
    assert.match(await other.command("B3 STORE 8 +FLAGS.SILENT ($Later)"), /B3 OK/);
    const updates = store + (await own.command("A5 NOOP"));
    const fetched = [...updates.matchAll(/\* (\d+) FETCH \(FLAGS \(([^)]*)\)\)/g)].map((m) => [
      Number(m[1]),
      (m[2] ?? "").split(" ").sort().join(" "),
    ]);
    assert.deepEqual(fetched, [
      [7, "\\Recent"],
      [8, "$Later \\Flagged \\Recent \\Seen"],
    ]);
  } finally {
    messages.listMessages = listMessages;
    messages.getMessage = getMessage;
  }
});

test("changes to scattered messages are read back as what changed, not as all since the oldest delivery", async () => {
  const [reader, writer] = await twoSessions(200);
  const scattered = Array.from({ length: 20 }, (_, i) => 1 + i * 10);
  assert.match(await writer.command(`W2 STORE ${scattered.join(",")} +FLAGS.SILENT (\\Answered)`), /W2 OK/);
  const messages = fixture.store.messages;
  const listMessages = messages.listMessages.bind(messages);
  const listed: number[] = [];
  messages.listMessages = async (...args) => {
    const result = await listMessages(...args);
    listed.push(result.length);
    return result;
  };
  try {
    const noop = await reader.command("R2 NOOP");
    const fetched = [...noop.matchAll(/\* (\d+) FETCH \(FLAGS \(([^)]*)\)\)/g)].map((m) => Number(m[1]));
    assert.deepEqual(fetched, scattered);
    assert.deepEqual(listed, [20]);
  } finally {
    messages.listMessages = listMessages;
  }
});
