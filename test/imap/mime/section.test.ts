import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import fc from "fast-check";
import { binaryBytes, resolvePart, sectionBytes, topHeaderBytes } from "../../../src/imap/mime/section.js";
import { indexFields, scanHeader } from "../../../src/mail/mime/header.js";
import { parseMessageStructure } from "../../../src/mail/mime/structure.js";
import { headerBlockOf } from "../../../src/store/header-capture.js";

const corpus = (name: string) => readFileSync(join(import.meta.dirname, "corpus", `${name}.eml`));

/** The bytes between two markers, located by plain string search (independent of the MIME parser). */
function between(message: Buffer, from: string, to: string): string {
  const text = message.toString("latin1");
  const start = text.indexOf(from);
  assert.ok(start >= 0, `marker ${from}`);
  const end = text.indexOf(to, start);
  assert.ok(end >= 0, `marker ${to}`);
  return text.slice(start, end);
}

const s = (b: Buffer | null | "unknown-cte") => (Buffer.isBuffer(b) ? b.toString("latin1") : b);

describe("sectionBytes", () => {
  const nested = corpus("04-nested");
  const root = parseMessageStructure(nested);

  test("BODY[] is the whole message and HEADER/TEXT split it at the blank line", () => {
    assert.equal(s(sectionBytes(nested, root, { part: [] })), nested.toString("latin1"));
    const header = between(nested, "From:", "--m\r\n");
    assert.equal(s(sectionBytes(nested, root, { part: [], text: "HEADER" })), header);
    assert.equal(
      s(sectionBytes(nested, root, { part: [], text: "TEXT" })),
      nested.toString("latin1").slice(header.length),
    );
  });

  test("numbered parts exclude the CRLF that belongs to the next delimiter", () => {
    assert.equal(s(sectionBytes(nested, root, { part: [1, 1] })), "plain");
    assert.equal(s(sectionBytes(nested, root, { part: [1, 2] })), "<b>html</b>");
    assert.equal(s(sectionBytes(nested, root, { part: [2] })), "iVBORw0KGgo=");
    assert.equal(
      s(sectionBytes(nested, root, { part: [1] })),
      between(nested, "--a\r\nContent-Type: text/plain", "\r\n--m\r\nContent-Type: image"),
    );
  });

  test("MIME is the part's own header including its blank line", () => {
    assert.equal(
      s(sectionBytes(nested, root, { part: [2], text: "MIME" })),
      between(nested, "Content-Type: image", "iVBOR"),
    );
    assert.equal(
      s(sectionBytes(nested, root, { part: [1, 2], text: "MIME" })),
      "Content-Type: text/html\r\n\r\n",
    );
    assert.equal(sectionBytes(nested, root, { part: [], text: "MIME" }), null);
  });

  test("parts that do not exist are null", () => {
    assert.equal(sectionBytes(nested, root, { part: [3] }), null);
    assert.equal(sectionBytes(nested, root, { part: [2, 1] }), null);
    assert.equal(sectionBytes(nested, root, { part: [0] }), null);
    assert.equal(sectionBytes(nested, root, { part: [1, 1, 1] }), null);
    // HEADER of a part that is not message/rfc822 names nothing.
    assert.equal(sectionBytes(nested, root, { part: [2], text: "HEADER" }), null);
  });

  test("a single-part message has exactly part 1, its body", () => {
    const m = corpus("01-simple-text");
    const r = parseMessageStructure(m);
    assert.equal(
      s(sectionBytes(m, r, { part: [1] })),
      "Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n",
    );
    assert.equal(sectionBytes(m, r, { part: [2] }), null);
    assert.equal(sectionBytes(m, r, { part: [1, 1] }), null);
  });

  test("HEADER, TEXT and part numbers of an attached message/rfc822", () => {
    const m = corpus("05-rfc822-attached");
    const r = parseMessageStructure(m);
    const embedded = between(m, "From: orig@", "\r\n--X--");
    assert.equal(s(sectionBytes(m, r, { part: [2] })), embedded);
    assert.equal(
      s(sectionBytes(m, r, { part: [2], text: "HEADER" })),
      between(m, "From: orig@", "original text"),
    );
    assert.equal(s(sectionBytes(m, r, { part: [2], text: "TEXT" })), "original text\r\nline two");
    // The embedded message is not multipart, so 2.1 is its body.
    assert.equal(s(sectionBytes(m, r, { part: [2, 1] })), "original text\r\nline two");
    assert.equal(s(sectionBytes(m, r, { part: [2], text: "MIME" })), "Content-Type: message/rfc822\r\n\r\n");
  });

  test("HEADER.FIELDS and HEADER.FIELDS.NOT keep field lines as stored, folding included", () => {
    const m = Buffer.from("Subject: a\r\n long\r\nFrom: x@y\r\nTo: z@w\r\nsubject: again\r\n\r\nbody");
    const r = parseMessageStructure(m);
    assert.equal(
      s(sectionBytes(m, r, { part: [], text: "HEADER.FIELDS", fields: ["SUBJECT"] })),
      "Subject: a\r\n long\r\nsubject: again\r\n\r\n",
    );
    assert.equal(
      s(sectionBytes(m, r, { part: [], text: "HEADER.FIELDS.NOT", fields: ["subject", "to"] })),
      "From: x@y\r\n\r\n",
    );
    assert.equal(s(sectionBytes(m, r, { part: [], text: "HEADER.FIELDS", fields: ["X-None"] })), "\r\n");
  });

  test("a digest part without its own header has an empty-line MIME header", () => {
    const m = corpus("12-digest");
    const r = parseMessageStructure(m);
    assert.equal(s(sectionBytes(m, r, { part: [1], text: "MIME" })), "\r\n");
    assert.equal(
      s(sectionBytes(m, r, { part: [2], text: "HEADER" })),
      "From: two@example.org\r\nSubject: second\r\n\r\n",
    );
    assert.equal(s(sectionBytes(m, r, { part: [2, 1] })), "2");
  });

  test("a message whose own type is message/rfc822 numbers the embedded message's parts", () => {
    const m = corpus("15-message-rfc822-top");
    const r = parseMessageStructure(m);
    assert.equal(
      s(sectionBytes(m, r, { part: [1], text: "HEADER" })),
      "Subject: inner\r\nFrom: Inner <in@example.org>\r\n\r\n",
    );
    assert.equal(s(sectionBytes(m, r, { part: [1, 1] })), "inner body\r\n");
    assert.equal(resolvePart(r, [1]), r);
  });

  test("preamble and epilogue belong to no part", () => {
    const m = corpus("11-preamble-epilogue");
    const r = parseMessageStructure(m);
    assert.equal(r.children.length, 2);
    assert.equal(s(sectionBytes(m, r, { part: [1] })), "one");
    assert.equal(s(sectionBytes(m, r, { part: [2] })), "two");
    assert.equal(sectionBytes(m, r, { part: [3] }), null);
  });
});

describe("binaryBytes", () => {
  test("base64 and quoted-printable are decoded; identity encodings returned as stored", () => {
    const alt = corpus("02-alternative");
    const altRoot = parseMessageStructure(alt);
    assert.equal(binaryBytes(alt, altRoot, [1])?.toString(), "Café at noon?");
    const mixed = corpus("03-mixed-attachment");
    assert.equal(s(binaryBytes(mixed, parseMessageStructure(mixed), [2])), "%PDF-1.4\n");
    const bits = corpus("13-8bit-binary");
    const bitsRoot = parseMessageStructure(bits);
    assert.deepEqual(binaryBytes(bits, bitsRoot, [2]), Buffer.from([0, 1, 0xff, 0x0d, 0x0a, 0]));
    assert.equal(binaryBytes(bits, bitsRoot, [1])?.toString(), "Grüße");
    assert.equal(binaryBytes(bits, bitsRoot, [3]), null);
    assert.deepEqual(binaryBytes(bits, bitsRoot, []), bits);
  });

  test("an encoding the server does not know is reported, not guessed", () => {
    const m = Buffer.from("Content-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 f\r\n");
    assert.equal(binaryBytes(m, parseMessageStructure(m), [1]), "unknown-cte");
  });

  test("quoted-printable: soft breaks, trailing whitespace, malformed escapes, bare LF", () => {
    // "b =  " loses its trailing spaces first (RFC 2045 §6.7 rule 3), which leaves a soft line break.
    const m = Buffer.from(
      "Content-Transfer-Encoding: Quoted-Printable\r\n\r\na=3Db =  \r\nc=\r\nd=ZZ=4\r\ne \t\nf=e9",
    );
    assert.deepEqual(
      binaryBytes(m, parseMessageStructure(m), [1]),
      Buffer.from("a=b cd=ZZ=4\r\ne\nf\xe9", "latin1"),
    );
  });
});

describe("topHeaderBytes over a kept block's field index", () => {
  const name = fc.constantFrom("Subject", "FROM", "date", "To", "X-Tag", "Received", "subject");
  const line = fc.oneof(
    fc
      .tuple(name, fc.constantFrom(": a", ":", " : b", ":=?utf-8?q?x?=", ": \u00e9t\u00e9"))
      .map(([n, v]) => `${n}${v}`),
    fc.constantFrom(" folded", "\tfolded", "no colon here", "bad name: x"),
  );
  const ending = fc.constantFrom("\r\n", "\n");
  const message = fc
    .tuple(fc.array(fc.tuple(line, ending), { maxLength: 12 }), fc.boolean())
    .map(([lines, body]) => {
      const header = lines.map(([text, end]) => text + end).join("");
      return Buffer.from(body ? `${header}\r\nbody\r\n` : header, "utf8");
    });
  const section = fc.oneof(
    fc.constant({ text: "HEADER" as const }),
    fc.record({
      text: fc.constantFrom("HEADER.FIELDS" as const, "HEADER.FIELDS.NOT" as const),
      fields: fc.array(name, { minLength: 1, maxLength: 3 }),
    }),
  );

  test("gives the octets sectionBytes cuts from the whole message", () => {
    fc.assert(
      fc.property(message, section, (whole, spec) => {
        // What the store keeps of a message, as the cache holds it (the whole message when it has no
        // blank line).
        const block = headerBlockOf(whole) ?? whole;
        const fields = indexFields(scanHeader(block, 0, block.length));
        const expected = sectionBytes(whole, parseMessageStructure(whole), { part: [], ...spec });
        assert.deepEqual(topHeaderBytes(block, fields, spec), expected);
      }),
      { numRuns: 500 },
    );
  });
});
