import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { bodyStructureOf } from "../../../src/imap/mime/bodystructure.js";
import { envelopeAddresses } from "../../../src/imap/mime/envelope.js";
import { encodeValue } from "../../../src/imap/protocol/value.js";
import { decodeEncodedWords } from "../../../src/mail/mime/encoded-words.js";
import { parseMediaType } from "../../../src/mail/mime/params.js";
import { parseMessageStructure } from "../../../src/mail/mime/structure.js";
import { checkBody, GrammarError } from "./grammar.js";

describe("Content-Type parameters", () => {
  test("quoted values, comments and case of names are handled", () => {
    assert.deepEqual(parseMediaType('Text/HTML (a comment) ; Charset = "utf\\"8" ; format=flowed'), {
      type: "Text",
      subtype: "HTML",
      params: [
        { name: "Charset", value: 'utf"8' },
        { name: "format", value: "flowed" },
      ],
    });
    assert.equal(parseMediaType("garbage"), null);
    assert.equal(parseMediaType("text/"), null);
  });

  test("RFC 2231 continuations join in section order and decode their charset", () => {
    const media = parseMediaType(
      "application/x-stuff; title*2=\"isn't it!\"; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*0*=us-ascii'en'This%20is%20even%20more%20",
    );
    assert.deepEqual(media?.params, [{ name: "title", value: "This is even more ***fun*** isn't it!" }]);
    const latin = parseMediaType("text/plain; name*=iso-8859-1''caf%E9");
    assert.deepEqual(latin?.params, [{ name: "name", value: "café" }]);
  });

  test("a plain parameter and its RFC 2231 form: the extended one wins", () => {
    const media = parseMediaType("text/plain; name=\"fallback.txt\"; name*=utf-8''%C3%A9.txt");
    assert.deepEqual(media?.params, [{ name: "name", value: "é.txt" }]);
  });
});

describe("encoded words (RFC 2047)", () => {
  test("B and Q words decode; whitespace between adjacent encoded words disappears", () => {
    assert.equal(decodeEncodedWords("=?UTF-8?B?w7xiZXIgZGllIEJyw7xja2U=?="), "über die Brücke");
    assert.equal(decodeEncodedWords("=?ISO-8859-1?Q?Andr=E9?= Pirard"), "André Pirard");
    assert.equal(decodeEncodedWords("=?ISO-8859-1?Q?a?= \r\n =?ISO-8859-2?Q?_b?="), "a b");
    assert.equal(decodeEncodedWords("plain =?bogus?Q?x?= text"), "plain x text");
    assert.equal(decodeEncodedWords("=?utf-8*en?q?hi?="), "hi");
  });
});

describe("address lists", () => {
  test("route addresses keep the route as adl (RFC 3501 §7.4.2); missing domains are not taken for groups", () => {
    assert.deepEqual(envelopeAddresses("Joe <@relay.example,@r2.example:joe@example.org>, root, <@r:x@y>"), [
      { name: "Joe", adl: "@relay.example,@r2.example", mailbox: "joe", host: "example.org" },
      { name: null, adl: null, mailbox: "root", host: ".MISSING-HOST-NAME." },
      { name: null, adl: "@r", mailbox: "x", host: "y" },
    ]);
  });

  test("quoted local parts keep their quotes; quoted names lose them", () => {
    assert.deepEqual(envelopeAddresses('"Smith, J." <"john smith"@example.org>'), [
      { name: "Smith, J.", adl: null, mailbox: '"john smith"', host: "example.org" },
    ]);
  });

  test("an unterminated group is closed", () => {
    assert.deepEqual(envelopeAddresses("list: a@b"), [
      { name: null, adl: null, mailbox: "list", host: null },
      { name: null, adl: null, mailbox: "a", host: "b" },
      { name: null, adl: null, mailbox: null, host: null },
    ]);
  });

  test("empty and junk lists yield no addresses", () => {
    assert.deepEqual(envelopeAddresses(""), []);
    assert.deepEqual(envelopeAddresses(" , ,(just a comment)"), []);
  });
});

describe("structure details", () => {
  test("messages with bare LF line ends parse like CRLF ones", () => {
    const m = Buffer.from(
      "Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/html\n\n<p>\n--x--\n",
    );
    const root = parseMessageStructure(m);
    assert.equal(root.children.length, 1);
    assert.equal(root.children[0]?.subtype, "html");
    assert.equal(m.toString("latin1", root.children[0]?.bodyStart, root.children[0]?.bodyEnd), "<p>");
  });

  test("a delimiter must be followed only by whitespace; a longer boundary is not a delimiter", () => {
    const m = Buffer.from(
      "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x \t\r\n\r\na\r\n--xy\r\nb\r\n--x--",
    );
    const root = parseMessageStructure(m);
    assert.equal(root.children.length, 1);
    assert.equal(
      m.toString("latin1", root.children[0]?.bodyStart, root.children[0]?.bodyEnd),
      "a\r\n--xy\r\nb",
    );
  });

  test("non-ASCII header text goes out as literals; 8-bit Latin-1 bytes are read as Latin-1", () => {
    const m = Buffer.concat([
      Buffer.from("Content-Type: text/plain\r\nContent-Description: caf"),
      Buffer.from([0xe9]),
      Buffer.from("\r\n\r\nx"),
    ]);
    const out = encodeValue(bodyStructureOf(parseMessageStructure(m), m, false)).toString("utf8");
    assert.equal(out, '("text" "plain" NIL NIL {5}\r\ncafé "7bit" 1 1)');
    checkBody(Buffer.from(out, "utf8"));
  });

  test("the grammar check rejects a space between the bodies of a multipart", () => {
    assert.throws(
      () =>
        checkBody(
          Buffer.from(
            '(("text" "plain" NIL NIL NIL "7bit" 1 1) ("text" "plain" NIL NIL NIL "7bit" 1 1) "mixed")',
          ),
        ),
      GrammarError,
    );
  });
});
