import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { keyNeedsBody, matches, sentDay } from "../../../src/imap/search/evaluate.js";
import type { SearchableMessage, SearchContext, SearchKey } from "../../../src/imap/search/types.js";

const RAW = [
  "From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.org>",
  "To: Bob <bob@example.net>",
  "Cc: carol@example.com",
  "Bcc: dave@example.com",
  "Subject: =?UTF-8?B?w7xiZXIgZGllIEJyw7xja2U=?= report",
  "Date: Mon, 31 Mar 2025 23:30:00 -0700",
  "X-Tracking: abc123",
  "X-Empty:",
  "MIME-Version: 1.0",
  'Content-Type: multipart/mixed; boundary="b"',
  "",
  "--b",
  "Content-Type: text/plain; charset=iso-8859-1",
  "Content-Transfer-Encoding: quoted-printable",
  "",
  "Gr=FC=DFe aus K=F6ln, see the Quarterly numbers",
  "--b",
  "Content-Type: application/octet-stream",
  "Content-Transfer-Encoding: base64",
  "",
  Buffer.from("secret attachment words").toString("base64"),
  "--b--",
  "",
].join("\r\n");

function message(overrides: Partial<SearchableMessage> = {}): SearchableMessage & { reads: number } {
  const m = {
    seq: 3,
    uid: 40,
    flags: ["\\Seen", "\\Flagged", "$Important"],
    internalDate: new Date("2025-04-01T06:30:00Z"),
    savedDate: new Date("2025-04-03T23:59:59Z"),
    size: 2000,
    modseq: 17,
    reads: 0,
    body() {
      m.reads++;
      return Buffer.from(RAW, "latin1");
    },
    ...overrides,
  };
  return m;
}

const context: SearchContext = { maxSeq: 10, maxUid: 90, savedUids: new Set([40, 41]) };
const check = (key: SearchKey, m: SearchableMessage = message()) => matches(key, m, context);
const day = (year: number, month: number, d: number) => ({ year, month, day: d });

describe("search keys", () => {
  test("ALL", () => assert.equal(check({ type: "all" }), true));

  test("system flags and keywords, set and unset, case-insensitively", () => {
    assert.equal(check({ type: "flag", flag: "\\Seen", set: true }), true);
    assert.equal(check({ type: "flag", flag: "\\seen", set: false }), false);
    assert.equal(check({ type: "flag", flag: "\\Answered", set: true }), false);
    assert.equal(check({ type: "flag", flag: "\\Answered", set: false }), true);
    assert.equal(check({ type: "flag", flag: "\\Deleted", set: true }), false);
    assert.equal(check({ type: "flag", flag: "\\Draft", set: false }), true);
    assert.equal(check({ type: "flag", flag: "$important", set: true }), true);
    assert.equal(check({ type: "flag", flag: "$Junk", set: false }), true);
    assert.equal(check({ type: "flag", flag: "\\Flagged", set: true }, message({ flags: new Set() })), false);
  });

  test("FROM/TO/CC/BCC/SUBJECT search decoded header text", () => {
    assert.equal(check({ type: "address", field: "from", value: "andré" }), true);
    assert.equal(check({ type: "address", field: "from", value: "ANDRE@EXAMPLE" }), true);
    assert.equal(check({ type: "address", field: "from", value: "bob" }), false);
    assert.equal(check({ type: "address", field: "to", value: "bob@example.net" }), true);
    assert.equal(check({ type: "address", field: "cc", value: "carol" }), true);
    assert.equal(check({ type: "address", field: "bcc", value: "dave" }), true);
    assert.equal(check({ type: "address", field: "bcc", value: "carol" }), false);
    assert.equal(check({ type: "header", field: "subject", value: "ÜBER DIE BRÜCKE REPORT" }), true);
    assert.equal(check({ type: "header", field: "subject", value: "w7xiZXI" }), false);
  });

  test('FROM/TO/CC/BCC match the parsed addresses as "name <address>", not comments or raw spelling', () => {
    const raw = [
      'From: "Bob Smith" (the boss) <bob@example.org>',
      "To: =?UTF-8?Q?J=C3=B6rg?= <joerg@example.net>, team: ann@example.com;",
      "Cc: carol@example.com (Carol C)",
      "",
      "x",
    ].join("\r\n");
    const m = message({ body: () => Buffer.from(raw, "utf8") });
    const from = (value: string) => check({ type: "address", field: "from", value }, m);
    const to = (value: string) => check({ type: "address", field: "to", value }, m);
    assert.deepEqual(
      ["bob smith <bob@", "Smith", "bob@example.org>", "the boss", '"Bob', 'Smith" '].map(from),
      [true, true, true, false, false, false],
    );
    assert.deepEqual(
      ["jörg <joerg@example.net>", "=?UTF-8", "ann@example.com", "team", "ann@example.com;"].map(to),
      [true, false, true, false, false],
    );
    // An old-style trailing comment is the name ENVELOPE gives, so it is that name that matches.
    assert.equal(check({ type: "address", field: "cc", value: "Carol C <carol@" }, m), true);
    assert.equal(check({ type: "address", field: "cc", value: "(carol" }, m), false);
    assert.equal(check({ type: "address", field: "bcc", value: "" }, m), false);
    assert.equal(check({ type: "address", field: "from", value: "" }, m), true);
    // HEADER still reads the field's text.
    assert.equal(check({ type: "header", field: "from", value: "(the boss)" }, m), true);
  });

  test("HEADER with an empty string matches when the field exists", () => {
    assert.equal(check({ type: "header", field: "X-Empty", value: "" }), true);
    assert.equal(check({ type: "header", field: "x-tracking", value: "C12" }), true);
    assert.equal(check({ type: "header", field: "X-Missing", value: "" }), false);
  });

  test("BODY searches decoded text parts only; TEXT adds headers", () => {
    assert.equal(check({ type: "body", value: "grüße aus köln" }), true);
    assert.equal(check({ type: "body", value: "quarterly NUMBERS" }), true);
    assert.equal(check({ type: "body", value: "=FC" }), false);
    assert.equal(check({ type: "body", value: "secret attachment" }), false);
    assert.equal(check({ type: "body", value: "Brücke" }), false);
    assert.equal(check({ type: "text", value: "Brücke" }), true);
    assert.equal(check({ type: "text", value: "köln" }), true);
    assert.equal(check({ type: "text", value: "octet-stream" }), true);
    assert.equal(check({ type: "text", value: "nowhere to be found" }), false);
  });

  test("BEFORE/ON/SINCE compare the internal date's day", () => {
    assert.equal(check({ type: "internalDate", op: "on", date: day(2025, 4, 1) }), true);
    assert.equal(check({ type: "internalDate", op: "on", date: day(2025, 3, 31) }), false);
    assert.equal(check({ type: "internalDate", op: "before", date: day(2025, 4, 1) }), false);
    assert.equal(check({ type: "internalDate", op: "before", date: day(2025, 4, 2) }), true);
    assert.equal(check({ type: "internalDate", op: "since", date: day(2025, 4, 1) }), true);
    assert.equal(check({ type: "internalDate", op: "since", date: day(2025, 4, 2) }), false);
  });

  test("SAVEDBEFORE/SAVEDON/SAVEDSINCE (RFC 8514) compare the save date's day, not the internal date's", () => {
    assert.equal(check({ type: "savedDate", op: "on", date: day(2025, 4, 3) }), true);
    assert.equal(check({ type: "savedDate", op: "on", date: day(2025, 4, 1) }), false);
    assert.equal(check({ type: "savedDate", op: "before", date: day(2025, 4, 3) }), false);
    assert.equal(check({ type: "savedDate", op: "before", date: day(2025, 4, 4) }), true);
    assert.equal(check({ type: "savedDate", op: "since", date: day(2025, 4, 3) }), true);
    assert.equal(check({ type: "savedDate", op: "since", date: day(2025, 4, 4) }), false);
  });

  test("SENTBEFORE/SENTON/SENTSINCE use the Date: header's own day, not UTC", () => {
    // 23:30 -0700 on 31 Mar is 1 Apr in UTC; the sender's day is what counts.
    assert.equal(check({ type: "sentDate", op: "on", date: day(2025, 3, 31) }), true);
    assert.equal(check({ type: "sentDate", op: "on", date: day(2025, 4, 1) }), false);
    assert.equal(check({ type: "sentDate", op: "before", date: day(2025, 4, 1) }), true);
    assert.equal(check({ type: "sentDate", op: "since", date: day(2025, 4, 1) }), false);
    assert.deepEqual(sentDay("1 Jan 99 00:00 GMT"), day(1999, 1, 1));
    assert.equal(sentDay("yesterday"), null);
  });

  test("LARGER and SMALLER are strict", () => {
    assert.equal(check({ type: "size", op: "larger", octets: 1999 }), true);
    assert.equal(check({ type: "size", op: "larger", octets: 2000 }), false);
    assert.equal(check({ type: "size", op: "smaller", octets: 2001 }), true);
    assert.equal(check({ type: "size", op: "smaller", octets: 2000 }), false);
  });

  test("NOT, OR and lists", () => {
    const seen: SearchKey = { type: "flag", flag: "\\Seen", set: true };
    const deleted: SearchKey = { type: "flag", flag: "\\Deleted", set: true };
    assert.equal(check({ type: "not", key: seen }), false);
    assert.equal(check({ type: "not", key: deleted }), true);
    assert.equal(check({ type: "or", left: deleted, right: seen }), true);
    assert.equal(check({ type: "or", left: deleted, right: deleted }), false);
    assert.equal(check({ type: "and", keys: [seen, { type: "not", key: deleted }] }), true);
    assert.equal(check({ type: "and", keys: [seen, deleted] }), false);
  });

  test("sequence sets and UID sets, with * and reversed ranges", () => {
    const ranges = (...r: [number | "*", number | "*"][]) => ({
      kind: "ranges" as const,
      ranges: r.map(([start, end]) => ({ start, end })),
    });
    assert.equal(check({ type: "sequence", set: ranges([1, 2], [3, 3]) }), true);
    assert.equal(check({ type: "sequence", set: ranges([4, "*"]) }), false);
    assert.equal(check({ type: "sequence", set: ranges(["*", 2]) }), true);
    assert.equal(check({ type: "uid", set: ranges([40, 40]) }), true);
    assert.equal(check({ type: "uid", set: ranges([41, "*"]) }), false);
    // RFC 9051 §6.4.8: n:* includes the last UID even when n is larger than it.
    assert.equal(check({ type: "uid", set: ranges([500, "*"]) }, message({ uid: 90 })), true);
    assert.equal(check({ type: "uid", set: { kind: "saved" } }), true);
    assert.equal(check({ type: "sequence", set: { kind: "saved" } }, message({ uid: 42 })), false);
    assert.equal(
      matches({ type: "uid", set: { kind: "saved" } }, message(), { maxSeq: 1, maxUid: 1 }),
      false,
    );
  });

  test("MODSEQ, OLDER and YOUNGER", () => {
    assert.equal(check({ type: "modseq", modseq: 17n }), true);
    assert.equal(check({ type: "modseq", modseq: 18n }), false);
    const now = new Date("2025-04-01T07:30:00Z");
    const ctx = { ...context, now };
    assert.equal(matches({ type: "age", op: "older", seconds: 3599 }, message(), ctx), true);
    assert.equal(matches({ type: "age", op: "older", seconds: 3600 }, message(), ctx), false);
    assert.equal(matches({ type: "age", op: "younger", seconds: 3600 }, message(), ctx), true);
    assert.equal(matches({ type: "age", op: "younger", seconds: 3599 }, message(), ctx), false);
  });
});

describe("body access", () => {
  test("flag-only keys never read the message; text keys read it once", () => {
    const flagsOnly: SearchKey = {
      type: "and",
      keys: [
        { type: "flag", flag: "\\Seen", set: true },
        { type: "size", op: "larger", octets: 1 },
      ],
    };
    assert.equal(keyNeedsBody(flagsOnly), false);
    const m = message();
    check(flagsOnly, m);
    assert.equal(m.reads, 0);
    const textKeys: SearchKey = {
      type: "and",
      keys: [
        { type: "body", value: "köln" },
        { type: "text", value: "report" },
        { type: "address", field: "to", value: "bob" },
      ],
    };
    assert.equal(keyNeedsBody(textKeys), true);
    assert.equal(
      keyNeedsBody({ type: "not", key: { type: "sentDate", op: "on", date: day(2025, 1, 1) } }),
      true,
    );
    assert.equal(check(textKeys, m), true);
    assert.equal(m.reads, 1);
  });

  test("a message without a Date: header falls back to the internal date for SENT*", () => {
    const m = message({ body: () => Buffer.from("Subject: x\r\n\r\ny") });
    assert.equal(check({ type: "sentDate", op: "on", date: day(2025, 4, 1) }, m), true);
  });

  test("garbage bytes are searched without throwing", () => {
    const m = message({ body: () => Buffer.from([0xff, 0x00, 0x3d, 0x3f, 0x0a, 0x0a, 0xc3]) });
    assert.equal(check({ type: "text", value: "zzz" }, m), false);
    assert.equal(check({ type: "header", field: "", value: "" }, m), false);
  });
});
