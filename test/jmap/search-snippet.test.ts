// SearchSnippet's marking (RFC 8621 §5): which words a filter searches for, and the HTML snippets.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { highlight, previewSnippet, searchTerms } from "../../src/jmap/search-snippet.js";

describe("SearchSnippet", () => {
  test("terms come from text, subject and body conditions in AND/OR, never from NOT", () => {
    assert.deepEqual(
      searchTerms({
        operator: "AND",
        conditions: [
          { text: "lunch" },
          { operator: "OR", conditions: [{ subject: "plan" }, { body: " noon " }] },
          { operator: "NOT", conditions: [{ text: "spam" }] },
          { from: "alice" },
        ],
      }),
      { subject: ["lunch", "plan"], body: ["lunch", "noon"] },
    );
    assert.deepEqual(searchTerms(null), { subject: [], body: [] });
  });

  test("matches are marked case-insensitively, overlapping ones once, and the rest is HTML-escaped", () => {
    assert.equal(
      highlight("Lunch <b>& lunches", ["lunch"]),
      "<mark>Lunch</mark> &lt;b&gt;&amp; <mark>lunch</mark>es",
    );
    assert.equal(highlight("abcdef", ["abc", "bcd"]), "<mark>abcd</mark>ef");
    assert.equal(highlight("nothing here", ["lunch"]), null);
    // "İ" lower-cases to two code units: the marks must still fall on the original text.
    assert.equal(highlight("İİ Ärger a.b", ["ärger", "."]), "İİ <mark>Ärger</mark> a<mark>.</mark>b");
  });

  test("the preview starts shortly before the first match and holds at most 255 characters of text", () => {
    const body = `${"word ".repeat(100)}the needle is here ${"more ".repeat(100)}`;
    const snippet = previewSnippet(body, ["needle"]) ?? "";
    assert.match(snippet, /<mark>needle<\/mark>/);
    assert.ok(snippet.indexOf("<mark>") <= 45, snippet);
    assert.ok(snippet.replace(/<\/?mark>/g, "").length <= 255);
    assert.equal(previewSnippet("no match", ["needle"]), null);
  });

  test("removing the marks and unescaping gives back the text, for any text and term", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary" }),
        fc.string({ unit: "binary", minLength: 1, maxLength: 4 }),
        (text, term) => {
          const marked = highlight(text, [term]);
          if (marked === null) return;
          const plain = marked
            .replace(/<\/?mark>/g, "")
            .replace(/&lt;/g, "<")
            .replace(/&gt;/g, ">")
            .replace(/&quot;/g, '"')
            .replace(/&amp;/g, "&");
          assert.equal(plain, text);
        },
      ),
    );
  });
});
