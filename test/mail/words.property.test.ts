// eachWord (mail/words.ts) splits IMAP's search words where JMAP's use /[\p{L}\p{N}\p{M}]+/gu; it must
// find exactly the runs that expression finds, in any string: astral characters, lone surrogates,
// marks, digits of other scripts.

import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { eachWord } from "../../src/mail/words.js";

const WORD = /[\p{L}\p{N}\p{M}]+/gu;

function runs(text: string): Array<[number, number]> {
  const found: Array<[number, number]> = [];
  eachWord(text, (start, end) => {
    found.push([start, end]);
  });
  return found;
}

function expected(text: string): Array<[number, number]> {
  return [...text.matchAll(WORD)].map((match) => [match.index, match.index + match[0].length]);
}

const piece = fc.oneof(
  fc.string({ unit: "binary", maxLength: 6 }),
  fc.string({ unit: "grapheme", maxLength: 6 }),
  fc.constantFrom("\ud83c", "\udf31", "🌱", "e\u0301", "٣", "Ⅻ", "𝔘", "ﬁ", " ", "-", "_"),
);

test("eachWord finds exactly the runs of letters, digits and marks the Unicode expression finds", () => {
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
      const text = pieces.join("");
      assert.deepEqual(runs(text), expected(text));
    }),
    { numRuns: 3000, examples: [[["aa", "🌱", "bb"]], [["x", "\ud83c"]], [["\udf31", "y"]]] },
  );
});
