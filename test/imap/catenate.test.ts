// CATENATE (RFC 4469) through the sans-IO session on a real store: TEXT literals streamed like message
// literals, URL parts resolved in the user's own mailboxes through BODY[section], the result stored all
// or none, and each refusal's response code.

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { createFixture, type ImapFixture, message, SessionDriver } from "./fixtures.js";

let fixture: ImapFixture;
beforeEach(async () => {
  fixture = await createFixture();
});
afterEach(async () => {
  await fixture.cleanup();
});

const multipart = Buffer.from(
  message(
    "parts",
    "--b\r\nContent-Type: text/plain\r\n\r\nfirst part\r\n--b\r\nContent-Type: text/plain\r\n\r\nsecond part\r\n--b--\r\n",
    'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n',
  ),
);

async function seed(): Promise<{ driver: SessionDriver; validity: number }> {
  const driver = new SessionDriver(fixture);
  await driver.login();
  const text = await driver.send(
    Buffer.concat([Buffer.from(`s APPEND INBOX {${multipart.length}+}\r\n`), multipart, Buffer.from("\r\n")]),
  );
  assert.match(text, /^s OK \[APPENDUID \d+ 1\]/);
  const status = await fixture.store.mailboxes.getMailboxById(fixture.inbox.id);
  return { driver, validity: status?.uidValidity ?? 0 };
}

async function stored(uid: number): Promise<Buffer> {
  const entry = await fixture.store.messages.getMessage(fixture.inbox.id, uid);
  assert.ok(entry !== null, `no message with UID ${uid}`);
  return fixture.store.blobs.readBlobBytes(entry.messageId);
}

describe("IMAP CATENATE (RFC 4469)", () => {
  test("TEXT, a section's MIME header and body, a whole message: the bytes in order, streamed TEXT too", async () => {
    const { driver, validity } = await seed();
    assert.match(await driver.command("c CAPABILITY"), / CATENATE /);
    const head =
      "Subject: built\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\n";
    const mid = "\r\n--z\r\nContent-Type: message/rfc822\r\n\r\n";
    assert.equal(
      await driver.send(`a APPEND INBOX (\\Seen) CATENATE (TEXT {${head.length}}\r\n`),
      "+ Ready for literal data\r\n",
    );
    const done = await driver.send(
      `${head} URL "/INBOX;UIDVALIDITY=${validity}/;UID=1/;SECTION=2.MIME" URL "/inbox;UIDVALIDITY=${validity}/;UID=1/;SECTION=2" TEXT {${mid.length}+}\r\n${mid} URL "/INBOX/;UID=1" TEXT {9+}\r\n\r\n--z--\r\n)\r\n`,
    );
    assert.match(done, new RegExp(`^a OK \\[APPENDUID ${validity} 2\\] APPEND completed\\r\\n$`));
    const expected = `${head}Content-Type: text/plain\r\n\r\nsecond part${mid}${multipart.toString()}\r\n--z--\r\n`;
    assert.equal((await stored(2)).toString(), expected);
    const entry = await fixture.store.messages.getMessage(fixture.inbox.id, 2);
    assert.deepEqual(entry?.flags, ["\\Seen"]);
  });

  test("URL parts only, with PARTIAL and HEADER.FIELDS; MULTIAPPEND of a CATENATE and a plain message", async () => {
    const { driver, validity } = await seed();
    const base = `/INBOX;UIDVALIDITY=${validity}/;UID=1`;
    const one = await driver.command(
      `a APPEND INBOX CATENATE (URL "${base}/;SECTION=HEADER.FIELDS%20(SUBJECT)" URL "${base}/;SECTION=1/;PARTIAL=0.5")`,
    );
    assert.match(one, /^a OK \[APPENDUID \d+ 2\]/);
    assert.equal((await stored(2)).toString(), "Subject: parts\r\n\r\nfirst");
    const two = await driver.send(`b APPEND INBOX CATENATE (URL "${base}/;SECTION=TEXT") {5+}\r\nhello\r\n`);
    assert.match(two, /^b OK \[APPENDUID \d+ 3:4\]/);
    assert.equal((await stored(4)).toString(), "hello");
  });

  test("BADURL for each URL that does not resolve; nothing stored, the streamed TEXT thrown away", async () => {
    const { driver, validity } = await seed();
    await driver.command("c CREATE Other");
    const bad = [
      `/INBOX;UIDVALIDITY=${validity + 1}/;UID=1`,
      `/INBOX;UIDVALIDITY=${validity}/;UID=9`,
      `/Nowhere;UIDVALIDITY=${validity}/;UID=1`,
      `/Other/;UID=1`,
      `/INBOX;UIDVALIDITY=${validity}/;UID=1/;SECTION=7`,
      `/INBOX;UIDVALIDITY=${validity}/;UID=1/;SECTION=BOGUS`,
      `imap://alice@example.test/INBOX/;UID=1`,
      `/INBOX/;UID=1;URLAUTH=anonymous:internal:0123`,
      "/INBOX]x/;UID=1",
    ];
    for (const url of bad) {
      const text = await driver.send(`a APPEND INBOX CATENATE (TEXT {4+}\r\nab\r\n URL "${url}")\r\n`);
      const shown = url.replace("]", "");
      assert.equal(text.split(" [")[1]?.split("]")[0], `BADURL ${shown}`, `for ${url}: ${text}`);
      assert.match(text, /^a NO /);
    }
    // At a later synchronizing TEXT literal the BADURL comes instead of the "+".
    const early = await driver.send(`b APPEND INBOX CATENATE (URL "/INBOX/;UID=9" TEXT {3}\r\n`);
    assert.match(early, /^b NO \[BADURL \/INBOX\/;UID=9\] /);
    assert.match(await driver.command("n NOOP"), /^n OK/);
    assert.equal((await fixture.store.messages.listMessages(fixture.inbox.id)).length, 1);
  });

  test("TOOBIG when the result passes APPENDLIMIT, TRYCREATE for a missing mailbox", async () => {
    const driver = new SessionDriver(fixture, { maxMessageSize: multipart.length + 10 });
    await driver.login();
    await driver.send(
      Buffer.concat([
        Buffer.from(`s APPEND INBOX {${multipart.length}+}\r\n`),
        multipart,
        Buffer.from("\r\n"),
      ]),
    );
    const over = await driver.command(
      `a APPEND INBOX CATENATE (URL "/INBOX/;UID=1" URL "/INBOX/;UID=1/;SECTION=2")`,
    );
    assert.match(over, /^a NO \[TOOBIG\] /);
    const literal = await driver.send(`b APPEND INBOX CATENATE (URL "/INBOX/;UID=1" TEXT {11}\r\n`);
    assert.match(literal, /^b NO \[TOOBIG\] /);
    const missing = await driver.command(`c APPEND Nowhere CATENATE (URL "/INBOX/;UID=1")`);
    assert.match(missing, /^c NO \[TRYCREATE\] /);
    assert.equal((await fixture.store.messages.listMessages(fixture.inbox.id)).length, 1);
  });

  test("a TEXT part past the in-memory literal limit streams; a failing later MULTIAPPEND part stores none", async () => {
    const { driver } = await seed();
    const big = `X-Pad: ${"p".repeat(100 * 1024)}\r\n`;
    const text = await driver.send(
      `a APPEND INBOX CATENATE (TEXT {${big.length}+}\r\n${big} URL "/INBOX/;UID=1/;SECTION=TEXT")\r\n`,
    );
    assert.match(text, /^a OK \[APPENDUID \d+ 2\]/);
    const body = multipart.subarray(multipart.indexOf("\r\n\r\n") + 4).toString();
    assert.equal((await stored(2)).toString(), big + body);
    const refused = await driver.send(
      `b APPEND INBOX {5+}\r\nhello CATENATE (TEXT {3+}\r\nabc URL "/INBOX/;UID=77") {5+}\r\nworld\r\n`,
    );
    assert.match(refused, /^b NO \[BADURL \/INBOX\/;UID=77\] /);
    assert.equal((await fixture.store.messages.listMessages(fixture.inbox.id)).length, 2);
  });

  test("a URL given as a literal is read as the URL, not streamed as a message", async () => {
    const { driver } = await seed();
    const url = "/INBOX/;UID=1/;SECTION=2";
    const text = await driver.send(`a APPEND INBOX CATENATE (URL {${url.length}+}\r\n${url})\r\n`);
    assert.match(text, /^a OK \[APPENDUID \d+ 2\]/);
    assert.equal((await stored(2)).toString(), "second part");
  });
});
