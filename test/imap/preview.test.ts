// PREVIEW (RFC 8970) through the sans-IO session on a real store: JMAP's preview algorithm (textBody
// text, HTML stripped, white space collapsed), at most 200 characters, not setting \Seen.

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { parseEmail } from "../../src/jmap/email/email.js";
import { createFixture, type ImapFixture, message, SessionDriver } from "./fixtures.js";

let fixture: ImapFixture;
beforeEach(async () => {
  fixture = await createFixture();
});
afterEach(async () => {
  await fixture.cleanup();
});

const alternative = message(
  "alt",
  [
    "--b",
    "Content-Type: text/html; charset=utf-8",
    "",
    "<html><head><style>p{}</style></head><body><p>Hello   <b>there</b>,</p>\r\n<p>see&nbsp;you &amp; bye</p></body></html>",
    "--b--",
    "",
  ].join("\r\n"),
  'MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="b"\r\n',
);

async function selected(): Promise<SessionDriver> {
  const driver = new SessionDriver(fixture);
  await driver.login();
  await driver.command("s SELECT INBOX");
  return driver;
}

describe("IMAP PREVIEW (RFC 8970)", () => {
  test("HTML only: its readable text, white space collapsed; LAZY answers the same; \\Seen stays unset", async () => {
    await fixture.deliver(alternative);
    const driver = await selected();
    assert.match(await driver.command("C1 CAPABILITY"), / PREVIEW /);
    const text = await driver.command("f1 FETCH 1 (PREVIEW)");
    assert.equal(text.split("\r\n")[0], '* 1 FETCH (PREVIEW "Hello there, see you & bye")');
    const lazy = await driver.command("f2 UID FETCH 1 (FLAGS PREVIEW (LAZY) UID)");
    assert.match(lazy, /^\* 1 FETCH \(FLAGS \([^)]*\) PREVIEW "Hello there, see you & bye" UID 1\)\r\n/);
    assert.match(await driver.command("f3 FETCH 1 (PREVIEW (EAGER))"), /^f3 BAD .*PREVIEW modifier EAGER/);
    assert.deepEqual((await fixture.store.messages.getMessage(fixture.inbox.id, 1))?.flags, []);
    // One algorithm: JMAP's preview of the same bytes says the same.
    assert.equal(
      parseEmail(Buffer.from(alternative), { partBlobId: (p) => p }).preview,
      "Hello there, see you & bye",
    );
  });

  test("long text is cut at 200 characters; non-ASCII text comes as a UTF-8 literal", async () => {
    await fixture.deliver(message("long", `${"word ".repeat(100)}\r\n`));
    const umlauts = "Grüße aus Köln — ".repeat(20);
    await fixture.deliver(
      message(
        "utf8",
        `${umlauts}\r\n`,
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n",
      ),
    );
    const driver = await selected();
    const long = /PREVIEW "([^"]*)"/.exec(await driver.command("f1 FETCH 1 PREVIEW"));
    // Cut as JMAP cuts it: after collapsing, so the 200th character may be a space.
    assert.equal(long?.[1], "word ".repeat(40));
    const reply = Buffer.from(await driver.command("f2 FETCH 2 PREVIEW"), "latin1");
    const match = /PREVIEW \{(\d+)\}\r\n/.exec(reply.toString("latin1"));
    assert.ok(match, reply.toString("latin1"));
    const start = (match.index ?? 0) + match[0].length;
    const literal = reply.subarray(start, start + Number(match[1])).toString("utf8");
    assert.ok(umlauts.startsWith(literal) || umlauts.trim().startsWith(literal), literal);
    assert.ok(Array.from(literal).length <= 200);
    assert.ok(Buffer.byteLength(literal) <= 256);
  });
});
