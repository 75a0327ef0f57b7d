import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { ScriptRefusal } from "../../src/delivery/types.js";
import { MAX_AUTH_LINE } from "../../src/smtp/server/auth.js";
import { OVERLONG_LINE_SLACK } from "../../src/smtp/server/session.js";
import { StoreError } from "../../src/store/types.js";
import { createMailFixture } from "../support/mail-fixture.js";
import { codes, FakeAgent, FakeAuthenticator, harness, testConfig } from "./fakes.js";

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

async function ready(options: Parameters<typeof harness>[0] = {}) {
  const h = harness(options);
  await h.send("EHLO client.example\r\n");
  return h;
}

describe("greeting and simple commands", () => {
  test("greeting, EHLO capabilities, HELO without extensions", async () => {
    const h = harness();
    assert.equal(h.greeting, "220 mx.example.org ESMTP mailroom\r\n");
    const ehlo = await h.send("EHLO client.example\r\n");
    const lines = ehlo.trimEnd().split("\r\n");
    assert.equal(lines[0], "250-mx.example.org Hello client.example");
    for (const extension of [
      "SIZE 10000",
      "8BITMIME",
      "PIPELINING",
      "ENHANCEDSTATUSCODES",
      "SMTPUTF8",
      "CHUNKING",
      "BINARYMIME",
      "DSN",
      "STARTTLS",
      "LIMITS RCPTMAX=5 MAILMAX=3",
    ]) {
      assert.ok(
        lines.some((line) => line.slice(4) === extension),
        extension,
      );
    }
    assert.equal(lines.at(-1), "250 HELP");
    assert.ok(!lines.some((line) => line.slice(4).startsWith("AUTH")), "no AUTH from afar before TLS");
    assert.equal(await h.send("HELO client.example\r\n"), "250 mx.example.org Hello client.example\r\n");
  });
  test("no AUTH line when no mechanism is offered; plaintext ones over TLS", async () => {
    const none = new FakeAuthenticator();
    none.mechanisms = () => [];
    const h = await ready({ authenticator: none });
    assert.doesNotMatch(await h.send("EHLO x\r\n"), /AUTH/);
    const secure = await ready({ tls: { protocol: "TLSv1.3", cipher: "X" } });
    const ehlo = await secure.send("EHLO x\r\n");
    assert.match(ehlo, /250-AUTH X-FINAL PLAIN LOGIN\r\n/);
    assert.doesNotMatch(ehlo, /STARTTLS/);
  });
  test("NOOP, RSET, VRFY, EXPN, HELP, obsolete verbs, unknown, QUIT", async () => {
    const h = await ready();
    assert.equal(await h.send("noop\r\n"), "250 2.0.0 Ok\r\n");
    assert.equal(await h.send("RSET\r\n"), "250 2.0.0 Ok\r\n");
    assert.equal(codes(await h.send("VRFY alice\r\n"))[0], "252");
    assert.equal(codes(await h.send("EXPN list\r\n"))[0], "502");
    assert.match(await h.send("HELP\r\n"), /^214-2\.0\.0 /);
    for (const verb of ["TURN", "SEND FROM:<a@b>", "SOML FROM:<a@b>", "SAML FROM:<a@b>"]) {
      assert.match(await h.send(`${verb}\r\n`), /^502 5\.5\.1 /);
    }
    assert.match(await h.send("FOO\r\n"), /^500 5\.5\.2 /);
    assert.match(await h.send("RSET now\r\n"), /^501 5\.5\.4 /);
    assert.equal(await h.send("QUIT\r\n"), "221 2.0.0 mx.example.org Bye\r\n");
    assert.deepEqual(h.effects, ["close"]);
    assert.equal(await h.send("NOOP\r\n"), "");
  });
  test("bad EHLO argument, sequence errors", async () => {
    const h = harness();
    assert.match(await h.send("EHLO\r\n"), /^501 5\.5\.4 /);
    assert.match(await h.send("EHLO bad(name)\r\n"), /^501 /);
    assert.match(await h.send("MAIL FROM:<a@example.org>\r\n"), /^503 5\.5\.1 /);
    await h.send("EHLO x\r\n");
    assert.match(await h.send("RCPT TO:<a@example.org>\r\n"), /^503 5\.5\.1 /);
    assert.match(await h.send("DATA\r\n"), /^503 5\.5\.1 /);
    await h.send("MAIL FROM:<a@example.org>\r\n");
    assert.match(await h.send("MAIL FROM:<a@example.org>\r\n"), /^503 5\.5\.1 /);
    assert.match(await h.send("DATA\r\n"), /^554 5\.5\.1 No valid recipients/);
  });
  test("LF-only command lines are accepted", async () => {
    const h = await ready();
    assert.equal(await h.send("NOOP\n"), "250 2.0.0 Ok\r\n");
  });
});

describe("a message over DATA", () => {
  test("stores the exact body with trace headers and answers after commit", async () => {
    const h = await ready();
    const replies = await h.send(
      "MAIL FROM:<sender@remote.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n",
    );
    assert.deepEqual(codes(replies), ["250", "250", "354"]);
    const body = "Subject: hi\r\n\r\n..leading dot\r\n\x80 8-bit\r\n";
    const done = await h.send(
      `Subject: hi\r\n\r\n...leading dot\r\n\x80 8-bit\r\n.\r\n`.replace("\x80", "é"),
    );
    assert.equal(done, "250 2.0.0 Ok: queued as msg1\r\n");
    assert.equal(h.agent.commits.length, 1);
    const commit = h.agent.commits[0]!;
    assert.equal(commit.sender, "sender@remote.example");
    assert.deepEqual(commit.recipients, [{ address: "alice@example.org" }]);
    const stored = h.agent.bodies.get("msg1")!.toString("utf8");
    assert.match(
      stored,
      /^Return-Path: <sender@remote\.example>\r\nReceived: from client\.example \(\[192\.0\.2\.7\]\)\r\n\tby mx\.example\.org \(mailroom\) with ESMTP\r\n\tid msg1\r\n\tfor <alice@example\.org>; /,
    );
    assert.ok(stored.endsWith(body.replace("\x80", "é")));
  });
  test("no Return-Path when every recipient is remote; no 'for' with two recipients", async () => {
    const h = await ready({ remoteAddress: "127.0.0.1" });
    await h.send(`AUTH PLAIN ${b64("\0alice@example.org\0secret")}\r\n`);
    await h.send(
      "MAIL FROM:<alice@example.org>\r\nRCPT TO:<x@remote.example>\r\nRCPT TO:<y@remote.example>\r\nDATA\r\n",
    );
    assert.equal(codes(await h.send("hi\r\n.\r\n"))[0], "250");
    const stored = h.agent.bodies.get("msg1")!.toString();
    assert.match(stored, /^Received: /);
    assert.match(stored, /with ESMTPA\r\n/);
    assert.doesNotMatch(stored, /\tfor </);
  });
  test("pipelined MAIL/RCPT/DATA replies come back in one batch", async () => {
    const h = await ready();
    const replies = await h.send(
      "MAIL FROM:<>\r\nRCPT TO:<nobody@example.org>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<bob@elsewhere.example>\r\nDATA\r\n",
    );
    assert.deepEqual(codes(replies), ["250", "550", "250", "554", "354"]);
    const done = await h.send("x\r\n.\r\nMAIL FROM:<a@example.org>\r\nQUIT\r\n");
    assert.deepEqual(codes(done), ["250", "250", "221"]);
    assert.equal(h.agent.commits[0]!.sender, "");
  });
  test("body split byte by byte", async () => {
    const h = await ready();
    await h.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n");
    const wire = "a\r\n..b\r\n.\r\n";
    let replies = "";
    for (const char of wire) replies += await h.send(char);
    assert.equal(codes(replies)[0], "250");
    assert.equal(h.agent.body("msg1"), "a\r\n.b\r\n");
  });
  test("smuggled end markers: one message, refused with 550 5.6.11, nothing stored", async () => {
    for (const marker of ["\n.\n", "\r.\r", "\n.\r\n"]) {
      const h = await ready();
      await h.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n");
      const replies = await h.send(
        `Subject: one\r\n\r\nx${marker}MAIL FROM:<evil@example.org>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n\r\nsmuggled\r\n.\r\n`,
      );
      assert.deepEqual(codes(replies), ["550"], JSON.stringify(marker));
      assert.match(replies, /^550 5\.6\.11 /);
      assert.equal(h.agent.commits.length, 0);
      assert.deepEqual(h.agent.aborted, ["msg1"]);
    }
  });
  test("oversize message: read to the end, 552 5.3.4, blob aborted", async () => {
    const h = await ready({ config: testConfig({ maxMessageSize: 100 }) });
    await h.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n");
    assert.equal(await h.send(`${"0123456789\r\n".repeat(20)}`), "");
    const replies = await h.send(".\r\nNOOP\r\n");
    assert.deepEqual(codes(replies), ["552", "250"]);
    assert.match(replies, /^552 5\.3\.4 /);
    assert.equal(h.agent.commits.length, 0);
    assert.deepEqual(h.agent.aborted, ["msg1"]);
  });
  test("declared SIZE over the limit is refused at MAIL", async () => {
    const h = await ready({ config: testConfig({ maxMessageSize: 100 }) });
    assert.match(await h.send("MAIL FROM:<a@example.org> SIZE=101\r\n"), /^552 5\.3\.4 /);
  });
  test("over-long data line: 500 5.5.2 at the end, nothing stored", async () => {
    const h = await ready({ config: testConfig({ maxDataLine: 20 }) });
    await h.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n");
    const replies = await h.send(`${"x".repeat(30)}\r\n.\r\n`);
    assert.match(replies, /^500 5\.5\.2 /);
    assert.equal(h.agent.commits.length, 0);
  });
  test("commit failure: 451, full store: 452 4.3.1; nothing acknowledged", async () => {
    const h = await ready();
    h.agent.commitError = new Error("disk on fire");
    await h.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n");
    assert.match(await h.send("x\r\n.\r\n"), /^451 4\.3\.0 /);
    h.agent.commitError = new StoreError("full", "no space");
    await h.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n");
    assert.equal(await h.send("x\r\n.\r\n"), "452 4.3.1 Insufficient system storage\r\n");
    assert.equal(h.agent.commits.length, 0);
  });
  test("every recipient's Sieve script refuses: 550 5.7.1 with the reason, the blob removed, the session goes on", async () => {
    const h = await ready();
    h.agent.commitError = new ScriptRefusal("No offers, thanks");
    await h.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n");
    assert.equal(await h.send("x\r\n.\r\n"), "550 5.7.1 No offers, thanks\r\n");
    assert.ok(h.agent.aborted.includes("msg1"));
    assert.equal(h.agent.commits.length, 0);
    h.agent.commitError = null;
    assert.deepEqual(codes(await h.send("MAIL FROM:<a@example.org>\r\n")), ["250"]);
  });
  test("blob write failure mid-body: data still read to the end, then 451", async () => {
    const h = await ready();
    await h.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n");
    h.agent.writeError = new Error("EIO");
    assert.equal(await h.send("line\r\n"), "");
    assert.deepEqual(codes(await h.send("more\r\n.\r\nNOOP\r\n")), ["451", "250"]);
    assert.deepEqual(h.agent.aborted, ["msg1"]);
  });
  test("DATA with BODY=BINARYMIME is refused", async () => {
    const h = await ready();
    await h.send("MAIL FROM:<a@example.org> BODY=BINARYMIME\r\nRCPT TO:<alice@example.org>\r\n");
    assert.match(await h.send("DATA\r\n"), /^503 5\.5\.1 /);
  });
});

describe("MAIL and RCPT", () => {
  test("address syntax and bare addresses", async () => {
    const h = await ready();
    assert.match(await h.send("MAIL FROM:a@example.org\r\n"), /^501 5\.1\.7 .*angle brackets/);
    assert.match(await h.send("MAIL TO:<a@example.org>\r\n"), /^501 5\.5\.4 /);
    assert.match(await h.send("MAIL FROM: <a@example.org>\r\n"), /^250 /);
    assert.match(await h.send("RCPT TO:<>\r\n"), /^501 5\.1\.3 /);
    assert.match(await h.send("RCPT TO:alice@example.org\r\n"), /^501 5\.1\.3 /);
    const bare = await ready({ config: testConfig({ allowBareAddresses: true }) });
    assert.match(await bare.send("MAIL FROM:a@example.org\r\n"), /^250 /);
    assert.match(await bare.send("RCPT TO:alice@example.org\r\n"), /^250 /);
  });
  test("<Postmaster> reaches the server's postmaster", async () => {
    const h = await ready();
    await h.send("MAIL FROM:<a@remote.example>\r\n");
    await h.send("RCPT TO:<Postmaster>\r\n");
    assert.equal(h.agent.checked[0]!.address, "postmaster@mx.example.org");
  });
  test("parameters: unknown 555, DSN kept, HELO sessions take none", async () => {
    const h = await ready();
    assert.match(await h.send("MAIL FROM:<a@example.org> XFOO=1\r\n"), /^555 5\.5\.4 /);
    await h.send("MAIL FROM:<a@example.org> RET=HDRS ENVID=id+2B1\r\n");
    await h.send("RCPT TO:<alice@example.org> NOTIFY=FAILURE ORCPT=rfc822;alice+40example.org\r\nDATA\r\n");
    await h.send("x\r\n.\r\n");
    assert.deepEqual(h.agent.commits[0]!.envelopeDsn, { ret: "HDRS", envid: "id+1" });
    assert.deepEqual(h.agent.commits[0]!.recipients[0]!.dsn, {
      notify: ["FAILURE"],
      orcpt: "rfc822;alice@example.org",
    });
    const helo = harness();
    await helo.send("HELO x\r\n");
    assert.match(await helo.send("MAIL FROM:<a@example.org> SIZE=10\r\n"), /^555 5\.5\.4 /);
  });
  test("SMTPUTF8: UTF-8 addresses only with the parameter; IDN routed as A-labels", async () => {
    const h = await ready();
    assert.match(await h.send("MAIL FROM:<jörg@example.org>\r\n"), /^553 5\.6\.7 /);
    assert.match(await h.send("MAIL FROM:<jörg@example.org> SMTPUTF8\r\n"), /^250 /);
    assert.match(await h.send("RCPT TO:<anna@bücher.example>\r\n"), /^250 /);
    assert.equal(h.agent.checked[0]!.address, "anna@xn--bcher-kva.example");
    await h.send("DATA\r\n");
    await h.send("x\r\n.\r\n");
    assert.match(
      h.agent.bodies.get("msg1")!.toString("utf8"),
      /with UTF8SMTP\r\n[\s\S]*for <anna@bücher\.example>/,
    );
    const plain = await ready();
    await plain.send("MAIL FROM:<a@example.org>\r\n");
    assert.match(await plain.send("RCPT TO:<anna@bücher.example>\r\n"), /^553 5\.6\.7 /);
    assert.match(await plain.send("NOOP é\r\n"), /^500 5\.5\.2 /);
    assert.match(
      await plain.send(Buffer.from([0x4d, 0x41, 0x49, 0x4c, 0x20, 0xff, 0x0d, 0x0a])),
      /^500 5\.5\.2 .*UTF-8/,
    );
  });
  test("relay needs authentication; the agent's verdict is the reply", async () => {
    const h = await ready();
    await h.send("MAIL FROM:<a@example.org>\r\n");
    assert.equal(await h.send("RCPT TO:<x@remote.example>\r\n"), "554 5.7.1 Relay access denied\r\n");
    assert.equal(await h.send("RCPT TO:<nobody@example.org>\r\n"), "550 5.1.1 No such user\r\n");
  });
  test("a failing recipient check is a temporary error", async () => {
    const agent = new FakeAgent();
    agent.checkRecipient = async () => {
      throw new Error("db down");
    };
    const h = await ready({ agent });
    await h.send("MAIL FROM:<a@example.org>\r\n");
    assert.match(await h.send("RCPT TO:<alice@example.org>\r\n"), /^451 4\.3\.0 /);
  });
  test("maxRecipients: 452 4.5.3", async () => {
    const h = await ready({ config: testConfig({ maxRecipients: 2 }) });
    const replies = await h.send(
      "MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<b@example.org>\r\nRCPT TO:<c@example.org>\r\n",
    );
    assert.deepEqual(codes(replies), ["250", "250", "250", "452"]);
    assert.match(replies, /452 4\.5\.3 /);
  });
  test("maxTransactions: 452 4.5.3 on the next MAIL", async () => {
    const h = await ready({ config: testConfig({ maxTransactions: 2 }) });
    const replies = await h.send(
      "MAIL FROM:<a@example.org>\r\nRSET\r\nMAIL FROM:<a@example.org>\r\nRSET\r\nMAIL FROM:<a@example.org>\r\n",
    );
    assert.deepEqual(codes(replies), ["250", "250", "250", "250", "452"]);
  });
  test("EHLO in the middle of a transaction resets it", async () => {
    const h = await ready();
    await h.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.org>\r\nEHLO again\r\n");
    assert.match(await h.send("DATA\r\n"), /^503 /);
  });
});

describe("command line limits and errors", () => {
  test("over-long command line: 500 5.5.6, never executed, even when split", async () => {
    const h = await ready();
    const long = `MAIL FROM:<${"a".repeat(600)}@example.org>`;
    assert.equal(await h.send(long.slice(0, 300)), "");
    assert.equal(await h.send(long.slice(300)), "");
    const replies = await h.send("\r\nRCPT TO:<alice@example.org>\r\n");
    assert.deepEqual(codes(replies), ["500", "503"]);
    assert.match(replies, /^500 5\.5\.6 /);
  });
  test("a line still without a line feed past the limit and the slack: 500 5.5.6 and close at once", async () => {
    const h = await ready();
    const limit = testConfig().maxCommandLine;
    let read = 0;
    let replies = "";
    while (replies === "" && read < 1024 * 1024) {
      replies = await h.send("A".repeat(1000));
      read += 1000;
    }
    assert.match(replies, /^500 5\.5\.6 Line too long; the limit is 512 octets .*closing connection\r\n$/);
    assert.ok(read <= limit + OVERLONG_LINE_SLACK + 1000, `answered after ${read} octets`);
    assert.deepEqual(h.effects, ["close"]);
    assert.equal(await h.send("\r\nNOOP\r\n"), "");
  });
  test("an AUTH line keeps its larger limit while it is discarded", async () => {
    const h = await ready();
    assert.equal(await h.send(`AUTH PLAIN ${"A".repeat(MAX_AUTH_LINE)}`), "");
    assert.equal(await h.send("A".repeat(OVERLONG_LINE_SLACK - 100)), "");
    assert.match(await h.send("\r\n"), /^500 5\.5\.6 Line too long; the limit is 12288 octets/);
    assert.deepEqual(h.effects, []);
  });
  test("NUL in a command", async () => {
    const h = await ready();
    assert.match(await h.send("NO\0OP\r\n"), /^500 5\.5\.2 /);
  });
  test("maxErrors: 421 4.7.0 and close", async () => {
    const h = await ready({ config: testConfig({ maxErrors: 3 }) });
    const replies = await h.send("BAD\r\nBAD\r\nBAD\r\nNOOP\r\n");
    assert.deepEqual(codes(replies), ["500", "500", "500", "421"]);
    assert.match(replies, /421 4\.7\.0 mx\.example\.org Too many errors/);
    assert.deepEqual(h.effects, ["close"]);
  });
  test("property: arbitrary command lines never throw and always get well-formed replies", async () => {
    const alphabet = fc.constantFrom(
      "MAIL",
      "RCPT",
      "FROM:",
      "TO:",
      "<",
      ">",
      "@",
      " ",
      "a",
      ".",
      "=",
      "DATA",
      "BDAT",
      "AUTH",
      "é",
      "\0",
      "\r\n",
      "\n",
      "\r",
      '"',
      "[",
      "]",
      "SIZE",
      "1",
    );
    await fc.assert(
      fc.asyncProperty(fc.array(alphabet, { maxLength: 30 }), async (parts) => {
        const h = harness({ config: testConfig({ maxErrors: 1000 }) });
        await h.send("EHLO x\r\n");
        const replies = await h.send(`${parts.join("")}\r\n`);
        assert.ok(replies.endsWith("\r\n") || replies === "");
        for (const line of replies.split("\r\n").slice(0, -1)) {
          assert.match(line, /^[2345]\d\d[ -]/);
          // No EHLO in the alphabet, so every 2xx/4xx/5xx reply carries an enhanced code (RFC 2034 §3).
          if (/^[245]/.test(line)) assert.match(line, /^\d{3}[ -][245]\.\d{1,3}\.\d{1,3} /, line);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe("BDAT (RFC 3030)", () => {
  test("chunks read exactly, LAST commits, pipelined commands after it run", async () => {
    const h = await ready();
    await h.send("MAIL FROM:<a@example.org> BODY=BINARYMIME\r\nRCPT TO:<alice@example.org>\r\n");
    const replies = await h.send("BDAT 5\r\nab\ncdBDAT 3 LAST\r\n.\r\nNOOP\r\n");
    assert.deepEqual(codes(replies), ["250", "250", "250"]);
    assert.match(replies, /^250 2\.0\.0 5 octets received\r\n250 2\.0\.0 Ok: queued as msg1\r\n/);
    assert.equal(h.agent.body("msg1"), "ab\ncd.\r\n");
  });
  test("BDAT 0 LAST finishes; chunk bytes split across reads", async () => {
    const h = await ready();
    await h.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.org>\r\nBDAT 8\r\nab");
    assert.equal(await h.send("c"), "");
    assert.equal(codes(await h.send("\r\nd\r\nBDAT 0 LAST\r\n")).join(), "250,250");
    assert.equal(h.agent.body("msg1"), "abc\r\nd\r\n");
  });
  test("bare LF without BINARYMIME is refused", async () => {
    const h = await ready();
    await h.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.org>\r\n");
    assert.match(await h.send("BDAT 4 LAST\r\na\nb\n"), /^550 5\.6\.11 /);
    assert.equal(h.agent.commits.length, 0);
  });
  test("BDAT without a transaction: data consumed, not run as commands", async () => {
    const h = await ready();
    const replies = await h.send("BDAT 12\r\nQUIT\r\nQUIT\r\nNOOP\r\n");
    assert.deepEqual(codes(replies), ["503", "250"]);
    assert.deepEqual(h.effects, []);
  });
  test("size bound across chunks, later chunks discarded, then the session continues", async () => {
    const h = await ready({ config: testConfig({ maxMessageSize: 50 }) });
    await h.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.org>\r\n");
    const first = await h.send(`BDAT 30\r\n${"a".repeat(28)}\r\n`);
    assert.equal(codes(first)[0], "250");
    const second = await h.send(`BDAT 30\r\n${"b".repeat(28)}\r\n`);
    assert.match(second, /^552 5\.3\.4 /);
    const last = await h.send(`BDAT 6 LAST\r\nQUIT\r\nNOOP\r\n`);
    assert.deepEqual(codes(last), ["503", "250"]);
    assert.equal(h.agent.commits.length, 0);
    assert.deepEqual(h.agent.aborted, ["msg1"]);
    assert.match(await h.send("MAIL FROM:<a@example.org>\r\n"), /^250 /);
  });
  test("malformed BDAT: 501 and close, as the chunk's end cannot be found", async () => {
    for (const command of ["BDAT x", "BDAT 12345678901234567890", "BDAT 5 LAST now", "BDAT"]) {
      const h = await ready();
      await h.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.org>\r\n");
      assert.match(
        await h.send(`${command}\r\nNOOP\r\n`),
        /^501 5\.5\.4 Syntax: BDAT size \[LAST\]; closing connection\r\n$/,
        command,
      );
      assert.deepEqual(h.effects, ["close"], command);
    }
  });
  test("a BDAT chunk larger than SIZE: 552 5.3.4 before any of it is read, then close", async () => {
    for (const size of ["10001", "999999999999999", "4294967296"]) {
      const h = await ready();
      await h.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.org>\r\nBDAT 3\r\nabc");
      const replies = await h.send(`BDAT ${size} LAST\r\nQUIT\r\n`);
      assert.equal(
        replies,
        "552 5.3.4 Message too big; the limit is 10000 octets; closing connection\r\n",
        size,
      );
      assert.deepEqual(h.effects, ["close"], size);
      assert.deepEqual(h.agent.aborted, ["msg1"], size);
      assert.equal(h.agent.commits.length, 0);
    }
  });
  test("a BDAT chunk of exactly SIZE is read", async () => {
    const h = await ready();
    await h.send("MAIL FROM:<a@example.org> BODY=BINARYMIME\r\nRCPT TO:<alice@example.org>\r\n");
    const replies = await h.send(`BDAT 10000 LAST\r\n${"x".repeat(10_000)}`);
    assert.match(replies, /^250 2\.0\.0 Ok: queued/);
  });
  test("DATA after BDAT and RCPT after BDAT are out of sequence", async () => {
    const h = await ready();
    await h.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.org>\r\nBDAT 3\r\nabc");
    assert.match(await h.send("DATA\r\n"), /^503 /);
    assert.match(await h.send("RCPT TO:<b@example.org>\r\n"), /^503 /);
    await h.send("RSET\r\n");
    assert.deepEqual(h.agent.aborted, ["msg1"]);
  });
});

describe("STARTTLS", () => {
  test("220, starttls effect, injected commands discarded, state forgotten", async () => {
    const h = await ready();
    const replies = await h.send("STARTTLS\r\nMAIL FROM:<evil@example.org>\r\n");
    assert.equal(replies, "220 2.0.0 Ready to start TLS\r\n");
    assert.deepEqual(h.effects, ["starttls"]);
    assert.equal(await h.send("NOOP\r\n"), "");
    h.session.tlsStarted({ protocol: "TLSv1.3", cipher: "TLS_AES_128_GCM_SHA256" });
    assert.match(await h.send("MAIL FROM:<a@example.org>\r\n"), /^503 5\.5\.1 Send EHLO/);
    const ehlo = await h.send("EHLO client.example\r\n");
    assert.doesNotMatch(ehlo, /STARTTLS/);
    assert.match(ehlo, /AUTH X-FINAL PLAIN LOGIN/);
    await h.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\nx\r\n.\r\n");
    assert.match(
      h.agent.bodies.get("msg1")!.toString(),
      /with ESMTPS\r\n\t\(TLSv1\.3 cipher TLS_AES_128_GCM_SHA256\)/,
    );
  });
  test("refused when not offered, after TLS, in a transaction, or with arguments", async () => {
    const off = await ready({ starttls: false });
    assert.match(await off.send("STARTTLS\r\n"), /^502 /);
    const secure = await ready({ tls: { protocol: "TLSv1.3", cipher: "x" } });
    assert.match(await secure.send("STARTTLS\r\n"), /^503 /);
    const h = await ready();
    assert.match(await h.send("STARTTLS now\r\n"), /^501 /);
    await h.send("MAIL FROM:<a@example.org>\r\n");
    assert.match(await h.send("STARTTLS\r\n"), /^503 /);
  });
});

describe("AUTH (RFC 4954)", () => {
  const loopback = { remoteAddress: "127.0.0.1" };
  test("PLAIN with initial response; then 503 on a second AUTH; relay allowed", async () => {
    const h = await ready(loopback);
    assert.equal(
      await h.send(`AUTH PLAIN ${b64("\0alice@example.org\0secret")}\r\n`),
      "235 2.7.0 Authentication successful\r\n",
    );
    assert.match(await h.send("AUTH PLAIN\r\n"), /^503 /);
    await h.send("MAIL FROM:<alice@example.org>\r\n");
    assert.match(await h.send("RCPT TO:<x@remote.example>\r\n"), /^250 /);
    assert.equal(h.agent.checked[0]!.user, "alice@example.org");
  });
  test("PLAIN with an empty challenge, and '=' as an empty initial response", async () => {
    const h = await ready(loopback);
    assert.equal(await h.send("AUTH PLAIN\r\n"), "334 \r\n");
    assert.match(await h.send(`${b64("\0alice@example.org\0secret")}\r\n`), /^235 /);
    const empty = await ready(loopback);
    assert.match(await empty.send("AUTH PLAIN =\r\n"), /^501 5\.5\.2 /);
  });
  test("a user name that is not an address is 535 5.7.8 from the real store, not a temporary failure", async () => {
    const fixture = await createMailFixture({
      dirPrefix: "mailroom-smtp-",
      encoding: "utf8",
      internalDate: () => new Date(),
    });
    try {
      for (const name of ["../../tmp/x", "*", "~root"]) {
        const h = await ready({ ...loopback, authenticator: fixture.authenticator });
        assert.equal(
          await h.send(`AUTH PLAIN ${b64(`\0${name}\0secret`)}\r\n`),
          "535 5.7.8 Authentication credentials invalid\r\n",
          name,
        );
        await h.send("AUTH LOGIN\r\n");
        await h.send(`${b64(name)}\r\n`);
        assert.match(await h.send(`${b64("secret")}\r\n`), /^535 5\.7\.8 /, name);
      }
    } finally {
      await fixture.cleanup();
    }
  });
  test("LOGIN challenges, wrong password 535 5.7.8", async () => {
    const h = await ready(loopback);
    assert.equal(await h.send("AUTH LOGIN\r\n"), `334 ${b64("Username:")}\r\n`);
    assert.equal(await h.send(`${b64("alice@example.org")}\r\n`), `334 ${b64("Password:")}\r\n`);
    assert.match(await h.send(`${b64("wrong")}\r\n`), /^535 5\.7\.8 /);
  });
  test("'*' cancels with 501 5.0.0; bad base64 is 501 5.5.2", async () => {
    const h = await ready(loopback);
    await h.send("AUTH LOGIN\r\n");
    assert.match(await h.send("*\r\n"), /^501 5\.0\.0 /);
    await h.send("AUTH LOGIN\r\n");
    assert.match(await h.send("not base64!\r\n"), /^501 5\.5\.2 /);
    assert.match(await h.send("AUTH PLAIN %%%\r\n"), /^501 5\.5\.2 /);
  });
  test("additional data with success comes as a 334 the client acknowledges", async () => {
    const h = await ready(loopback);
    assert.equal(await h.send("AUTH X-FINAL\r\n"), `334 ${b64("proof?")}\r\n`);
    assert.equal(await h.send(`${b64("proof")}\r\n`), `334 ${b64("v=ok")}\r\n`);
    assert.match(await h.send("\r\n"), /^235 2\.7\.0 /);
  });
  test("any mechanism before TLS where the policy wants TLS: 538 5.7.11; unknown after TLS: 504", async () => {
    const h = await ready();
    assert.match(await h.send("AUTH PLAIN\r\n"), /^538 5\.7\.11 /);
    assert.match(await h.send("AUTH X-FINAL\r\n"), /^538 5\.7\.11 .*STARTTLS/);
    assert.match(await h.send("AUTH\r\n"), /^501 /);
    const secure = await ready({ tls: { protocol: "TLSv1.3", cipher: "X" } });
    assert.match(await secure.send("AUTH CRAM-MD5\r\n"), /^504 5\.5\.4 /);
  });
  test("per-listener policy: what EHLO offers and what AUTH answers, before and after TLS", async () => {
    const tls = { protocol: "TLSv1.3", cipher: "X" };
    const cases = [
      { authPolicy: "off", remoteAddress: "127.0.0.1", tls: null, offered: false, reply: /^502 5\.5\.1 / },
      { authPolicy: "off", remoteAddress: "127.0.0.1", tls, offered: false, reply: /^502 5\.5\.1 / },
      { authPolicy: "tls", remoteAddress: "127.0.0.1", tls: null, offered: false, reply: /^538 5\.7\.11 / },
      { authPolicy: "tls", remoteAddress: "127.0.0.1", tls, offered: true, reply: /^235 / },
      { authPolicy: "tls-or-loopback", remoteAddress: "127.0.0.1", tls: null, offered: true, reply: /^235 / },
      {
        authPolicy: "tls-or-loopback",
        remoteAddress: "192.0.2.7",
        tls: null,
        offered: false,
        reply: /^538 /,
      },
      { authPolicy: "any", remoteAddress: "192.0.2.7", tls: null, offered: true, reply: /^235 / },
    ] as const;
    for (const { offered, reply, ...options } of cases) {
      const label = JSON.stringify(options);
      const h = harness(options);
      const ehlo = await h.send("EHLO x\r\n");
      if (offered) assert.match(ehlo, /250-AUTH X-FINAL PLAIN LOGIN\r\n/, label);
      else assert.doesNotMatch(ehlo, /AUTH/, label);
      assert.match(await h.send(`AUTH PLAIN ${b64("\0alice@example.org\0secret")}\r\n`), reply, label);
    }
  });
  test("submission before TLS: 530 says to start TLS, then AUTH", async () => {
    const h = await ready({ authPolicy: "tls", authRequired: true, remoteAddress: "127.0.0.1" });
    assert.equal(
      await h.send("MAIL FROM:<alice@example.org>\r\n"),
      "530 5.7.0 Authentication required; start TLS with STARTTLS, then log in with AUTH\r\n",
    );
  });
  test("throttled: 454 4.7.0", async () => {
    const authenticator = new FakeAuthenticator();
    authenticator.throttled = true;
    const h = await ready({ ...loopback, authenticator });
    await h.send("AUTH LOGIN\r\n");
    assert.match(await h.send(`${b64("alice@example.org")}\r\n`), /^454 4\.7\.0 /);
  });
  test("not during a transaction, not before EHLO", async () => {
    const h = harness(loopback);
    assert.match(await h.send("AUTH PLAIN =\r\n"), /^503 /);
    await h.send("EHLO x\r\nMAIL FROM:<a@example.org>\r\n");
    assert.match(await h.send("AUTH PLAIN =\r\n"), /^503 /);
  });
  test("submission requires AUTH before MAIL: 530 5.7.0", async () => {
    const h = await ready({ ...loopback, authRequired: true });
    assert.match(await h.send("MAIL FROM:<alice@example.org>\r\n"), /^530 5\.7\.0 /);
    await h.send(`AUTH PLAIN ${b64("\0alice@example.org\0secret")}\r\n`);
    assert.match(await h.send("MAIL FROM:<alice@example.org>\r\n"), /^250 /);
  });
  test("long AUTH lines (up to 12288) are allowed, longer ones are not", async () => {
    const h = await ready(loopback);
    await h.send("AUTH LOGIN\r\n");
    assert.match(await h.send(`${b64("u".repeat(3000))}\r\n`), /^334 /);
    assert.match(await h.send(`${"A".repeat(13000)}\r\n`), /^500 5\.5\.6 /);
  });
});

describe("timeouts, greeting delay and drain", () => {
  test("early talker gets 554 5.5.0 and is closed", async () => {
    const h = harness({ config: testConfig({ greetingDelay: 1000 }) });
    assert.equal(h.greeting, "");
    assert.equal(h.session.nextDeadline(), h.clock.now + 1000);
    assert.match(await h.send("EHLO x\r\n"), /^554 5\.5\.0 /);
    assert.deepEqual(h.effects, ["close"]);
  });
  test("greeting after the delay", async () => {
    const h = harness({ config: testConfig({ greetingDelay: 1000 }) });
    h.clock.now += 999;
    assert.deepEqual((await h.session.tick()).replies, []);
    h.clock.now += 1;
    assert.deepEqual((await h.session.tick()).replies, ["220 mx.example.org ESMTP mailroom\r\n"]);
  });
  test("command timeout is a deadline: trickled bytes do not extend it", async () => {
    const h = await ready({ config: testConfig({ commandTimeout: 10_000 }) });
    for (let second = 0; second < 9; second += 1) {
      h.clock.now += 1000;
      await h.send("N");
    }
    h.clock.now += 1000;
    const output = await h.session.tick();
    assert.match(output.replies.join(""), /^421 4\.4\.2 /);
    assert.deepEqual(output.effects, [{ kind: "close" }]);
  });
  test("data timeout covers the whole DATA phase; the blob is aborted", async () => {
    const h = await ready({ config: testConfig({ commandTimeout: 1000, dataTimeout: 5000 }) });
    await h.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n");
    for (let step = 0; step < 4; step += 1) {
      h.clock.now += 900;
      await h.send("line\r\n");
      assert.deepEqual((await h.session.tick()).replies, []);
    }
    h.clock.now += 2000;
    assert.match((await h.session.tick()).replies.join(""), /^421 4\.4\.2 /);
    assert.deepEqual(h.agent.aborted, ["msg1"]);
  });
  test("drain: idle sessions get 421 4.3.2 at once; a transaction in flight finishes first", async () => {
    const idle = await ready();
    const output = idle.session.drain();
    assert.match(output.replies.join(""), /^421 4\.3\.2 /);
    const busy = await ready();
    await busy.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n");
    assert.deepEqual(busy.session.drain().replies, []);
    const replies = await busy.send("x\r\n.\r\nMAIL FROM:<a@example.org>\r\n");
    assert.deepEqual(codes(replies), ["250", "421"]);
    assert.equal(busy.agent.commits.length, 1);
  });
});
