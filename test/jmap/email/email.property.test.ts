// Properties of JMAP Email reading over hostile input: nothing throws on any bytes, every answer is
// JSON, and body value truncation keeps whole UTF-8 characters within maxBodyValueBytes.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  BODY_PART_PROPERTIES,
  EMAIL_PROPERTIES,
  type EmailBodyValue,
  parseEmail,
} from "../../../src/jmap/email/email.js";
import { parseHeaderProperty } from "../../../src/jmap/email/header-forms.js";
import { truncateValue } from "../../../src/mail/body.js";
import { mimeLineArb } from "../../support/mime-lines.js";

const FORMS = [
  "",
  ":asRaw",
  ":asText",
  ":asAddresses",
  ":asGroupedAddresses",
  ":asMessageIds",
  ":asDate",
  ":asURLs",
];
const FIELDS = ["X-Any", "From", "Subject", "Date", "Message-ID", "List-Post", "Content-Type"];
// Every form of every field above that the field accepts, last instance and :all.
const HEADER_PROPERTIES = FIELDS.flatMap((field) => FORMS.map((form) => `header:${field}${form}`))
  .flatMap((p) => [p, `${p}:all`])
  .filter((p) => parseHeaderProperty(p).ok);

const lineArb = fc.oneof(
  mimeLineArb(
    "Content-Type: multipart/alternative; boundary=c",
    "Content-Type: multipart/related; boundary=c",
    "Content-Type: text/html; charset=x-nonesuch",
    "Content-Type: text/plain; charset=utf-16le",
    "Content-Type: image/png; name==?utf-8?b?w6k=?=",
    "Content-Disposition: attachment; filename*=utf-8''%E2%82",
    "Content-Disposition: inline",
    "Content-ID: <a@b>",
    "Content-Transfer-Encoding: quoted-printable",
    "Content-Transfer-Encoding: x-gzip",
    'From: "a" <b@c>, (x) d@e, g: =?utf-8?q?h=C3?= <h@i>;',
    "Date: Mon, 31 Feb 99 25:61 XYZ",
    "Message-ID: <a@b> <c",
    "List-Post: <mailto:x@y> (c",
    " folded =?iso-8859-1?q?=E9?=",
    "=E9=C3=A9=\t",
    "<p a='<b'>&#x110000;&amp",
  ),
  fc.uint8Array({ maxLength: 30 }).map((bytes) => Buffer.from(bytes).toString("latin1")),
);

const ALL_PROPERTIES = [...EMAIL_PROPERTIES, ...HEADER_PROPERTIES];
const BODY_PROPERTIES = [...BODY_PART_PROPERTIES, "header:Content-Type:asText", "header:X-Any:asDate:all"];

function assertValueWithin(value: EmailBodyValue, max: number): void {
  const bytes = Buffer.from(value.value, "utf8");
  if (max > 0) assert.ok(bytes.length <= max, `${bytes.length} > ${max}`);
  // A lone surrogate would not survive the trip through UTF-8: the value is whole characters.
  assert.equal(bytes.toString("utf8"), value.value);
}

function readEverything(bytes: Buffer, max: number): void {
  const email = parseEmail(bytes, { partBlobId: (id) => `b${id}` });
  const object = email.properties(ALL_PROPERTIES, {
    bodyProperties: BODY_PROPERTIES,
    fetchAllBodyValues: true,
    maxBodyValueBytes: max,
  });
  JSON.stringify(object);
  assert.ok(Array.from(email.preview).length <= 256);
  for (const value of Object.values(email.bodyValues({ fetchAllBodyValues: true, maxBodyValueBytes: max }))) {
    assertValueWithin(value, max);
  }
  for (const part of email.attachments(["partId"])) {
    assert.ok(email.partBytes(String(part.partId)) !== null);
  }
}

describe("JMAP Email properties", () => {
  test("never throws on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat(40), (bytes, max) =>
        readEverything(Buffer.from(bytes), max),
      ),
      { numRuns: 200 },
    );
  });

  test("never throws on MIME-like line soup", () => {
    fc.assert(
      fc.property(
        fc.array(lineArb, { maxLength: 40 }),
        fc.constantFrom("\r\n", "\n"),
        fc.nat(40),
        (lines, eol, max) => {
          const header = "Content-Type: multipart/mixed; boundary=b";
          readEverything(Buffer.from([header, ...lines].join(eol), "latin1"), max);
        },
      ),
      { numRuns: 200 },
    );
  });

  test("truncation keeps a prefix of whole characters within the limit, HTML or not", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary", maxLength: 60 }),
        fc.integer({ min: 1, max: 80 }),
        fc.boolean(),
        (value, max, html) => {
          const cut = truncateValue(value, max, html);
          assert.ok(value.startsWith(cut.value));
          assert.ok(Buffer.byteLength(cut.value, "utf8") <= max);
          assert.equal(cut.isTruncated, cut.value.length < value.length);
          assert.equal(cut.isTruncated, Buffer.byteLength(value, "utf8") > max);
          const next = value.charCodeAt(cut.value.length);
          const last = cut.value.charCodeAt(cut.value.length - 1);
          assert.ok(
            !(last >= 0xd800 && last < 0xdc00 && next >= 0xdc00 && next < 0xe000),
            "split a surrogate pair",
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  test("body values of UTF-8 text never exceed maxBodyValueBytes nor split a character", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", maxLength: 80 }),
        fc.integer({ min: 1, max: 60 }),
        (text, max) => {
          const bytes = Buffer.concat([
            Buffer.from("Content-Type: text/plain; charset=utf-8\r\n\r\n"),
            Buffer.from(text, "utf8"),
          ]);
          const value = parseEmail(bytes, { partBlobId: (id) => id }).bodyValues({
            fetchTextBodyValues: true,
            maxBodyValueBytes: max,
          })["1"];
          assert.ok(value !== undefined);
          assertValueWithin(value, max);
          // The decoder drops a leading byte order mark.
          assert.ok(
            text
              .replace(/^\ufeff/, "")
              .replaceAll("\r\n", "\n")
              .startsWith(value.value),
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
