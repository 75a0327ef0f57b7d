// Two IMAP sessions on one mailbox: one FETCHes while the other EXPUNGEs between the moment the first
// listed the messages and the moment it reads their bodies. The store is the real SQLite one; the
// first session's store only lets the test run the other session's EXPUNGE at that moment.

import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { afterEach, beforeEach, describe, test } from "node:test";
import { pino } from "pino";
import { STREAM_THRESHOLD } from "../../src/imap/commands/fetch.js";
import { type Store, StoreError } from "../../src/store/types.js";
import { spyStore } from "../support/store-spy.js";
import { createFixture, type ImapFixture, message, SessionDriver } from "./fixtures.js";

let fixture: ImapFixture;
beforeEach(async () => {
  fixture = await createFixture();
});
afterEach(async () => {
  await fixture.cleanup();
});

interface RacingStore {
  store: Store;
  /**
   * Runs once, right after the next message listing resolves and before any body is read; a FETCH
   * of several messages lists them from the kept listing, brought up to the mailbox row it reads first
   * (src/imap/caches.ts), so that row counts as the listing.
   */
  afterListing(hook: () => Promise<void>): void;
}

function racingStore(options: { hideHeaders?: boolean } = {}): RacingStore {
  let pending: (() => Promise<void>) | null = null;
  const afterward = async <T>(result: T): Promise<T> => {
    const hook = pending;
    pending = null;
    if (hook !== null) await hook();
    return result;
  };
  const store = spyStore(fixture.store, {
    messages: (messages) => ({
      listMessages: async (...args) => afterward(await messages.listMessages(...args)),
      getMessage: async (...args) => afterward(await messages.getMessage(...args)),
    }),
    mailboxes: (mailboxes) => ({
      getMailboxById: async (...args) => afterward(await mailboxes.getMailboxById(...args)),
    }),
    ...(options.hideHeaders ? { blobs: () => ({ readHeaderBlocks: async () => new Map() }) } : {}),
  });
  return {
    store,
    afterListing: (hook) => {
      pending = hook;
    },
  };
}

async function selected(store: Store = fixture.store): Promise<SessionDriver> {
  const driver = new SessionDriver(fixture, { store });
  await driver.login();
  await driver.command("s SELECT INBOX");
  return driver;
}

/** Session B deletes and expunges the messages with these sequence numbers. */
async function expungeFrom(other: SessionDriver, set: string): Promise<void> {
  assert.match(await other.command(`x1 STORE ${set} +FLAGS.SILENT (\\Deleted)`), /x1 OK/);
  assert.match(await other.command("x2 EXPUNGE"), /x2 OK/);
}

/** The tagged completion (the last line) names no path and no internal error. */
function assertNoInternals(text: string): void {
  const completion = text.trimEnd().split("\r\n").at(-1) ?? "";
  assert.doesNotMatch(
    completion,
    /\/|does not exist|NONEXISTENT|SERVERBUG/,
    "no path or internal error text",
  );
}

describe("FETCH racing another session's EXPUNGE", () => {
  test("a body expunged after the listing: the FETCH skips it and completes OK [EXPUNGEISSUED]", async () => {
    for (const s of ["one", "two", "three"]) await fixture.deliver(message(s));
    const racing = racingStore();
    const reader = await selected(racing.store);
    const other = await selected();
    racing.afterListing(() => expungeFrom(other, "2"));
    const text = await reader.command("f1 FETCH 1:3 BODY.PEEK[]");
    assertNoInternals(text);
    assert.match(text, /^\* 1 FETCH \(BODY\[\] \{\d+\}\r\n[\s\S]*Subject: one[\s\S]*\)\r\n\* 3 FETCH/);
    assert.match(text, /Subject: three/);
    assert.doesNotMatch(text, /Subject: two/);
    assert.match(text, /f1 OK \[EXPUNGEISSUED\] FETCH completed\r\n$/);
    // The view still numbers the message until the EXPUNGE is reported, at the next command.
    assert.match(await reader.command("f2 NOOP"), /^\* 2 EXPUNGE\r\nf2 OK/);
    assert.match(await reader.command("f3 FETCH 2 (UID)"), /^\* 2 FETCH \(UID 3\)\r\nf3 OK FETCH completed/);
  });

  test("a single message, a header item read from the body, and a streamed large body alike", async () => {
    await fixture.deliver(message("small"));
    const racing = racingStore({ hideHeaders: true });
    const reader = await selected(racing.store);
    const other = await selected();
    racing.afterListing(() => expungeFrom(other, "1"));
    const single = await reader.command("f1 FETCH 1 (FLAGS BODY.PEEK[])");
    assertNoInternals(single);
    assert.equal(single, "f1 OK [EXPUNGEISSUED] FETCH completed\r\n");

    await fixture.deliver(message("headers"));
    await reader.command("n1 NOOP");
    await other.command("n2 NOOP");
    racing.afterListing(() => expungeFrom(other, "1"));
    const header = await reader.command("f2 FETCH 1 (ENVELOPE)");
    assertNoInternals(header);
    assert.equal(header, "f2 OK [EXPUNGEISSUED] FETCH completed\r\n");

    await fixture.deliver(message("large", `${"x".repeat(80)}\r\n`.repeat(STREAM_THRESHOLD / 80)));
    await reader.command("n3 NOOP");
    await other.command("n4 NOOP");
    racing.afterListing(() => expungeFrom(other, "1"));
    const large = await reader.command("f3 FETCH 1 (UID BODY.PEEK[])");
    assertNoInternals(large);
    assert.equal(large, "f3 OK [EXPUNGEISSUED] FETCH completed\r\n");
    assert.equal(reader.action, "continue");
  });

  test("a body missing while its message is still listed is NO [UNAVAILABLE] with a fixed text", async () => {
    await fixture.deliver(message("lost"));
    const broken = spyStore(fixture.store, {
      blobs: () => ({
        readBlobBytes: async () => {
          throw new StoreError("not-found", "/var/lib/mailroom/messages/x5/abc does not exist (reading)");
        },
      }),
    });
    const reader = await selected(broken);
    const text = await reader.command("f1 FETCH 1 BODY.PEEK[]");
    assertNoInternals(text);
    assert.equal(text, "f1 NO [UNAVAILABLE] the message could not be read right now; try again later\r\n");
  });
});

describe("store failures in other commands", () => {
  test("the client gets a fixed text; the store's words, naming paths, go only to the log", async () => {
    const lines: string[] = [];
    const logger = pino(
      { level: "debug" },
      new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    const failing = spyStore(fixture.store, {
      mailboxes: () => ({
        createMailbox: async () => {
          throw new StoreError(
            "unavailable",
            "I/O error on /var/lib/mailroom/mailroom.db (EIO); check the disk",
          );
        },
        renameMailbox: async () => {
          throw new StoreError("full", "the disk holding /var/lib/mailroom/tmp is full; free space");
        },
      }),
    });
    const driver = new SessionDriver(fixture, { store: failing, logger });
    await driver.login();
    assert.equal(
      await driver.command("a CREATE Work"),
      "a NO [UNAVAILABLE] the mail store is unavailable right now; try again later\r\n",
    );
    assert.equal(
      await driver.command("b RENAME Junk Spam"),
      "b NO [OVERQUOTA] the server is out of storage space; try again later\r\n",
    );
    const log = lines.join("");
    assert.match(log, /I\/O error on \/var\/lib\/mailroom\/mailroom\.db/);
    assert.match(log, /the disk holding \/var\/lib\/mailroom\/tmp is full/);
  });
});
