// The pure parts of the client: DATA dot-stuffing across chunk boundaries, and bounded reply parsing.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { DotStuffer, dotStuff } from "../../../src/smtp/client/dot-stuff.js";
import { xtext } from "../../../src/smtp/client/params.js";
import {
  MAX_REPLY_LINE,
  MAX_REPLY_LINES,
  ReplyParser,
  toReply,
} from "../../../src/smtp/client/reply-parser.js";

/** What a receiver does (RFC 5321 §4.5.2): strip the terminator, then one leading dot per line. */
function unstuff(wire: string): string {
  assert.ok(wire.endsWith("\r\n.\r\n") || wire === ".\r\n", "terminated by CRLF . CRLF");
  const body = wire === ".\r\n" ? "" : wire.slice(0, -3);
  return body
    .split("\r\n")
    .map((line) => (line.startsWith(".") ? line.slice(1) : line))
    .join("\r\n");
}

describe("dot-stuffing", () => {
  test("any body split anywhere: the receiver gets the body back, with CRLF line ends", () => {
    const bodyChars = fc.constantFrom("a", ".", "\r\n", "\n", " ", "..");
    fc.assert(
      fc.property(
        fc.array(bodyChars, { maxLength: 60 }),
        fc.array(fc.nat(80), { maxLength: 5 }),
        (parts, cuts) => {
          const body = Buffer.from(parts.join(""));
          const stuffer = new DotStuffer();
          const points = [...new Set(cuts.map((cut) => Math.min(cut, body.length)))].sort((a, b) => a - b);
          const pieces: Buffer[] = [];
          let from = 0;
          for (const point of [...points, body.length]) {
            pieces.push(stuffer.push(body.subarray(from, point)));
            from = point;
          }
          pieces.push(stuffer.end());
          const wire = Buffer.concat(pieces).toString();
          assert.equal(wire, dotStuff(body).toString(), "chunking does not change the bytes");
          const expected = body.toString().replace(/\r?\n/g, "\r\n");
          const withFinalCrlf = expected === "" || expected.endsWith("\r\n") ? expected : `${expected}\r\n`;
          assert.equal(unstuff(wire), withFinalCrlf);
          assert.doesNotMatch(wire, /(^|[^\r])\n/, "no bare LF on the wire");
        },
      ),
      { numRuns: 200 },
    );
  });

  test("exact bytes for the classic cases", () => {
    assert.equal(dotStuff(Buffer.from("")).toString(), ".\r\n");
    assert.equal(dotStuff(Buffer.from(".")).toString(), "..\r\n.\r\n");
    assert.equal(dotStuff(Buffer.from("a\r\n.\r\n")).toString(), "a\r\n..\r\n.\r\n");
    assert.equal(dotStuff(Buffer.from("x.y\r\n")).toString(), "x.y\r\n.\r\n");
  });

  test("xtext encodes +, = and bytes outside printable ASCII", () => {
    assert.equal(xtext("a+b=c d\u00e9"), "a+2Bb+3Dc+20d+C3+A9");
  });
});

describe("reply parsing", () => {
  test("multiline replies, split across chunks; enhanced codes only when the class matches", () => {
    const parser = new ReplyParser();
    assert.deepEqual(parser.push(Buffer.from("250-first\r\n250-sec")), []);
    const [reply] = parser.push(Buffer.from("ond\r\n250 last\r\n"));
    assert.deepEqual(reply, { code: 250, lines: ["first", "second", "last"] });
    assert.deepEqual(toReply({ code: 550, lines: ["5.1.1 no such user"] }), {
      code: 550,
      enhanced: "5.1.1",
      text: "no such user",
    });
    assert.equal(toReply({ code: 550, lines: ["2.1.1 odd"] }).enhanced, null);
    assert.deepEqual(parser.push(Buffer.from("354\r\n")), [{ code: 354, lines: [""] }]);
  });

  test("bounds and malformed input are errors, not growth", () => {
    assert.throws(() => new ReplyParser().push(Buffer.alloc(MAX_REPLY_LINE + 1, 0x61)), /longer than/);
    const many = Buffer.from("250-x\r\n".repeat(MAX_REPLY_LINES + 1));
    assert.throws(() => new ReplyParser().push(many), /lines/);
    assert.throws(() => new ReplyParser().push(Buffer.from("250-a\r\n251 b\r\n")), /changed its code/);
    assert.throws(() => new ReplyParser().push(Buffer.from("hello\r\n")), /not an SMTP reply/);
  });
});
