// MULTIAPPEND (RFC 3502) through the sans-IO session on a real store: several messages in one APPEND,
// each streamed to its own blob, stored all or none, APPENDUID with a UID set (RFC 4315).

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { StoreError } from "../../src/store/errors.js";
import { spyStore } from "../support/store-spy.js";
import { createFixture, type ImapFixture, message, SessionDriver } from "./fixtures.js";

let fixture: ImapFixture;
beforeEach(async () => {
  fixture = await createFixture();
});
afterEach(async () => {
  await fixture.cleanup();
});

const one = Buffer.from(message("one"));
const two = Buffer.from(message("two", "Second body.\r\n"));
const three = Buffer.from(message("three", "Third body.\r\n"));

describe("IMAP MULTIAPPEND (RFC 3502)", () => {
  test("three messages, synchronizing and LITERAL+, each with its own flags and date", async () => {
    const driver = new SessionDriver(fixture);
    await driver.login();
    assert.match(await driver.command("C1 CAPABILITY"), / MULTIAPPEND /);
    assert.equal(
      await driver.send(`a APPEND INBOX (\\Seen) {${one.length}}\r\n`),
      "+ Ready for literal data\r\n",
    );
    assert.equal(
      await driver.send(
        Buffer.concat([one, Buffer.from(` "17-Jul-1996 02:44:25 -0700" {${two.length}}\r\n`)]),
      ),
      "+ Ready for literal data\r\n",
    );
    const done = await driver.send(
      Buffer.concat([
        two,
        Buffer.from(` (\\Flagged $Work) {${three.length}+}\r\n`),
        three,
        Buffer.from("\r\n"),
      ]),
    );
    const status = await fixture.store.mailboxes.getMailboxById(fixture.inbox.id);
    assert.equal(done, `a OK [APPENDUID ${status?.uidValidity} 1:3] APPEND completed\r\n`);
    const stored = await fixture.store.messages.listMessages(fixture.inbox.id);
    assert.deepEqual(
      stored.map((m) => [m.uid, [...m.flags].sort()]),
      [
        [1, ["\\Seen"]],
        [2, []],
        [3, ["$Work", "\\Flagged"]],
      ],
    );
    assert.equal(stored[1]?.internalDate.toISOString(), "1996-07-17T09:44:25.000Z");
    for (const [i, raw] of [one, two, three].entries()) {
      const id = stored[i]?.messageId ?? "";
      assert.deepEqual(await fixture.store.blobs.readBlobBytes(id), raw);
    }
  });

  test("a later message refused before it is sent: nothing is stored, the earlier body is thrown away", async () => {
    let aborts = 0;
    const store = spyStore(fixture.store, {
      blobs: (blobs) => ({
        createBlobWriter: async () => {
          const writer = await blobs.createBlobWriter();
          return {
            id: writer.id,
            write: (chunk: Uint8Array) => writer.write(chunk),
            finish: () => writer.finish(),
            abort: () => {
              aborts++;
              return writer.abort();
            },
          };
        },
      }),
    });
    const driver = new SessionDriver(fixture, { store, maxMessageSize: 1000 });
    await driver.login();
    assert.equal(await driver.send(`a APPEND INBOX {${one.length}}\r\n`), "+ Ready for literal data\r\n");
    assert.match(await driver.send(Buffer.concat([one, Buffer.from(" {5000}\r\n")])), /^a NO \[TOOBIG\] /);
    assert.equal(aborts, 1);
    // LITERAL+: the refusal waits for the end of the command, whose bytes are read and thrown away.
    const text = await driver.send(
      Buffer.concat([
        Buffer.from(`b APPEND INBOX {${one.length}+}\r\n`),
        one,
        Buffer.from(` {5000+}\r\n${"y".repeat(5000)} {3+}\r\nabc\r\nc NOOP\r\n`),
      ]),
    );
    assert.match(text, /^b NO \[TOOBIG\] .*\r\nc OK NOOP completed\r\n$/);
    assert.equal(aborts, 2);
    assert.equal((await fixture.store.messages.listMessages(fixture.inbox.id)).length, 0);
  });

  test("the quota counts the whole command: NO [OVERQUOTA] though each message fits alone", async () => {
    await fixture.store.quotas.setQuota(fixture.userId, one.length + 100);
    const driver = new SessionDriver(fixture);
    await driver.login();
    const text = await driver.send(
      Buffer.concat([
        Buffer.from(`a APPEND INBOX {${one.length}+}\r\n`),
        one,
        Buffer.from(` {${one.length}+}\r\n`),
        one,
        Buffer.from("\r\n"),
      ]),
    );
    assert.match(text, /^a NO \[OVERQUOTA\] /);
    assert.equal((await fixture.store.messages.listMessages(fixture.inbox.id)).length, 0);
  });

  test("a store failure on the second message undoes the first: all or none", async () => {
    let appends = 0;
    const store = spyStore(fixture.store, {
      messages: (messages) => ({
        append: (...args: Parameters<typeof messages.append>) => {
          appends++;
          if (appends === 2) return Promise.reject(new StoreError("unavailable", "the disk went away"));
          return messages.append(...args);
        },
      }),
    });
    const driver = new SessionDriver(fixture, { store });
    await driver.login();
    const text = await driver.send(
      Buffer.concat([
        Buffer.from(`a APPEND INBOX {${one.length}+}\r\n`),
        one,
        Buffer.from(` {${two.length}+}\r\n`),
        two,
        Buffer.from("\r\n"),
      ]),
    );
    assert.match(text, /^a NO /);
    assert.equal(appends, 2);
    assert.equal((await fixture.store.messages.listMessages(fixture.inbox.id)).length, 0);
    // The next APPEND gets a fresh UID: the undone one is not reused (RFC 9051 §2.3.1.1).
    assert.match(
      await driver.send(`b APPEND INBOX {${one.length}+}\r\n${one.toString()}\r\n`),
      /^b OK \[APPENDUID \d+ 2\] /,
    );
  });
});
