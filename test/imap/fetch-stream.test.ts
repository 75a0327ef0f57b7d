// FETCH as a lazy stream and APPEND's streamed literal, driven through the sans-IO session.

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { PREFETCH_COUNT, STREAM_THRESHOLD } from "../../src/imap/commands/fetch.js";
import { CommandFramer } from "../../src/imap/protocol/framer.js";
import type { ImapOutput } from "../../src/imap/session.js";
import type { BlobWriter, Store } from "../../src/store/types.js";
import { spyStore } from "../support/store-spy.js";
import { collect, createFixture, type ImapFixture, message, SessionDriver } from "./fixtures.js";

let fixture: ImapFixture;
beforeEach(async () => {
  fixture = await createFixture();
});
afterEach(async () => {
  await fixture.cleanup();
});

interface CountingStore {
  store: Store;
  calls: { readBlob: number; readBlobBytes: number; readHeaderBlocks: number; aborts: number };
}

/** The fixture's store, counting body reads; `hideHeaders` makes readHeaderBlocks omit those ids. */
function countingStore(hideHeaders: ReadonlySet<string> = new Set()): CountingStore {
  const calls = { readBlob: 0, readBlobBytes: 0, readHeaderBlocks: 0, aborts: 0 };
  const store = spyStore(fixture.store, {
    blobs: (blobs) => ({
      readBlob: (id) => {
        calls.readBlob++;
        return blobs.readBlob(id);
      },
      readBlobBytes: (id, size) => {
        calls.readBlobBytes++;
        return blobs.readBlobBytes(id, size);
      },
      readHeaderBlocks: async (ids) => {
        calls.readHeaderBlocks++;
        const blocks = await blobs.readHeaderBlocks(ids);
        for (const id of hideHeaders) blocks.delete(id);
        return blocks;
      },
      createBlobWriter: async (): Promise<BlobWriter> => {
        const writer = await blobs.createBlobWriter();
        return {
          id: writer.id,
          write: (chunk) => writer.write(chunk),
          finish: () => writer.finish(),
          abort: () => {
            calls.aborts++;
            return writer.abort();
          },
        };
      },
    }),
  });
  return { store, calls };
}

async function selectedDriver(store: Store): Promise<SessionDriver> {
  const driver = new SessionDriver(fixture, { store });
  await driver.login();
  assert.match(await driver.command("S1 SELECT INBOX"), /S1 OK/);
  return driver;
}

/** Sends one command and returns the session's output stream unread. */
async function start(driver: SessionDriver, line: string): Promise<ImapOutput> {
  const items = driver.framer.push(Buffer.from(`${line}\r\n`));
  assert.equal(items.length, 1);
  const item = items[0];
  assert.ok(item !== undefined);
  return (await driver.session.handle(item)).output;
}

async function deliverMany(
  count: number,
  body = (i: number) => `Body of message ${i}.\r\n`,
): Promise<string[]> {
  const raws: string[] = [];
  for (let i = 1; i <= count; i++) {
    const raw = message(`message ${i}`, body(i));
    raws.push(raw);
    await fixture.deliver(raw);
  }
  return raws;
}

/** Every `* n FETCH (... BODY[] {size}\r\n<bytes>)` literal of a FETCH answer, in order. */
function bodyLiterals(output: Buffer): Buffer[] {
  const found: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const at = output.indexOf("BODY[] {", pos, "latin1");
    if (at < 0) return found;
    const close = output.indexOf("}\r\n", at, "latin1");
    const size = Number(output.toString("latin1", at + 8, close));
    found.push(output.subarray(close + 3, close + 3 + size));
    pos = close + 3 + size;
  }
}

describe("FETCH streams its responses", () => {
  test("small responses are joined into one piece, the tagged completion last", async () => {
    await deliverMany(30);
    const driver = await selectedDriver(fixture.store);
    const pieces = await collect(await start(driver, "F1 FETCH 1:* (UID FLAGS)"));
    assert.equal(pieces.length, 2);
    const expected = Array.from(
      { length: 30 },
      (_, i) => `* ${i + 1} FETCH (UID ${i + 1} FLAGS (\\Recent))\r\n`,
    );
    assert.equal(pieces[0]?.toString(), expected.join(""));
    assert.match(pieces[1]?.toString() ?? "", /^F1 OK FETCH completed\r\n$/);
  });

  test("lazy: a consumer that stops after the first piece leaves the other bodies unread", async () => {
    // 8,000-octet bodies: a handful of responses fill the 32 KiB a piece gathers before it goes out;
    // more messages than the read-ahead, so reading them all would show.
    await deliverMany(PREFETCH_COUNT * 3, (i) => `${String(i).padEnd(7998, ".")}\r\n`);
    const counting = countingStore();
    const driver = await selectedDriver(counting.store);
    const output = (await start(driver, "F1 UID FETCH 1:* (BODY.PEEK[])")) as AsyncIterable<Buffer>;
    const iterator = output[Symbol.asyncIterator]();
    const first = (await iterator.next()).value?.toString() ?? "";
    assert.match(first, /^\* 1 FETCH/);
    const answered = first.match(/\* \d+ FETCH/g)?.length ?? 0;
    assert.ok(answered >= 2 && answered <= 5, `${answered} responses in the first piece`);
    await iterator.return?.();
    const reads = counting.calls.readBlobBytes + counting.calls.readBlob;
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(counting.calls.readBlobBytes + counting.calls.readBlob, reads, "no reads after the stop");
    assert.ok(
      reads <= answered + PREFETCH_COUNT,
      `read ${reads} bodies for ${answered} messages (read-ahead is at most ${PREFETCH_COUNT})`,
    );
    assert.match(await driver.command("N1 NOOP"), /N1 OK/);
  });

  test("\\Seen is set for the whole batch before its first response (one store call per batch)", async () => {
    await deliverMany(5);
    const driver = await selectedDriver(fixture.store);
    const output = (await start(driver, "F1 FETCH 1:5 (BODY[TEXT])")) as AsyncIterable<Buffer>;
    const iterator = output[Symbol.asyncIterator]();
    const first = (await iterator.next()).value?.toString() ?? "";
    assert.match(first, /^\* 1 FETCH \(BODY\[TEXT\] .*?FLAGS \(\\Seen \\Recent\)\)\r\n\* 2 FETCH/s);
    await iterator.return?.();
    const flags = (await fixture.store.messages.listMessages(fixture.inbox.id)).map((m) =>
      m.flags.includes("\\Seen"),
    );
    // The batch (up to FETCH_BATCH messages) is marked at once, so a client that stops reading mid-batch
    // may leave a few messages \Seen; header-backfill.test.ts checks one call per batch across a boundary.
    assert.deepEqual(flags, [true, true, true, true, true]);
  });

  test("header items read header blocks, never a message body", async () => {
    const raws = await deliverMany(12);
    const counting = countingStore();
    const driver = await selectedDriver(counting.store);
    const text = await driver.command(
      "F1 FETCH 1:* (UID ENVELOPE RFC822.HEADER BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT)])",
    );
    assert.equal(counting.calls.readBlob + counting.calls.readBlobBytes, 0);
    assert.equal(counting.calls.readHeaderBlocks, 1);
    raws.forEach((raw, i) => {
      const header = raw.slice(0, raw.indexOf("\r\n\r\n") + 4);
      assert.ok(text.includes(`RFC822.HEADER {${header.length}}\r\n${header}`), `header of message ${i + 1}`);
      const subject = `Subject: message ${i + 1}\r\n\r\n`;
      assert.ok(text.includes(`BODY[HEADER.FIELDS (SUBJECT)] {${subject.length}}\r\n${subject}`));
      assert.ok(text.includes(`"message ${i + 1}" (("Bob" NIL "bob" "example.org"))`));
    });
    assert.match(text, /F1 OK FETCH completed/);
  });

  test("a message without a header block falls back to its body, with the same answer", async () => {
    await deliverMany(4);
    const command = "F1 FETCH 1:* (ENVELOPE BODY.PEEK[HEADER])";
    const plain = await (await selectedDriver(fixture.store)).command(command);
    const hidden = (await fixture.store.messages.listMessages(fixture.inbox.id))[2]?.messageId;
    assert.ok(hidden !== undefined);
    const counting = countingStore(new Set([hidden]));
    const fallback = await (await selectedDriver(counting.store)).command(command);
    assert.equal(counting.calls.readBlob + counting.calls.readBlobBytes, 1);
    assert.equal(fallback, plain);
  });

  test("flags, sizes and dates need no body and no header", async () => {
    await deliverMany(3);
    const counting = countingStore();
    const driver = await selectedDriver(counting.store);
    assert.match(
      await driver.command("F1 FETCH 1:* FAST"),
      /\* 3 FETCH \(FLAGS \(\\Recent\) INTERNALDATE "01-Feb-2024 10:00:00 \+0000" RFC822\.SIZE \d+\)/,
    );
    assert.deepEqual(counting.calls, { readBlob: 0, readBlobBytes: 0, readHeaderBlocks: 0, aborts: 0 });
  });

  test("full bodies are exact, small ones read ahead and a large one streamed in pieces", async () => {
    const binary = Buffer.alloc(STREAM_THRESHOLD + 70_000);
    // Every octet but NUL, which no literal carries (session.test.ts shows what takes its place).
    for (let i = 0; i < binary.length; i++) binary[i] = ((i * 7 + (i >> 9)) % 255) + 1;
    const large = Buffer.concat([Buffer.from("Subject: large\r\n\r\n"), binary]);
    const raws = [Buffer.from(message("one")), large, Buffer.from(message("three", "é\r\n.\r\n"))];
    for (const raw of raws) await fixture.deliver(raw);
    const counting = countingStore();
    const driver = await selectedDriver(counting.store);
    const pieces = await collect(await start(driver, "F1 UID FETCH 1:* (UID BODY.PEEK[])"));
    const output = Buffer.concat(pieces);
    assert.deepEqual(bodyLiterals(output), raws);
    assert.equal(counting.calls.readBlob, 1, "the large body is streamed");
    assert.equal(counting.calls.readBlobBytes, 2);
    assert.ok(pieces.length > 5, "the large body arrives in several pieces");
    assert.ok(
      pieces.every((p) => p.length <= STREAM_THRESHOLD),
      "no piece holds the whole large body",
    );
    assert.match(output.toString("latin1"), /F1 OK UID FETCH completed\r\n$/);
  });

  test("a UID range only lists messages in that range and answers EXPUNGEISSUED for a vanished one", async () => {
    await deliverMany(6);
    const driver = await selectedDriver(fixture.store);
    await fixture.store.messages.expunge(fixture.inbox.id, [4]);
    const text = await driver.command("F1 FETCH 3:5 (UID)");
    assert.match(text, /\* 3 FETCH \(UID 3\)\r\n\* 5 FETCH \(UID 5\)\r\n/);
    assert.match(text, /F1 OK \[EXPUNGEISSUED\] FETCH completed/);
  });
});

describe("APPEND streams its literal", () => {
  test("a synchronizing literal is checked first, then written to a blob in pieces", async () => {
    const counting = countingStore();
    const driver = new SessionDriver(fixture, { store: counting.store });
    await driver.login();
    const raw = Buffer.from(message("streamed", "x".repeat(10_000)));
    assert.equal(
      await driver.send(`a APPEND INBOX (\\Seen) {${raw.length}}\r\n`),
      "+ Ready for literal data\r\n",
    );
    for (let at = 0; at < raw.length; at += 999)
      assert.equal(await driver.send(raw.subarray(at, at + 999)), "");
    assert.match(await driver.send("\r\n"), /^a OK \[APPENDUID \d+ 1\] APPEND completed/);
    const stored = await fixture.store.messages.getMessage(fixture.inbox.id, 1);
    assert.ok(stored !== null);
    assert.deepEqual(stored.flags, ["\\Seen"]);
    assert.deepEqual(await fixture.store.blobs.readBlobBytes(stored.messageId), raw);
    assert.equal(counting.calls.aborts, 0);
  });

  test("too big or to a missing mailbox: NO before the client sends it; LITERAL+ bytes are thrown away", async () => {
    const counting = countingStore();
    const driver = new SessionDriver(fixture, { store: counting.store, maxMessageSize: 100 });
    await driver.login();
    assert.match(await driver.send("a APPEND INBOX {101}\r\n"), /^a NO \[TOOBIG\] .*100 octets/);
    assert.match(await driver.send("b APPEND Nowhere {10}\r\n"), /^b NO \[TRYCREATE\]/);
    const text = await driver.send(`c APPEND INBOX {150+}\r\n${"y".repeat(150)}\r\nd NOOP\r\n`);
    assert.match(text, /^c NO \[TOOBIG\].*\r\nd OK NOOP completed\r\n$/);
    assert.equal((await fixture.store.messages.listMessages(fixture.inbox.id)).length, 0);
    assert.equal(counting.calls.aborts, 0, "no writer was opened for a refused APPEND");
  });

  test("a command that turns out malformed after the literal stores nothing", async () => {
    const counting = countingStore();
    const driver = new SessionDriver(fixture, { store: counting.store });
    await driver.login();
    assert.match(await driver.send("a APPEND INBOX {5+}\r\nhello junk\r\n"), /^a BAD/);
    assert.equal(counting.calls.aborts, 1);
    assert.equal((await fixture.store.messages.listMessages(fixture.inbox.id)).length, 0);
  });

  test("the framer's verdict handshake: a refused synchronizing literal is not read", async () => {
    const framer = new CommandFramer();
    const driver = new SessionDriver(fixture);
    await driver.login();
    const items = framer.push(Buffer.from("a APPEND Nowhere {4}\r\n"));
    const first = items[0];
    assert.ok(first?.kind === "literal-start");
    const result = await driver.session.handle(first);
    assert.equal(result.literal, "refused");
    assert.deepEqual(framer.resolveLiteral(false), []);
    const next = framer.push(Buffer.from("b NOOP\r\n"));
    assert.equal(next[0]?.kind, "command");
  });
});
