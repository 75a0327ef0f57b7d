// Header blocks kept on first use for messages stored without one, and FETCH's batched \Seen.

import assert from "node:assert/strict";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import Database from "better-sqlite3";
import { FETCH_BATCH } from "../../src/imap/commands/fetch.js";
import type { FlagOperation, Store } from "../../src/store/types.js";
import { spyStore } from "../support/store-spy.js";
import { createFixture, type ImapFixture, message, SessionDriver } from "./fixtures.js";

let fixture: ImapFixture;
beforeEach(async () => {
  fixture = await createFixture();
});
afterEach(async () => {
  await fixture.cleanup();
});

interface Watched {
  store: Store;
  bodyReads: number;
  saves: Array<Promise<void>>;
  flagCalls: Array<{ uids: number[]; operation: FlagOperation; flags: string[] }>;
}

/** The fixture's store, counting body reads and updateFlags calls and keeping saveHeaderBlocks' promises. */
function watch(): Watched {
  const target = fixture.store;
  const watched: Watched = { store: target, bodyReads: 0, saves: [], flagCalls: [] };
  watched.store = spyStore(target, {
    blobs: (blobs) => ({
      readBlob: (id) => {
        watched.bodyReads++;
        return blobs.readBlob(id);
      },
      readBlobBytes: (id) => {
        watched.bodyReads++;
        return blobs.readBlobBytes(id);
      },
      saveHeaderBlocks: (blocks) => {
        const saved = blobs.saveHeaderBlocks(blocks);
        watched.saves.push(saved);
        return saved;
      },
    }),
    messages: (messages) => ({
      updateFlags: (mailboxId, uids, operation, flags) => {
        watched.flagCalls.push({ uids: [...uids], operation, flags: [...flags] });
        return messages.updateFlags(mailboxId, uids, operation, flags);
      },
    }),
  });
  return watched;
}

/** Makes the stored messages look like ones stored before schema 3 kept header blocks. */
function dropHeaderBlocks(): void {
  const db = new Database(join(fixture.dataDir, "mailroom.db"));
  try {
    db.prepare("UPDATE messages SET header = NULL").run();
  } finally {
    db.close();
  }
}

async function selected(store: Store): Promise<SessionDriver> {
  const driver = new SessionDriver(fixture, { store });
  await driver.login();
  assert.match(await driver.command("S1 SELECT INBOX"), /S1 OK/);
  return driver;
}

describe("header blocks for messages stored without one", () => {
  test("the second header FETCH reads no body and answers the same", async () => {
    await fixture.deliver(message("first"));
    await fixture.deliver(message("second", "No empty line after this header"));
    dropHeaderBlocks();
    const watched = watch();
    const driver = await selected(watched.store);
    const command = "F1 FETCH 1:2 (ENVELOPE BODY.PEEK[HEADER.FIELDS (SUBJECT)])";
    const first = await driver.command(command);
    assert.match(first, /F1 OK/);
    assert.equal(watched.bodyReads, 2);
    await Promise.all(watched.saves);
    const second = await driver.command(command);
    assert.equal(second, first);
    assert.equal(watched.bodyReads, 2, "no body read for the second FETCH");
  });

  test("a header SEARCH keeps the blocks it read, so the next one reads no body", async () => {
    await fixture.deliver(message("apples"));
    await fixture.deliver(message("pears"));
    dropHeaderBlocks();
    const watched = watch();
    const driver = await selected(watched.store);
    const first = await driver.command("S2 SEARCH SUBJECT pears");
    assert.match(first, /\* SEARCH 2\r\n/);
    assert.equal(watched.bodyReads, 2);
    await Promise.all(watched.saves);
    assert.equal(await driver.command("S2 SEARCH SUBJECT pears"), first);
    assert.equal(watched.bodyReads, 2);
  });

  test("a failing save does not fail the command", async () => {
    await fixture.deliver(message("only"));
    dropHeaderBlocks();
    const failing = spyStore(fixture.store, {
      blobs: () => ({ saveHeaderBlocks: () => Promise.reject(new Error("disk on fire")) }),
    });
    const driver = await selected(failing);
    assert.match(await driver.command("F1 FETCH 1 (BODY.PEEK[HEADER])"), /Subject: only\r\n[\s\S]*F1 OK/);
  });
});

describe("FETCH sets \\Seen once per batch", () => {
  test("one updateFlags call for the unseen messages; each response reports the new flags", async () => {
    await fixture.deliver(message("one"));
    await fixture.deliver(message("two"), fixture.inbox.id, ["\\Seen"]);
    await fixture.deliver(message("three"), fixture.inbox.id, ["\\Flagged"]);
    const watched = watch();
    const driver = await selected(watched.store);
    const answer = await driver.command("F1 FETCH 1:3 (BODY[HEADER.FIELDS (SUBJECT)])");
    assert.deepEqual(watched.flagCalls, [{ uids: [1, 3], operation: "add", flags: ["\\Seen"] }]);
    assert.match(
      answer,
      /\* 1 FETCH \(BODY\[HEADER\.FIELDS \(SUBJECT\)\] \{\d+\}\r\nSubject: one\r\n\r\n FLAGS \(\\Seen \\Recent\)\)/,
    );
    assert.match(answer, /\* 2 FETCH \(BODY\[HEADER\.FIELDS \(SUBJECT\)\] \{\d+\}\r\nSubject: two\r\n\r\n\)/);
    assert.match(answer, /\* 3 FETCH \([\s\S]*FLAGS \((\\Flagged \\Seen|\\Seen \\Flagged) \\Recent\)\)/);
    const status = await fixture.store.mailboxes.mailboxStatus(fixture.inbox.id);
    assert.equal(status.unseen, 0);
    await driver.command("F2 FETCH 1:3 (BODY[HEADER.FIELDS (SUBJECT)])");
    assert.equal(watched.flagCalls.length, 1, "nothing left to mark");
  });

  test("a FETCH across batches makes one call per batch", async () => {
    for (let i = 0; i < FETCH_BATCH + 1; i++) await fixture.deliver(`Subject: ${i}\r\n\r\n`);
    const watched = watch();
    const driver = await selected(watched.store);
    const answer = await driver.command("F1 FETCH 1:* (FLAGS BODY[HEADER])");
    assert.equal(watched.flagCalls.length, 2);
    assert.equal(watched.flagCalls[0]?.uids.length, FETCH_BATCH);
    assert.deepEqual(watched.flagCalls[1]?.uids, [FETCH_BATCH + 1]);
    assert.equal(answer.match(/FLAGS \(\\Seen \\Recent\)/g)?.length, FETCH_BATCH + 1);
  });
});
