// joinWords (mail/search-text.ts) takes ASCII texts in one pass; what it gives must be what the word by
// word fold gives, for any text, at the word-length cut and at the field's bound.

import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { joinWords, MAX_FIELD_CHARS, MAX_WORD_CHARS } from "../../src/mail/search-text.js";

const WORD = /[\p{L}\p{N}\p{M}]+/gu;

/** The fold as it is specified: NFKC, lower case, Unicode word runs, long words cut, bounded. */
function wordByWord(texts: readonly string[]): string {
  const kept: string[] = [];
  let length = 0;
  for (const text of texts) {
    for (const [found] of text.normalize("NFKC").toLowerCase().matchAll(WORD)) {
      const word =
        found.length > MAX_WORD_CHARS ? Array.from(found).slice(0, MAX_WORD_CHARS).join("") : found;
      if (length + word.length + 1 > MAX_FIELD_CHARS) return kept.join(" ");
      length += (kept.length === 0 ? 0 : 1) + word.length;
      kept.push(word);
    }
  }
  return kept.join(" ");
}

const piece = fc.oneof(
  fc.string({ unit: "binary-ascii", maxLength: 12 }),
  fc.string({ unit: "grapheme", maxLength: 4 }),
  fc.constantFrom(" ", "\r\n", "-", "_", "Ⅻ", "ﬁ", "e\u0301", "İ", "\u00a0", "x".repeat(MAX_WORD_CHARS + 1)),
);
const text = fc.array(piece, { maxLength: 10 }).map((pieces) => pieces.join(""));

test("joinWords gives what the word-by-word fold gives, ASCII or not", () => {
  fc.assert(
    fc.property(fc.array(text, { maxLength: 5 }), (texts) => {
      assert.equal(joinWords(texts), wordByWord(texts));
    }),
    { numRuns: 3000, examples: [[["Hello, World!", "ABC-def 42"]], [["", "  ", "a"]], [["x".repeat(101)]]] },
  );
});

test("joinWords stops where the word-by-word fold stops, at the field's bound", () => {
  // A short word, then runs of "ab " around the bound, then another text: every length from just under
  // to just over the bound is reached, so a run that fits exactly and one a character too long are both
  // tried, before and after non-ASCII text.
  const near = Math.floor(MAX_FIELD_CHARS / 3);
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 5 }),
      fc.integer({ min: near - 3, max: near + 1 }),
      text,
      fc.boolean(),
      (prefix, count, other, otherFirst) => {
        const big = "AB ".repeat(count);
        const lead = "x".repeat(prefix);
        const texts = otherFirst ? [other, lead, big] : [lead, big, other];
        assert.equal(joinWords(texts), wordByWord(texts));
      },
    ),
    { numRuns: 200 },
  );
});
