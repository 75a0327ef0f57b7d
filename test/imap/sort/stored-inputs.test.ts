// SORT and THREAD take what they compare of each message (its sort inputs) from the process's cache,
// else from the store, and find it from the header section only once: for messages stored without a
// header block, from the body, keeping both.

import assert from "node:assert/strict";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import Database from "better-sqlite3";
import type { Store } from "../../../src/store/types.js";
import { spyStore } from "../../support/store-spy.js";
import { createFixture, type ImapFixture, message, SessionDriver } from "../fixtures.js";

let fixture: ImapFixture;
beforeEach(async () => {
  fixture = await createFixture();
});
afterEach(async () => {
  await fixture.cleanup();
});

interface Counted {
  store: Store;
  calls: { bodies: number; headers: number; inputs: number };
  saves: Array<Promise<void>>;
}

/** A store object of its own (so with caches of its own), counting the reads SORT and THREAD make. */
function counted(): Counted {
  const watched: Counted = { store: fixture.store, calls: { bodies: 0, headers: 0, inputs: 0 }, saves: [] };
  watched.store = spyStore(fixture.store, {
    blobs: (blobs) => ({
      readBlobBytes: (id, size) => {
        watched.calls.bodies++;
        return blobs.readBlobBytes(id, size);
      },
      readHeaderBlocks: (ids) => {
        watched.calls.headers++;
        return blobs.readHeaderBlocks(ids);
      },
      readSortInputs: (ids) => {
        watched.calls.inputs++;
        return blobs.readSortInputs(ids);
      },
      saveSortInputs: (inputs) => {
        const saved = blobs.saveSortInputs(inputs);
        watched.saves.push(saved);
        return saved;
      },
    }),
  });
  return watched;
}

async function selected(store: Store): Promise<SessionDriver> {
  const driver = new SessionDriver(fixture, { store });
  await driver.login();
  assert.match(await driver.command("S1 SELECT INBOX"), /S1 OK/);
  return driver;
}

describe("SORT and THREAD over kept sort inputs", () => {
  beforeEach(async () => {
    await fixture.deliver(message("Zebra"));
    await fixture.deliver(message("Re: Apple", "Hi.\r\n", "In-Reply-To: <Apple@example.org>\r\n"));
    await fixture.deliver(message("Apple"));
    // As if stored before the store kept header blocks: the first SORT reads the bodies.
    const db = new Database(join(fixture.dataDir, "mailroom.db"));
    try {
      db.prepare("UPDATE messages SET header = NULL").run();
    } finally {
      db.close();
    }
  });

  test("found from the bodies once, then from the cache, then from the store", async () => {
    const first = counted();
    const cold = await selected(first.store);
    // Base subjects "zebra", "apple", "apple": ties keep mailbox order.
    assert.match(await cold.command("A1 SORT (SUBJECT) UTF-8 ALL"), /\* SORT 2 3 1\r\n/);
    assert.equal(first.calls.bodies, 3);
    await Promise.all(first.saves);
    assert.equal(first.saves.length, 1, "the inputs found are kept in one call");
    assert.match(await cold.command("A2 THREAD REFERENCES UTF-8 ALL"), /\* THREAD \(1\)\(3 2\)\r\n/);
    assert.match(await cold.command("A3 UID SORT (REVERSE SUBJECT) UTF-8 ALL"), /\* SORT 1 2 3\r\n/);
    assert.deepEqual(
      first.calls,
      { bodies: 3, headers: 1, inputs: 1 },
      "the second and third from the cache",
    );

    const second = counted();
    const warm = await selected(second.store);
    assert.match(await warm.command("B1 THREAD ORDEREDSUBJECT UTF-8 ALL"), /\* THREAD \(1\)\(2 3\)\r\n/);
    assert.match(await warm.command("B2 SORT (SUBJECT) UTF-8 ALL"), /\* SORT 2 3 1\r\n/);
    assert.deepEqual(second.calls, { bodies: 0, headers: 0, inputs: 1 }, "one store read of the kept inputs");
    assert.equal(second.saves.length, 0);
  });

  test("a THREAD answer is kept for the same matches only", async () => {
    const watched = counted();
    const driver = await selected(watched.store);
    assert.match(await driver.command("A1 THREAD REFERENCES UTF-8 ALL"), /\* THREAD \(1\)\(3 2\)\r\n/);
    assert.match(await driver.command("A2 STORE 1:3 +FLAGS (\\Seen)"), /A2 OK/);
    assert.match(await driver.command("A3 THREAD REFERENCES UTF-8 ALL"), /\* THREAD \(1\)\(3 2\)\r\n/);
    assert.equal(watched.calls.inputs, 1, "flags changed nothing THREAD compares: the kept answer");
    // A search that matches fewer, and numbering by UID, are answers of their own.
    assert.match(await driver.command("A4 THREAD REFERENCES UTF-8 2:3"), /\* THREAD \(3 2\)\r\n/);
    assert.match(await driver.command("A5 UID THREAD REFERENCES UTF-8 ALL"), /\* THREAD \(1\)\(3 2\)\r\n/);
    await fixture.deliver(message("Re: Zebra", "Hi.\r\n", "References: <Zebra@example.org>\r\n"));
    assert.match(await driver.command("A6 NOOP"), /\* 4 EXISTS/);
    assert.match(await driver.command("A7 THREAD REFERENCES UTF-8 ALL"), /\* THREAD \(1 4\)\(3 2\)\r\n/);
    assert.match(await driver.command("A8 STORE 1 +FLAGS (\\Deleted)"), /A8 OK/);
    assert.match(await driver.command("A9 EXPUNGE"), /\* 1 EXPUNGE/);
    // Message 1 gone, so the others are numbered one lower, and its reply is a thread of its own.
    assert.match(await driver.command("B1 THREAD REFERENCES UTF-8 ALL"), /\* THREAD \(2 1\)\(3\)\r\n/);
    // As many matches as before, but not the same ones.
    assert.match(await driver.command("B2 STORE 2 +FLAGS (\\Deleted)"), /B2 OK/);
    assert.match(await driver.command("B3 EXPUNGE"), /\* 2 EXPUNGE/);
    await fixture.deliver(message("Apple"));
    assert.match(await driver.command("B4 NOOP"), /\* 3 EXISTS/);
    assert.match(await driver.command("B5 THREAD REFERENCES UTF-8 ALL"), /\* THREAD \(2\)\(3 1\)\r\n/);
  });

  test("ARRIVAL and SIZE read no inputs at all", async () => {
    const watched = counted();
    const driver = await selected(watched.store);
    // One internal date for all; sizes: 1 and 3 alike, 2 larger.
    assert.match(await driver.command("A1 SORT (REVERSE ARRIVAL SIZE) UTF-8 ALL"), /\* SORT 1 3 2\r\n/);
    assert.deepEqual(watched.calls, { bodies: 0, headers: 0, inputs: 0 });
  });
});
