// BURL (RFC 4468) in the sans-IO SMTP session: chunks fetched from IMAP URLs, alone or mixed with BDAT,
// header completion applied as to any submission, and each refusal failing the transaction the way a
// failed BDAT chunk does. The URL source is a fake here; test/integration/burl.test.ts reads real ones.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { UrlUnavailable } from "../../src/imap/url-access.js";
import type { BurlSource } from "../../src/smtp/server/session.js";
import { codes, FakeAgent, harness, testConfig } from "./fakes.js";

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
const LOGIN = `AUTH PLAIN ${b64("\0alice@example.org\0secret")}\r\n`;
const ENVELOPE = "MAIL FROM:<alice@example.org>\r\nRCPT TO:<carol@example.org>\r\n";
const DRAFT =
  "From: alice@example.org\r\nSubject: draft\r\nDate: Thu, 01 Feb 2024 10:00:00 +0000\r\nMessage-ID: <d@example.org>\r\n\r\nbody\r\n";

/** Answers each URL from a table; records who asked. */
class TableSource implements BurlSource {
  readonly asked: Array<{ user: string; url: string }> = [];
  constructor(private readonly table: Record<string, Buffer | UrlUnavailable | Error>) {}
  async fetch(user: { address: string }, url: string): Promise<Buffer> {
    this.asked.push({ user: user.address, url });
    const found = this.table[url];
    if (found === undefined) throw new UrlUnavailable("not-found", "no such message");
    if (found instanceof Error) throw found;
    return found;
  }
}

async function session(table: Record<string, Buffer | UrlUnavailable | Error>, maxMessageSize = 1_000_000) {
  const burl = new TableSource(table);
  const agent = new FakeAgent();
  const h = harness({
    agent,
    burl,
    authRequired: true,
    submission: true,
    tls: { protocol: "TLSv1.3", cipher: "TLS_AES_128_GCM_SHA256" },
    starttls: false,
    config: testConfig({ maxMessageSize, maxDataLine: 100_000, maxTransactions: 20 }),
  });
  const ehlo = await h.send("EHLO client.example\r\n");
  return { ...h, agent, burl, ehlo };
}

/** The last committed message without this server's trace fields. */
function stored(agent: FakeAgent): string {
  return agent
    .body(agent.commits.at(-1)!.blob.id)
    .replace(/^(?:Return-Path|Received):[\s\S]*?\r\n(?![ \t])/gm, "");
}

describe("SMTP BURL (RFC 4468)", () => {
  test("offered with the imap URL types; one URL with LAST submits it, read as the logged-in user", async () => {
    const h = await session({ "imap://a@mx.example.org/Drafts/;UID=1": Buffer.from(DRAFT) });
    assert.match(h.ehlo, /^250-BURL imap imap:\/\/mx\.example\.org\r$/m);
    assert.match(await h.send(LOGIN), /^235 /);
    const replies = await h.send(`${ENVELOPE}BURL imap://a@mx.example.org/Drafts/;UID=1 LAST\r\n`);
    assert.deepEqual(codes(replies), ["250", "250", "250"], replies);
    assert.equal(h.agent.commits.length, 1);
    assert.match(stored(h.agent), /Subject: draft\r\n[\s\S]*\r\n\r\nbody\r\n$/);
    assert.deepEqual(h.burl.asked, [
      { user: "alice@example.org", url: "imap://a@mx.example.org/Drafts/;UID=1" },
    ]);
  });

  test("BDAT and BURL chunks make one message in order; Date and Message-ID are completed", async () => {
    const header = "From: alice@example.org\r\nSubject: built\r\n";
    const h = await session({
      "imap://a@mx.example.org/Drafts/;UID=1/;SECTION=TEXT": Buffer.from("the fetched body\r\n"),
    });
    await h.send(LOGIN);
    const replies = await h.send(
      `${ENVELOPE}BDAT ${header.length + 2}\r\n${header}\r\nBURL imap://a@mx.example.org/Drafts/;UID=1/;SECTION=TEXT\r\nBDAT 5 LAST\r\nbye\r\n`,
    );
    assert.deepEqual(codes(replies), ["250", "250", "250", "250", "250"], replies);
    const message = stored(h.agent);
    assert.match(
      message,
      /^From: alice@example\.org\r\nSubject: built\r\nDate: .+\r\nMessage-ID: <.+>\r\n\r\nthe fetched body\r\nbye\r\n$/,
    );
  });

  test("refusals: no AUTH, no MAIL, bad syntax, a URL that does not resolve fails the transaction", async () => {
    const h = await session(
      {
        "imap://denied": new UrlUnavailable("denied", "the URL's access identifier does not admit you"),
        "imap://broken": new Error("database down"),
        "imap://big": Buffer.alloc(2000, 0x41),
      },
      1000,
    );
    assert.match(await h.send("BURL imap://x LAST\r\n"), /^530 5\.7\.0 /);
    await h.send(LOGIN);
    assert.match(await h.send("BURL imap://x LAST\r\n"), /^503 5\.5\.1 Send MAIL first/);
    assert.match(await h.send("BURL\r\n"), /^501 5\.5\.4 /);
    assert.match(await h.send("BURL imap://x LAST extra\r\n"), /^501 5\.5\.4 /);
    let replies = await h.send(`${ENVELOPE}BURL imap://missing\r\nBDAT 4 LAST\r\nabcd`);
    assert.deepEqual(codes(replies), ["250", "250", "554", "503"], replies);
    assert.match(replies, /554 5\.6\.6 BURL: no such message/);
    assert.match(await h.send("RSET\r\n"), /^250 /);
    replies = await h.send(`${ENVELOPE}BURL imap://denied LAST\r\n`);
    assert.match(replies, /554 5\.7\.0 BURL: the URL's access identifier does not admit you/);
    replies = await h.send(`${ENVELOPE}BURL imap://broken LAST\r\n`);
    assert.match(replies, /454 4\.6\.6 /);
    assert.doesNotMatch(replies, /database/);
    replies = await h.send(`${ENVELOPE}BURL imap://big LAST\r\n`);
    assert.match(replies, /552 5\.3\.4 /);
    assert.equal(h.agent.commits.length, 0);
    // The session goes on: a message by DATA after the failures is accepted.
    replies = await h.send(`${ENVELOPE}DATA\r\n${DRAFT}.\r\n`);
    assert.deepEqual(codes(replies), ["250", "250", "354", "250"], replies);
  });

  test("not offered, and not a command, where no source is given (the MX listener)", async () => {
    const h = harness({ agent: new FakeAgent() });
    assert.doesNotMatch(await h.send("EHLO client.example\r\n"), /BURL/);
    assert.match(await h.send("BURL imap://x LAST\r\n"), /^500 5\.5\.2 /);
  });
});
