// SEARCH BODY and TEXT, which read only the bodies the full-text index does not rule out
// (mail/search-match.ts), must answer exactly as the plain scan does, which evaluates every message of
// the mailbox: random messages (quoted-printable and base64 parts, multipart, attached messages,
// non-ASCII text, case differences) and random search strings, many of them cut from the messages' own
// text.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import fc from "fast-check";
import { matches } from "../../../src/imap/search/evaluate.js";
import type { SearchContext, SearchKey } from "../../../src/imap/search/types.js";
import { createFixture, type ImapFixture, SessionDriver } from "../fixtures.js";

let fixture: ImapFixture;
let driver: SessionDriver;
before(async () => {
  fixture = await createFixture();
  driver = new SessionDriver(fixture);
  await driver.login();
});
after(() => fixture.cleanup());

const piece = fc.constantFrom(
  "Quarterly",
  "quarterly",
  "QUARTERLY report",
  "café",
  "CAFÉ",
  "Straße",
  "STRASSE",
  "ﬁnance",
  "Kelvin",
  "日本語",
  "😀",
  "=3D",
  "100%",
  "under_score",
  " ",
  "\r\n",
  "-",
);
const text = fc.array(piece, { minLength: 1, maxLength: 8 }).map((parts) => parts.join(""));

type Encoding = "7bit" | "quoted-printable" | "base64";
const encoding = fc.constantFrom<Encoding>("7bit", "quoted-printable", "base64");

function quotedPrintable(bytes: Buffer): string {
  let out = "";
  let line = 0;
  for (const byte of bytes) {
    const plain = byte >= 33 && byte <= 126 && byte !== 61;
    const chunk =
      plain || byte === 32
        ? String.fromCharCode(byte)
        : `=${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    // A soft line break (RFC 2045 §6.7 rule 5) now and then, never inside an =XX.
    if (line + chunk.length > 72) {
      out += "=\r\n";
      line = 0;
    }
    out += chunk;
    line += chunk.length;
  }
  return out;
}

function encoded(body: string, how: Encoding): string {
  const bytes = Buffer.from(body, "utf8");
  if (how === "base64") return (bytes.toString("base64").match(/.{1,76}/g) ?? []).join("\r\n");
  return how === "quoted-printable" ? quotedPrintable(bytes) : body;
}

function leaf(body: string, how: Encoding): string {
  return `Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: ${how}\r\n\r\n${encoded(body, how)}`;
}

/** A message of one or more text parts, perhaps with an attached message, and its texts. */
const message = fc
  .record({
    subject: text,
    parts: fc.array(fc.tuple(text, encoding), { minLength: 1, maxLength: 3 }),
    attached: fc.option(fc.tuple(text, text, encoding), { nil: undefined }),
  })
  .map(({ subject, parts, attached }) => {
    const head = `From: Bob <bob@example.org>\r\nTo: alice@example.test\r\nSubject: =?UTF-8?B?${Buffer.from(subject.replace(/\r\n/g, " ")).toString("base64")}?=\r\nMIME-Version: 1.0\r\n`;
    const children = parts.map(([body, how]) => leaf(body, how));
    if (attached !== undefined) {
      const [innerSubject, body, how] = attached;
      children.push(
        `Content-Type: message/rfc822\r\n\r\nSubject: ${innerSubject.replace(/\r\n/g, " ")}\r\n${leaf(body, how)}`,
      );
    }
    const bytes =
      children.length === 1
        ? `${head}${children[0]}\r\n`
        : `${head}Content-Type: multipart/mixed; boundary="b"\r\n\r\n${children.map((child) => `--b\r\n${child}\r\n`).join("")}--b--\r\n`;
    return { bytes: Buffer.from(bytes, "utf8"), texts: [subject, ...parts.map(([body]) => body)] };
  });

/** A search string: a cut from some message's text in either case, a piece, or a short string. */
const needle = (texts: readonly string[]) =>
  fc.oneof(
    fc
      .tuple(fc.constantFrom(...texts), fc.nat(), fc.integer({ min: 1, max: 12 }), fc.boolean())
      .map(([source, start, length, upper]) => {
        const chars = Array.from(source);
        const from = start % chars.length;
        const cut = chars.slice(from, from + length).join("");
        return upper ? cut.toUpperCase() : cut.toLowerCase();
      }),
    piece,
    fc.constantFrom("qu", "é", "ss", "ing", "xyz"),
  );

const context: SearchContext = { maxSeq: 0, maxUid: 0, savedUids: new Set() };
let mailboxes = 0;

function literal(value: string): string {
  return `{${Buffer.byteLength(value, "utf8")}}\r\n${value}`;
}

test("SEARCH BODY and TEXT narrowed by the index answer as the plain scan does", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc
        .array(message, { minLength: 1, maxLength: 4 })
        .chain((messages) =>
          fc.tuple(
            fc.constant(messages),
            needle(messages.flatMap((m) => m.texts)),
            fc.constantFrom<"body" | "text">("body", "text"),
          ),
        ),
      async ([messages, wanted, type]) => {
        const name = `P${++mailboxes}`;
        const mailbox = await fixture.store.mailboxes.createMailbox(fixture.userId, name);
        const uids: number[] = [];
        for (const m of messages) uids.push(await fixture.deliver(m.bytes, mailbox.id));
        const key: SearchKey = { type, value: wanted };
        const scanned = uids.filter((uid, index) =>
          matches(
            key,
            {
              seq: index + 1,
              uid,
              flags: [],
              internalDate: new Date(),
              savedDate: new Date(),
              size: messages[index]!.bytes.length,
              modseq: 1,
              body: () => messages[index]!.bytes,
            },
            context,
          ),
        );
        assert.match(await driver.command(`s SELECT ${name}`), /s OK/);
        const reply = await driver.send(
          `t UID SEARCH CHARSET UTF-8 ${type.toUpperCase()} ${literal(wanted)}\r\n`,
        );
        const line = /^\* SEARCH([^\r]*)/m.exec(reply);
        assert.ok(line, reply);
        const found = (line[1] ?? "").trim() === "" ? [] : (line[1] ?? "").trim().split(" ").map(Number);
        assert.deepEqual(found, scanned);
      },
    ),
    { numRuns: 150 },
  );
});
