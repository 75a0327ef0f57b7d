// The full-text index may rule a body out of an IMAP BODY or TEXT search only when the search cannot
// match it: whenever the evaluator finds the folded value in a message, every pattern requiredPatterns
// makes of the value is in the message's kept words. Property-checked over texts mixing ASCII,
// punctuation, characters whose case mapping or decomposition changes their length (ß, ﬁ, İ, Σ, ℌ, K),
// combining marks and characters outside the BMP, in plain and multipart messages, HTML included.

import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { parseMessageStructure } from "../../src/mail/mime/structure.js";
import {
  bodyMatchText,
  foldCase,
  headerMatchText,
  MAX_MATCH_WORDS_CHARS,
  MatchTexts,
  matchWords,
  requiredPatterns,
} from "../../src/mail/search-match.js";

const piece = fc.oneof(
  fc.constantFrom(" ", "\n", ", ", "-", "'", "<b>", "</p>", "&nbsp;", "=", "@", "."),
  fc.stringMatching(/^[a-zA-Z0-9]{1,8}$/),
  fc.constantFrom("é", "e\u0301", "ß", "SS", "ﬁ", "İ", "ΣΑΣ", "ς", "ℌ", "\u212A", "🌱", "x\u0308", "Ⅻ", "①"),
);
const text = fc.array(piece, { minLength: 1, maxLength: 30 }).map((pieces) => pieces.join(""));

function plainMessage(subject: string, body: string): Buffer {
  return Buffer.from(
    `Subject: ${subject}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${body}\r\n`,
  );
}

function alternativeMessage(subject: string, plain: string, html: string): Buffer {
  return Buffer.from(
    [
      `Subject: ${subject}`,
      'Content-Type: multipart/alternative; boundary="sep"',
      "",
      "--sep",
      "Content-Type: text/plain; charset=utf-8",
      "",
      plain,
      "--sep",
      "Content-Type: text/html; charset=utf-8",
      "X-Part: Ünïcode part header",
      "",
      `<p>${html}</p>`,
      "--sep--",
      "",
    ].join("\r\n"),
  );
}

const message = fc.oneof(
  fc.tuple(text, text).map(([subject, body]) => plainMessage(subject, body)),
  fc.tuple(text, text, text).map(([subject, plain, html]) => alternativeMessage(subject, plain, html)),
);

/** Every text BODY or TEXT searches, folded, as the evaluator matches them. */
function matchedTexts(bytes: Buffer): string[] {
  const root = parseMessageStructure(bytes);
  return [headerMatchText(bytes, root), bodyMatchText(bytes, root, false), bodyMatchText(bytes, root, true)];
}

function assertKept(bytes: Buffer, value: string): void {
  const folded = foldCase(value);
  if (!matchedTexts(bytes).some((t) => t.includes(folded))) return;
  const kept = matchWords(new MatchTexts(bytes));
  assert.notEqual(kept, null);
  for (const pattern of requiredPatterns(value)) {
    assert.ok(kept?.includes(pattern), `${JSON.stringify(pattern)} of ${JSON.stringify(value)} is kept`);
  }
}

test("a value found in what BODY or TEXT searches leaves every required pattern in the kept words", () => {
  fc.assert(
    fc.property(message, fc.nat(), fc.nat(), fc.nat({ max: 2 }), (bytes, start, length, which) => {
      // A substring of a searched text, as it is folded; a search value is the client's own text.
      const searched = matchedTexts(bytes)[which] ?? "";
      const from = start % (searched.length + 1);
      const value = searched.slice(from, from + (length % 40));
      assertKept(bytes, value);
    }),
    { numRuns: 2000 },
  );
});

test("raw values, folded by the evaluator, are never ruled out where they match", () => {
  fc.assert(
    fc.property(message, text, (bytes, value) => {
      assertKept(bytes, value);
    }),
    { numRuns: 1000 },
  );
  // Case mappings that change the length: the folded message holds the folded value.
  assertKept(plainMessage("x", "Die STRASSE ist lang"), "straße ist");
  assertKept(plainMessage("x", "ﬁle ΣΑΣ end"), "FILE σας");
  assertKept(plainMessage("x", "the ℌilbert space"), "Hilbert");
});

test("patterns: whole words between spaces, an open end where the value stops inside a word", () => {
  assert.deepEqual(requiredPatterns("quarterly"), ["quarterly"]);
  assert.deepEqual(requiredPatterns("quarterly budget w"), ["quarterly ", " budget ", " w"]);
  assert.deepEqual(requiredPatterns(" Budget,"), [" budget "]);
  assert.deepEqual(requiredPatterns("<b>"), [" b "]);
  assert.deepEqual(requiredPatterns("  ...  "), []);
  assert.deepEqual(requiredPatterns(""), []);
});

test("kept words: each once, between spaces, raw HTML as BODY sees it; none past the bound", () => {
  const bytes = alternativeMessage("Re: Budget", "budget budget", "<b>grew</b>");
  const kept = matchWords(new MatchTexts(bytes));
  assert.ok(kept?.startsWith(" subject re budget "));
  assert.equal(kept?.split(" budget ").length, 2, "a word is kept once");
  assert.ok(kept?.includes(" b "), "tags are text to BODY");
  assert.ok(kept?.includes(" x part "), "TEXT searches the parts' MIME headers");
  const many = Array.from({ length: MAX_MATCH_WORDS_CHARS / 4 }, (_, i) => `w${i.toString(36)}`).join(" ");
  const large = plainMessage("large", many);
  assert.ok(matchWords(new MatchTexts(large)) === null, "too many words: none kept");
});
