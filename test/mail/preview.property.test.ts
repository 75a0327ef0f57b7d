// The preview (RFC 8621 §4.1.4) folds whitespace only as far as it needs to; whatever the text, it must
// say exactly what folding the whole of every text part would: property-checked against that.

import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { type BodyPart, preview } from "../../src/mail/body.js";

/** The preview as the whole text, folded at once, gives it. */
function wholePreview(texts: readonly string[], length: number): string {
  const all = texts.join(" ").replace(/\s+/g, " ").trim();
  return Array.from(all).slice(0, length).join("");
}

const part = (index: number): BodyPart =>
  ({ partId: String(index + 1), type: "text/plain", subParts: [] }) as unknown as BodyPart;

// Long runs of whitespace (Unicode's too, which \s matches, and U+200B, which it does not), words,
// characters outside the BMP (two UTF-16 units each) and lone surrogates (one code point each).
const piece = fc.oneof(
  fc.constantFrom(" ", "  ", "\n", "\t \r\n", " ".repeat(1500), "\v\f", "\u00a0", "\u1680\u2000\u200a"),
  fc.constantFrom("\u2028\u2029", "\u202f\u205f\u3000", "\ufeff", "\u200b", "\u0085", "\ud800", "\udc00"),
  fc.stringMatching(/^[a-z]{1,12}$/),
  fc.constantFrom("🌱", "é", "x".repeat(1100)),
);
const text = fc.array(piece, { maxLength: 60 }).map((pieces) => pieces.join(""));

test("the preview equals folding the whole text of every part, for any text and length", () => {
  fc.assert(
    fc.property(
      fc.array(text, { minLength: 1, maxLength: 3 }),
      fc.integer({ min: 1, max: 300 }),
      (texts, length) => {
        const parts = texts.map((_, i) => part(i));
        const got = preview(parts, (p) => texts[Number(p.partId) - 1] ?? "", length);
        assert.equal(got, wholePreview(texts, length));
      },
    ),
    { numRuns: 300, examples: [[["🌱 ", "a"], 2]] },
  );
});
