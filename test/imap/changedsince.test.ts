// FETCH … (CHANGEDSINCE m) (RFC 7162 §3.1.4.1) over more messages than one FETCH batch: the targets
// are narrowed to the changed ones from one listing, which must answer exactly what a check of every
// message would — the changes another session made, by UID and by sequence number, and a message
// another session expunged still reported as missing.

import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";
import { FETCH_BATCH } from "../../src/imap/commands/fetch.js";
import { createFixture, type ImapFixture, message, SessionDriver } from "./fixtures.js";

let fixture: ImapFixture;
beforeEach(async () => {
  fixture = await createFixture();
});
afterEach(async () => {
  await fixture.cleanup();
});

const COUNT = FETCH_BATCH * 2 + 50;

function fetched(reply: string): Array<{ seq: number; uid: number; flags: string }> {
  return [...reply.matchAll(/^\* (\d+) FETCH \(UID (\d+) FLAGS \(([^)]*)\)/gm)].map((m) => ({
    seq: Number(m[1]),
    uid: Number(m[2]),
    flags: m[3] ?? "",
  }));
}

test("CHANGEDSINCE over several batches answers the changed messages only, and missing ones", async () => {
  for (let index = 1; index <= COUNT; index++) await fixture.deliver(message(`Message ${index}`, "text\r\n"));
  const reader = new SessionDriver(fixture);
  await reader.login();
  const selected = await reader.command("a SELECT INBOX (CONDSTORE)");
  const before = /HIGHESTMODSEQ (\d+)/.exec(selected)?.[1];
  assert.ok(before, selected);
  const writer = new SessionDriver(fixture);
  await writer.login();
  await writer.command("b SELECT INBOX");
  const changed = [3, FETCH_BATCH + 1, COUNT - 1];
  for (const uid of changed) await writer.command(`c UID STORE ${uid} +FLAGS.SILENT (\\Flagged)`);
  await reader.command("d NOOP");

  const byUid = await reader.command(`e UID FETCH 1:* (UID FLAGS) (CHANGEDSINCE ${before})`);
  assert.match(byUid, /e OK/);
  assert.deepEqual(
    fetched(byUid).map((f) => f.uid),
    changed,
  );
  assert.ok(fetched(byUid).every((f) => f.flags.includes("\\Flagged")));
  const bySeq = await reader.command(`f FETCH 1:${COUNT} (UID FLAGS) (CHANGEDSINCE ${before})`);
  assert.deepEqual(
    fetched(bySeq).map((f) => f.seq),
    changed,
  );
  const none = await reader.command(`g UID FETCH 1:* (UID FLAGS) (CHANGEDSINCE ${COUNT * 10})`);
  assert.deepEqual(fetched(none), []);
  assert.match(none, /g OK/);

  // Expunged by the other session and not yet reported here: the view still names it.
  await writer.command(`h UID STORE ${FETCH_BATCH + 20} +FLAGS.SILENT (\\Deleted)`);
  await writer.command("i EXPUNGE");
  const afterExpunge = await reader.command(`j UID FETCH 1:* (UID FLAGS) (CHANGEDSINCE ${before})`);
  assert.deepEqual(
    fetched(afterExpunge).map((f) => f.uid),
    changed,
  );
  assert.match(afterExpunge, /j OK \[EXPUNGEISSUED\]/);
});
