// The ManageSieve framer (RFC 5804 §4): atoms, quoted strings and literals in any chunking, its bounds,
// and properties: what encodeString writes is read back as the same octets, however the bytes are split,
// and arbitrary input never throws and never keeps more than the line bound.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { encodeString, type Item, ManageSieveParser } from "../../src/managesieve/parser.js";

const limits = { maxLineLength: 1024, maxLiteralSize: 4096 };

/** Items as readable values: atoms as words, strings as their text in quotes. */
function show(items: Item[]): unknown[] {
  return items.map((item) =>
    item.kind === "error"
      ? `<error${item.tooBig ? " toobig" : ""}>`
      : item.tokens.map((token) =>
          token.kind === "atom" ? token.value : `"${token.value.toString("utf8")}"`,
        ),
  );
}

function feed(parser: ManageSieveParser, ...chunks: string[]): Item[] {
  return chunks.flatMap((chunk) => parser.push(Buffer.from(chunk, "utf8")));
}

describe("ManageSieveParser", () => {
  test("atoms, quoted strings with escapes, and both literal forms, across chunks", () => {
    const parser = new ManageSieveParser(limits);
    assert.deepEqual(
      show(
        feed(
          parser,
          'AUTHENTICATE "PLAIN" "AHNhbQBw"\r\nPUTSC',
          'RIPT "a \\"b\\" \\\\" {5+}\r\nke',
          "ep;\r\nCHECKSCRIPT {2}\r\nx;\r\n",
          "NOOP\n",
        ),
      ),
      [
        ["AUTHENTICATE", '"PLAIN"', '"AHNhbQBw"'],
        ["PUTSCRIPT", '"a "b" \\"', '"keep;"'],
        ["CHECKSCRIPT", '"x;"'],
        ["NOOP"],
      ],
    );
  });

  test("a literal may hold CRLFs and be followed by more arguments on its line", () => {
    const parser = new ManageSieveParser(limits);
    assert.deepEqual(show(feed(parser, 'X {4+}\r\na\r\nb "tail"\r\n')), [["X", '"a\r\nb"', '"tail"']]);
  });

  test("bad input is one error per line and the next line is read normally", () => {
    const parser = new ManageSieveParser(limits);
    assert.deepEqual(show(feed(parser, '"unterminated\r\n', "A \\b\r\n", "\r\n", 'X "a\\q"\r\n', "OK\r\n")), [
      "<error>",
      "<error>",
      "<error>",
      "<error>",
      ["OK"],
    ]);
  });

  test("a literal over the bound is read past, reported as too big, and its octets are not commands", () => {
    const parser = new ManageSieveParser({ maxLineLength: 1024, maxLiteralSize: 8 });
    const items = feed(parser, 'PUTSCRIPT "s" {18+}\r\n', "LOGOUT\r\nLOGOUT\r\nLO", "\r\nNOOP\r\n");
    assert.deepEqual(show(items), ["<error toobig>", ["NOOP"]]);
  });

  test("a line in error that announces a literal still skips the literal", () => {
    const parser = new ManageSieveParser(limits);
    assert.deepEqual(show(feed(parser, 'X "bad\\z" {8+}\r\nLOGOUT\r\n\r\nNOOP\r\n')), ["<error>", ["NOOP"]]);
  });

  test("an overlong line is reported once, its bytes dropped", () => {
    const parser = new ManageSieveParser({ maxLineLength: 64, maxLiteralSize: 8 });
    const out: Item[] = [];
    for (let i = 0; i < 50; i++) out.push(...feed(parser, "x".repeat(100)));
    out.push(...feed(parser, "tail\r\nNOOP\r\n"));
    assert.deepEqual(show(out), ["<error>", ["NOOP"]]);
  });

  test("reset forgets a half-read line (after STARTTLS)", () => {
    const parser = new ManageSieveParser(limits);
    feed(parser, 'PUTSCRIPT "a" {100+}\r\nabc');
    parser.reset();
    assert.deepEqual(show(feed(parser, "NOOP\r\n")), [["NOOP"]]);
  });

  test("property: encoded strings read back as the same octets, whatever the chunking", () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: "binary", maxLength: 1500 }), { minLength: 1, maxLength: 3 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 10 }),
        (values, cuts) => {
          const parts = values.map((value) => encodeString(value));
          const line = Buffer.concat([
            Buffer.from("CMD"),
            ...parts.flatMap((part) => [Buffer.from(" "), Buffer.from(part)]),
            Buffer.from("\r\n"),
          ]);
          const parser = new ManageSieveParser({ maxLineLength: 8192, maxLiteralSize: 8192 });
          const items: Item[] = [];
          let at = 0;
          for (let i = 0; at < line.length; i++) {
            const size = cuts[i % cuts.length]!;
            items.push(...parser.push(line.subarray(at, at + size)));
            at += size;
          }
          assert.equal(items.length, 1);
          const [item] = items;
          assert.equal(item?.kind, "line");
          if (item?.kind !== "line") return;
          assert.deepEqual(
            item.tokens.slice(1).map((token) => token.value.toString("utf8")),
            values.map((value) => Buffer.from(value, "utf8").toString("utf8")),
          );
        },
      ),
    );
  });

  test("property: arbitrary bytes never throw, and every item is a line or an error", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), (chunks) => {
        const parser = new ManageSieveParser({ maxLineLength: 128, maxLiteralSize: 64 });
        for (const chunk of chunks) {
          for (const item of parser.push(Buffer.from(chunk))) {
            assert.ok(item.kind === "line" || item.kind === "error");
            if (item.kind === "line") assert.ok(item.tokens.length > 0);
          }
        }
      }),
    );
  });
});
