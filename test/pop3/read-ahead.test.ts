// Whole-body RETR and the read-ahead of pipelined RETRs: the bytes are the same as the streaming path,
// the reads are bounded, and a read-ahead never changes what a command answers.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { DotStuffer, stuffedResponse } from "../../src/pop3/body.js";
import { READ_AHEAD_MESSAGES } from "../../src/pop3/session.js";
import { spyStore } from "../support/store-spy.js";
import { createFixture, type Pop3Fixture, SessionDriver } from "./fixtures.js";

function streamed(status: string, body: Buffer): Buffer {
  const stuffer = new DotStuffer();
  return Buffer.concat([Buffer.from(status, "latin1"), stuffer.push(body), stuffer.finish()]);
}

describe("stuffedResponse", () => {
  test("fast-check: the same bytes as DotStuffer, for any text with dots and line ends", () => {
    const piece = fc.constantFrom(".", "..", "\r\n", "\n", "\r", "a", "b c", ".x", "\r\n.\r\n");
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (pieces) => {
        const body = Buffer.from(pieces.join(""), "latin1");
        assert.deepEqual(stuffedResponse("+OK 1 octets\r\n", body), streamed("+OK 1 octets\r\n", body));
      }),
      { numRuns: 200 },
    );
  });

  test("an empty body is just the status and the terminator", () => {
    assert.equal(stuffedResponse("+OK 0 octets\r\n", Buffer.alloc(0)).toString(), "+OK 0 octets\r\n.\r\n");
  });
});

describe("read-ahead of pipelined RETRs", () => {
  const COUNT = READ_AHEAD_MESSAGES + 4;
  let fixture: Pop3Fixture;
  const bodies: string[] = [];

  before(async () => {
    fixture = await createFixture();
    for (let i = 1; i <= COUNT; i++) {
      const body = `Subject: message ${i}\r\n\r\n.line ${i}\r\nend\r\n`;
      bodies.push(body);
      await fixture.deliver(body);
    }
  });
  after(() => fixture.cleanup());

  /** A driver whose store counts whole-body reads. */
  function countingDriver(): { driver: SessionDriver; reads: string[] } {
    const reads: string[] = [];
    const store = spyStore(fixture.store, {
      blobs: (blobs) => ({
        readBlobBytes: (messageId) => {
          reads.push(messageId);
          return blobs.readBlobBytes(messageId);
        },
      }),
    });
    return { driver: new SessionDriver({ ...fixture, store }, { store }), reads };
  }

  const line = (text: string) => ({ kind: "line" as const, line: Buffer.from(text) });

  test("bodies are read ahead up to the bound, once each, and RETR answers with them byte for byte", async () => {
    const { driver, reads } = countingDriver();
    driver.session.readAheadFor(line("RETR 1"));
    assert.equal(reads.length, 0, "nothing is read before login");
    await driver.login();
    for (let i = 1; i <= COUNT; i++) driver.session.readAheadFor(line(`RETR ${i}`));
    driver.session.readAheadFor(line("RETR 1"));
    assert.equal(reads.length, READ_AHEAD_MESSAGES, "bounded, and never twice for one message");
    for (let i = 1; i <= 3; i++) {
      const stuffed = (bodies[i - 1] ?? "").replace(/^\./gm, "..");
      assert.equal(await driver.send(`RETR ${i}`), `+OK ${bodies[i - 1]?.length} octets\r\n${stuffed}.\r\n`);
    }
    assert.equal(reads.length, READ_AHEAD_MESSAGES, "RETR used the bodies read ahead");
    await driver.send("QUIT");
  });

  test("a message deleted after its body was read ahead is still refused", async () => {
    const { driver } = countingDriver();
    await driver.login();
    driver.session.readAheadFor(line("RETR 2"));
    assert.equal(await driver.send("DELE 2"), "+OK message 2 deleted\r\n");
    assert.match(await driver.send("RETR 2"), /^-ERR message 2 is deleted/);
    assert.equal(
      await driver.send("RSET"),
      `+OK maildrop has ${COUNT} messages (${bodies.join("").length} octets)\r\n`,
    );
    assert.match(await driver.send("RETR 2"), /^\+OK /, "after RSET it is read again");
    await driver.send("QUIT");
  });

  test("one RETR at a time: the next message is read while this one goes out", async () => {
    const { driver, reads } = countingDriver();
    await driver.login();
    await driver.send("RETR 5");
    assert.equal(reads.length, 2);
    await driver.send("RETR 6");
    assert.equal(reads.length, 3, "RETR 6 was already read; only 7 is new");
    assert.match(await driver.send(`RETR ${COUNT}`), /^\+OK /);
    assert.equal(reads.length, 4, "nothing past the last message");
    await driver.send("QUIT");
  });
});
